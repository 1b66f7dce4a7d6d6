"""The worked example of docs/api.md runs, and its numbers are those of ``tavbo barriers``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).parents[3] / "docs" / "api.md"


def test_the_docs_example_runs_and_matches_tavbo_barriers(table_campaign_store, tavbo):
    code = "\n".join(re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S))
    assert "Store.open()" in code
    env = os.environ | {"TAVBO_EMBEDDED_STORE": str(table_campaign_store)}
    env.pop("TAVBO_LAUNCHPAD_FILE", None)
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    cli = json.loads(
        tavbo("barriers", "-c", "demo", "-A", "Na", "-f", "json", store=table_campaign_store).stdout
    )
    assert f"barriers: {len(cli)}" in run.stdout
    best = re.search(r"best: (\S+) ([0-9.]+) eV", run.stdout)
    assert best is not None, run.stdout
    assert best.group(1) == cli[0]["id"]
    assert float(best.group(2)) == round(cli[0]["e_b"], 6)
    assert "campaigns: ['demo']" in run.stdout
    assert "pending or failed" in run.stdout
    ref = json.loads(
        tavbo("barriers", "--data", "chgnet", "-A", "Na", "--max", "0.3", "-f", "json",
              store=table_campaign_store).stdout
    )  # fmt: skip
    assert f"chgnet reference: {len(ref)} Na compositions below 0.3 eV, lowest {ref[0]['id']}" in (
        run.stdout
    )
