"""Fixtures for agent tests: a clean campaign state (the synthetic table ``full_table`` is in
tests/conftest.py, shared with the Slurm integration tests)."""

from __future__ import annotations

import pytest


@pytest.fixture
def clean_lp(launchpad):
    """The reset LaunchPad with tavbo's campaign and queue-fault collections emptied too."""
    for name in ("tavbo_campaigns", "tavbo_candidates", "tavbo_decisions", "tavbo_queue_faults"):
        launchpad.db[name].delete_many({})
    return launchpad
