"""Kill ``tavbo run`` with SIGKILL at random moments and restart it: invariants must hold."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

BUDGET = 9


def _run_cmd(table, store, runs, out):
    return [
        sys.executable, "-m", "bo_agent.cli", "run", "--campaign", "restart", "--carrier", "Na",
        "--engine", "table", "-s", f"table={table}", "-s", "delay_s=0.4", "--budget",
        str(BUDGET), "--max-pending", "2", "--model", "abo", "--seed", "5", "--out", str(out),
    ]  # fmt: skip


@pytest.mark.timeout(600)
def test_sigkill_at_random_points_never_duplicates_or_loses_results(full_table, tmp_path):
    store = tmp_path / "lp.json"
    env = os.environ | {
        "TAVBO_EMBEDDED_STORE": str(store),
        "TAVBO_RUN_DIR": str(tmp_path / "runs"),
        "MONGOMOCK_SERVERSTORE_FILE": str(store),
    }
    env.pop("TAVBO_LAUNCHPAD_FILE", None)
    cmd = _run_cmd(full_table, store, tmp_path / "runs", tmp_path / "out")
    rng = random.Random(11)
    for _ in range(4):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(4.0, 9.0))  # start-up takes ~3 s; then somewhere mid-campaign
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert final.returncode == 0, final.stderr[-2000:]

    status = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "status", "-c", "restart", "-f", "json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = json.loads(status.stdout)[0]
    assert summary["status"] == "completed"
    assert summary["counts"]["done"] == BUDGET
    assert summary["counts"]["pending"] == 0
    ids = [row["candidate_id"] for row in summary["history"]]
    assert len(ids) == len(set(ids)) == BUDGET

    # The store itself: one workflow per composition, one result document per composition.
    from workflows.launchpad.sqlite_store import read_snapshot

    data = read_snapshot(store.with_suffix(".sqlite"))
    wf_ids = Counter(doc["metadata"]["candidate_id"] for _, doc in data[("tavbo", "workflows")])
    assert max(wf_ids.values()) == 1
    barrier_ids = Counter(doc["candidate_id"] for _, doc in data[("tavbo", "barriers")])
    assert set(barrier_ids) == set(ids)
    assert max(barrier_ids.values()) == 1
