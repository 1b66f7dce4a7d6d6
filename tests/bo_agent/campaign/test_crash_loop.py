"""A job that kills its own process (out of memory, segfault) is not rerun without end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REFERENCE = Path(__file__).parents[3] / "workflows" / "data" / "reference_chgnet.json.gz"
DOOMED = "Na-Ga-P-F"


@pytest.mark.skipif(bool(os.environ.get("TAVBO_TEST_MONGO_URI")), reason="embedded tavbo run")
def test_a_job_that_kills_its_process_fails_after_max_reruns_and_the_campaign_goes_on(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "name": "three",
                "sites": {"A": {"Na": 1}, "M": {"Ga": 3, "Al": 3}, "X": {"P": 5, "S": 6},
                          "Z": {"F": -1}},
                "compositions": [{"A": "Na", "M": m, "X": "P", "Z": "F"} for m in ("Ga", "Al")],
            }
        )
    )  # fmt: skip
    config = tmp_path / "campaign.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "loop", "carrier": "Na", "engine": "table", "space": str(space),
                "budget": 2, "model": "random", "max_pending": 1, "max_reruns": 1,
                "engine_settings": {"table": str(REFERENCE), "kill_ids": [DOOMED]},
            }
        )
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVBO_")}
    env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    env.update(TAVBO_EMBEDDED_STORE=str(tmp_path / "lp.sqlite"), TAVBO_RUN_DIR=str(tmp_path / "r"))

    def tavbo(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "bo_agent.cli", *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)

    killed = 0
    for _ in range(6):
        run = tavbo("run", "--config", str(config), "--out", str(tmp_path / "out"))
        if run.returncode == 0:
            break
        assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
        killed += 1
    assert run.returncode == 0, run.stderr[-2000:]
    assert killed == 2  # the first run and one rerun (max_reruns 1); no third

    status = tavbo("status", "-c", "loop", "--format", "json")
    assert status.returncode == 0, status.stderr
    (summary,) = json.loads(status.stdout)
    assert summary["status"] == "completed"
    assert summary["counts"]["done"] == 1
    assert summary["counts"]["failed"] == 1
    assert summary["counts"]["pending"] == 0
    (failure,) = summary["failed"]
    assert failure["candidate_id"] == DOOMED
    assert "worker process died 2 times" in failure["error"]
