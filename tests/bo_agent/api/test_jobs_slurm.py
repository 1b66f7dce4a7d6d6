"""The jobs view asks the real Slurm why a queue job waits (``squeue %r``)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bo_agent.api.jobs import squeue_reasons

pytestmark = pytest.mark.slurm


def test_a_held_slurm_job_is_reported_pending_with_its_reason():
    if shutil.which("sbatch") is None:
        pytest.skip("Slurm is not running (start it with .ci/start_slurm.sh as root)")
    job = subprocess.run(
        ["sbatch", "--hold", "--parsable", "--job-name", "tavbo-held", "--wrap", "sleep 1"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip().split(";")[0]  # fmt: skip
    try:
        reasons = squeue_reasons([job, "999999999"])
        assert reasons[job] == ("PENDING", "JobHeldUser")
        assert "999999999" not in reasons  # a job the queue no longer holds has no reason
    finally:
        subprocess.run(["scancel", job], check=False, timeout=60)
    assert squeue_reasons([]) == {}
