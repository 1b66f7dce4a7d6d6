"""The jobs view asks the real Slurm why a queue job waits (``squeue %r``)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bo_agent.api.jobs import squeue_reasons

pytestmark = pytest.mark.slurm


def test_a_held_slurm_job_is_reported_pending_with_its_reason(slurm):
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


def test_a_pending_evaluation_held_in_the_queue_shows_its_job_and_slurm_reason(
    slurm, clean_lp, full_table, tmp_path
):
    """The reservation path of ``qlaunch -r``: the Firework is RESERVED with a queue job id,
    and the jobs view names that job and why Slurm keeps it waiting."""
    if shutil.which("sbatch") is None:
        pytest.skip("Slurm is not running (start it with .ci/start_slurm.sh as root)")
    from fireworks import FWorker

    from bo_agent.api.store import Store
    from bo_agent.campaign.state import CandidateRecord
    from workflows.flows.submit import submit_evaluation

    sub = submit_evaluation(clean_lp, "Na-Ga-P-F", "table", campaign="q", table=str(full_table))
    CandidateRecord(
        campaign="q", candidate_id="Na-Ga-P-F", status="pending", fw_id=sub.fw_id
    ).save()
    fw, launch_id = clean_lp.reserve_fw(FWorker(), str(tmp_path))
    job = subprocess.run(
        ["sbatch", "--hold", "--parsable", "--job-name", "tavbo-held", "--wrap", "sleep 1"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip().split(";")[0]  # fmt: skip
    try:
        clean_lp.set_reservation_id(launch_id, job)
        with Store.open() as store:
            (row,) = store.jobs("q")
    finally:
        subprocess.run(["scancel", job], check=False, timeout=60)
    assert (row.candidate_id, row.status, row.fw_id) == ("Na-Ga-P-F", "pending", sub.fw_id)
    assert row.firework == fw.fw_id
    assert row.state == "RESERVED"
    assert row.queue_job_id == job
    assert (row.queue_state, row.queue_reason) == ("PENDING", "JobHeldUser")
    assert 0 <= row.seconds_in_state < 120
