"""Requests the real Slurm cannot run: held jobs, refused submissions, and fixing them in place.

The agent runs in queue mode in this process (the embedded LaunchPad of the test run), with the
table engine (its jobs take seconds). A screening request for more threads than the node has
cores is accepted by ``sbatch`` but held with ``Reason=PartitionConfig``: ``tavbo status`` shows
the reason from the next round and the evaluation fails after ``held_timeout``, or ``tavbo
reapply`` with a corrected ``resources.yaml`` cancels the held job and resubmits it so that the
campaign finishes. A partition that does not exist makes ``sbatch`` refuse every submission:
the evaluation fails after ``max_rejections`` tries with sbatch's own message.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import yaml

pytestmark = pytest.mark.slurm


def _clean_campaigns(lp) -> None:
    for name in ("tavbo_campaigns", "tavbo_candidates", "tavbo_decisions", "tavbo_queue_faults"):
        lp.db[name].delete_many({})


def _cores() -> int:
    out = subprocess.run(["sinfo", "-h", "-o", "%c"], capture_output=True, text=True, check=True)
    return max(int(x.rstrip("+")) for x in out.stdout.split())


def _squeue(job_id: str) -> tuple[str, str]:
    out = subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%T|%r"], capture_output=True, text=True, check=False
    )
    state, _, reason = out.stdout.strip().partition("|")
    return state, reason


def _setup(lp, table, tmp_path, *, cpus_per_task, queue=None, **driver_kw):
    from bo_agent.campaign.agent import CampaignAgent
    from bo_agent.campaign.queue import QueueDriver
    from bo_agent.config import CampaignConfig
    from workflows.hpc.config import write_config
    from workflows.hpc.queue_adapter import TavboQueueAdapter
    from workflows.hpc.resources import JobResources, QueueResources

    _clean_campaigns(lp)
    cfg = tmp_path / "cfg"
    write_config("slurm", cfg, queue=queue)
    resources = QueueResources(
        cores_per_node=64,
        screening=JobResources(ntasks=1, cpus_per_task=cpus_per_task, walltime="00:05:00"),
    )
    (cfg / "resources.yaml").write_text(yaml.safe_dump(resources.to_dict()))
    queue_driver = QueueDriver(
        qadapter=TavboQueueAdapter.from_file(str(cfg / "my_qadapter.yaml")),
        max_queued=2,
        launch_dir=tmp_path / "runs",
        resources=resources,
        **driver_kw,
    )
    config = CampaignConfig(
        name="faults", carrier="Na", engine="table", model="random", seed=1,
        engine_settings={"table": str(table)}, budget=1, max_pending=1, poll_interval=1.0,
    )  # fmt: skip
    return CampaignAgent(config, lp, queue=queue_driver), cfg


def _status_json(campaign: str) -> dict:
    """``tavbo status`` in its own process, as a user runs it beside the agent."""
    out = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "status", "-c", campaign, "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    (summary,) = json.loads(out.stdout)
    return summary


def _held_job(agent, lp, timeout=60.0) -> str:
    """Round 1 submits the job; rounds after it see it held (Slurm needs a scheduling pass)."""
    report = agent.step()
    ((_, job_id),) = report.queued
    deadline = time.monotonic() + timeout
    while _squeue(job_id) != ("PENDING", "PartitionConfig"):
        assert time.monotonic() < deadline, _squeue(job_id)
        time.sleep(0.5)
    agent.step()  # the next poll notes the reason
    return job_id


def test_a_job_held_for_partition_config_shows_in_status_and_fails_after_the_timeout(
    launchpad, full_table, slurm, tmp_path, request
):
    from bo_agent.campaign.state import Status

    cores = _cores()
    agent, _ = _setup(launchpad, full_table, tmp_path, cpus_per_task=cores + 2, held_timeout=5.0)
    job_id = _held_job(agent, launchpad)
    request.addfinalizer(lambda: subprocess.run(["scancel", job_id], check=False))

    (pending,) = _status_json("faults")["pending"]
    assert f"job {job_id} held: PartitionConfig" in pending["queue"]

    time.sleep(5.5)
    agent.step()  # held longer than held_timeout: cancelled, evaluation failed with the reason
    assert _squeue(job_id) == ("", "")
    (rec,) = agent.records(Status.failed)
    assert f"queue job {job_id} held by the scheduler (PartitionConfig)" in rec.error
    summary = _status_json("faults")
    assert summary["pending"] == []
    assert "PartitionConfig" in summary["failed"][0]["error"]
    agent.step()
    assert agent.completed  # the campaign goes on (here: its budget of one is used)


def test_reapply_fixes_a_held_job_and_the_campaign_finishes(
    launchpad, full_table, slurm, tmp_path, request
):
    from typer.testing import CliRunner

    from bo_agent.campaign.state import Status
    from bo_agent.cli.main import app

    cores = _cores()
    agent, cfg = _setup(launchpad, full_table, tmp_path, cpus_per_task=cores + 2)
    job_id = _held_job(agent, launchpad)
    request.addfinalizer(lambda: subprocess.run(["scancel", job_id], check=False))

    fixed = yaml.safe_load((cfg / "resources.yaml").read_text())
    fixed["screening"]["cpus_per_task"] = 1
    (cfg / "resources.yaml").write_text(yaml.safe_dump(fixed))
    args = ["reapply", "--campaign", "faults", "--resources", str(cfg / "resources.yaml")]
    args += ["--launch-dir", str(tmp_path / "runs")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"cancelled queue jobs ['{job_id}']" in result.output
    assert "resubmitted [" in result.output

    deadline = time.monotonic() + 240
    while not agent.completed:
        assert time.monotonic() < deadline, _status_json("faults")
        agent.step()
        time.sleep(1)
    (rec,) = agent.records(Status.done)
    assert rec.e_b is not None
    scripts = [p.read_text() for p in (tmp_path / "runs").glob("launcher_*/FW_submit.script")]
    assert sum(f"--cpus-per-task={cores + 2}" in s for s in scripts) == 1  # only the held one
    for doc in launchpad.fireworks.find({}, {"spec._queueadapter": 1}):
        assert doc["spec"]["_queueadapter"]["cpus_per_task"] == 1


def test_a_queue_that_does_not_exist_fails_the_evaluation_after_n_rejections(
    launchpad, full_table, slurm, tmp_path
):
    from bo_agent.campaign.state import Status

    agent, _ = _setup(
        launchpad, full_table, tmp_path, cpus_per_task=1, queue="nosuch", max_rejections=2
    )
    errors = [agent.step().queue_error for _ in range(3)]
    assert all("invalid partition" in (e or "").lower() for e in errors[:2]), errors
    (rec,) = agent.records(Status.failed)
    assert "the scheduler refused the job 2 times" in rec.error
    assert "Invalid partition name specified" in rec.error  # sbatch's own words
    assert len(list((tmp_path / "runs").glob("launcher_*"))) == 2  # one per try, no more
    assert agent.step().queue_error is None  # nothing is retried any more
    assert agent.completed
