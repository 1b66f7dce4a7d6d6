"""A real single-node Slurm for the ``slurm``-marked tests (started by .ci/start_slurm.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def node_state() -> str:
    """State of the first Slurm node (``idle``, ``mixed``, ...), or "" without Slurm."""
    out = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""


@pytest.fixture(scope="session")
def slurm():
    """A Slurm with a usable node: the running one, or one started by .ci/start_slurm.sh."""
    if shutil.which("sinfo") and node_state().startswith(("idle", "mix", "alloc")):
        return
    script = REPO / ".ci" / "start_slurm.sh"
    if os.geteuid() != 0 or not script.exists():
        pytest.skip("Slurm is not running (start it with .ci/start_slurm.sh as root)")
    subprocess.run(["bash", str(script)], check=True, timeout=300)
    assert node_state().startswith(("idle", "mix", "alloc"))
