"""Fixtures for agent tests: a clean campaign state (the synthetic table ``full_table`` is in
tests/conftest.py, shared with the Slurm integration tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def clean_lp(launchpad):
    """The reset LaunchPad with tavbo's campaign and queue-fault collections emptied too."""
    for name in ("tavbo_campaigns", "tavbo_candidates", "tavbo_decisions", "tavbo_queue_faults"):
        launchpad.db[name].delete_many({})
    return launchpad


def tavbo_cli(*args: str, store: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``tavbo ARGS`` in a fresh process on the embedded store ``store``."""
    env = os.environ | {"TAVBO_EMBEDDED_STORE": str(store), "TAVBO_RUN_DIR": str(store.parent)}
    env.pop("TAVBO_LAUNCHPAD_FILE", None)
    return subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=check,
    )


@pytest.fixture(scope="session")
def table_campaign_store(full_table, tmp_path_factory) -> Path:
    """An embedded store holding campaign ``demo``: 10 Na evaluations by the table engine
    (aBO, 5 random starts then GP picks), made by ``tavbo run`` in its own process."""
    folder = tmp_path_factory.mktemp("table-campaign")
    store = folder / "launchpad.sqlite"
    tavbo_cli(
        "run", "--carrier", "Na", "--engine", "table", "-s", f"table={full_table}",
        "--budget", "10", "--campaign", "demo", "--out", str(folder / "out"), store=store,
    )  # fmt: skip
    return store


@pytest.fixture(scope="session")
def failing_campaign_store(full_table, tmp_path_factory) -> Path:
    """An embedded store whose campaign ``flaky`` has failures: its table engine knows every
    other composition only (random search for E_b < 0.6 eV, 8 evaluations, seed 0: some fail)."""
    folder = tmp_path_factory.mktemp("failing-campaign")
    lines = full_table.read_text().splitlines()
    half = folder / "half.csv"
    half.write_text("\n".join([lines[0], *lines[2::2]]) + "\n")
    store = folder / "launchpad.sqlite"
    tavbo_cli(
        "run", "--carrier", "Na", "--engine", "table", "-s", f"table={half}", "--budget", "8",
        "--model", "random", "--campaign", "flaky", "--seed", "0", "--goal", "threshold",
        "--tau", "0.6", "--out", str(folder / "out"), store=store,
    )  # fmt: skip
    return store


@pytest.fixture(scope="session")
def tavbo():
    """:func:`tavbo_cli`: run ``tavbo ARGS`` in a fresh process on an embedded store."""
    return tavbo_cli
