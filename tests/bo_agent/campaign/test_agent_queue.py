"""The agent in queue mode (bo_agent.campaign.queue) against a stand-in Slurm.

A stand-in ``sbatch`` (first on PATH) only records each job in a queue file and prints its id;
a stand-in ``squeue`` lists that file (every job pending, waiting its turn, or for
``$FAKE_REASON``), ``scancel`` removes a job, ``sinfo`` reports four 64-core nodes, and with
``$FAKE_SBATCH_ERROR`` set ``sbatch`` refuses every job with that message. The test plays the
scheduler: it runs a queued job's offline rocket in-process
(:func:`workflows.hpc.offline.run_offline_rocket`) and removes it from the queue, or "kills" it.
tests/integration/test_slurm.py does the same through a real Slurm.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest

from bo_agent.config import CampaignConfig

SBATCH = """#!/bin/sh
if [ -n "$FAKE_SBATCH_ERROR" ]; then echo "$FAKE_SBATCH_ERROR" >&2; exit 1; fi
n=$(( $(cat "$FAKE_QUEUE.n" 2>/dev/null || echo 100) + 1 ))
echo $n > "$FAKE_QUEUE.n"
echo "$n $PWD" >> "$FAKE_QUEUE"
echo "Submitted batch job $n"
"""
SQUEUE = """#!/bin/sh
cut -d' ' -f1 "$FAKE_QUEUE" 2>/dev/null | sed "s/$/|PENDING|${FAKE_REASON:-Priority}/"
"""
SCANCEL = """#!/bin/sh
grep -v "^$1 " "$FAKE_QUEUE" > "$FAKE_QUEUE.tmp"; mv "$FAKE_QUEUE.tmp" "$FAKE_QUEUE"
"""
SINFO = """#!/bin/sh
echo 'debug*|up|4|64|256000|infinite'
"""


class FakeSlurm:
    """The queue file of the stand-in scheduler: ``job_id launch_dir`` per line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def jobs(self) -> dict[str, Path]:
        if not self.path.exists():
            return {}
        lines = self.path.read_text().split("\n")
        return {j: Path(d) for j, d in (ln.split(" ", 1) for ln in lines if ln.strip())}

    def remove(self, job_id: str) -> None:
        jobs = self.jobs()
        del jobs[job_id]
        self.path.write_text("".join(f"{j} {d}\n" for j, d in jobs.items()))

    def run_all(self, leave_listed: bool = False) -> int:
        """Run every queued job to completion (in this process); return how many ran.

        ``leave_listed``: the jobs stay in the queue file, as a job lingers in ``squeue`` for
        a few seconds after its rocket ends.
        """
        from workflows.hpc.rocket import run_offline_rocket

        jobs = self.jobs()
        for job_id, directory in jobs.items():
            assert run_offline_rocket(directory)
            if not leave_listed:
                self.remove(job_id)
        return len(jobs)

    def kill_running(self, job_id: str, minutes_ago: float = 30) -> None:
        """The job started ``minutes_ago``, pinged once, and was killed (scancel, walltime)."""
        directory = self.jobs()[job_id]
        when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes_ago)
        data = json.loads((directory / "FW_offline.json").read_text())
        data["started_on"] = when.isoformat()
        (directory / "FW_offline.json").write_text(json.dumps(data))
        (directory / "FW_ping.json").write_text(json.dumps({"ping_time": when.isoformat()}))
        self.remove(job_id)


@pytest.fixture
def slurm(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (
        ("sbatch", SBATCH),
        ("squeue", SQUEUE),
        ("sinfo", SINFO),
        ("scancel", SCANCEL),
    ):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_QUEUE", str(tmp_path / "queue"))
    return FakeSlurm(tmp_path / "queue")


@pytest.fixture
def config_dir(tmp_path):
    from workflows.hpc.config import write_config

    cfg = tmp_path / "cfg"
    write_config("slurm", cfg)
    return cfg


@pytest.fixture
def driver(config_dir, tmp_path):
    from bo_agent.campaign.queue import QueueDriver
    from workflows.hpc.queue_adapter import TavboQueueAdapter
    from workflows.hpc.resources import JobResources, QueueResources

    resources = QueueResources(
        screening=JobResources(ntasks=1, walltime="00:05:00"),
        relax=JobResources(ntasks=2, walltime="00:07:00"),
        rules=(("relax", ("record",)), *QueueResources().rules),
    )
    qa = TavboQueueAdapter.from_file(str(config_dir / "my_qadapter.yaml"))
    return QueueDriver(qadapter=qa, max_queued=2, launch_dir=tmp_path / "runs", resources=resources)


def _agent(lp, table, queue, **kw):
    from bo_agent.campaign.agent import CampaignAgent

    cfg = CampaignConfig(
        name="q", carrier="Na", engine="table", engine_settings={"table": str(table)},
        model="random", **kw,
    )  # fmt: skip
    return CampaignAgent(cfg, lp, queue=queue)


def _campaign_workflows(lp):
    return list(lp.workflows.find({"metadata.campaign": "q"}, {"metadata": 1, "nodes": 1}))


def test_agent_keeps_jobs_queued_and_collects_them(clean_lp, full_table, slurm, driver):
    from bo_agent.campaign.state import Status

    agent = _agent(clean_lp, full_table, driver, budget=4, max_pending=2)
    queued, rounds = [], 0
    while not agent.completed:
        report = agent.step(lostrun_expiration=3600)
        queued += report.queued
        assert report.queue_error is None
        assert len(slurm.jobs()) <= 2  # --qlaunch 2
        assert len(agent.queue.in_flight(clean_lp)) == len(slurm.jobs())
        slurm.run_all()
        rounds += 1
        assert rounds < 20

    assert agent.counts()["done"] == 4
    assert [r.candidate_id for r in agent.records(Status.failed)] == []
    ids = [w["metadata"]["candidate_id"] for w in _campaign_workflows(clean_lp)]
    assert len(ids) == len(set(ids)) == 4  # budget respected, no duplicates
    assert len(queued) == 8 == len({fw for fw, _ in queued})  # two jobs per evaluation
    for fw_id, job_id in queued:  # every Firework ran as its own (offline) queue job
        launch = clean_lp.launches.find_one({"fw_id": fw_id, "state": "COMPLETED"})
        script = (Path(launch["launch_dir"]) / "FW_submit.script").read_text()
        ntasks = 2 if clean_lp.get_fw_by_id(fw_id).name == "record barrier" else 1
        assert f"#SBATCH --ntasks={ntasks}" in script
        assert f"--offline --fw_id {fw_id}" in script
        assert any(h.get("reservation_id") == job_id for h in launch["state_history"])


def test_a_finished_job_still_listed_by_squeue_keeps_its_queue_slot(
    clean_lp, full_table, slurm, driver
):
    agent = _agent(clean_lp, full_table, driver, budget=4, max_pending=2)
    agent.step(lostrun_expiration=3600)
    assert len(slurm.jobs()) == 2
    slurm.run_all(leave_listed=True)  # rockets done, jobs not yet out of squeue

    report = agent.step(lostrun_expiration=3600)
    assert agent.queue.in_flight(clean_lp) == []  # the Fireworks themselves are done
    assert report.queued == []  # but --qlaunch 2 counts the jobs the scheduler still lists
    assert len(slurm.jobs()) == 2

    for job_id in list(slurm.jobs()):
        slurm.remove(job_id)
    assert len(agent.step(lostrun_expiration=3600).queued) == 2


@pytest.mark.parametrize("action", ["rerun", "fail"])
def test_a_job_killed_mid_run_is_rerun_or_failed(clean_lp, full_table, slurm, driver, action):
    from bo_agent.campaign.state import CandidateRecord, Status

    agent = _agent(clean_lp, full_table, driver, budget=1, max_pending=1, lostrun_action=action)
    report = agent.step(lostrun_expiration=600)
    ((fw_id, job_id),) = report.queued
    ((cid, _),) = report.submitted
    slurm.kill_running(job_id, minutes_ago=30)

    report = agent.step(lostrun_expiration=600)  # recover copies the 30-min-old ping: lost
    if action == "rerun":
        assert report.rerun == [cid]
        assert [fw for fw, _ in report.queued] == [fw_id]  # submitted again, a new job
        assert report.queued[0][1] != job_id
        while not agent.completed:
            slurm.run_all()
            agent.step(lostrun_expiration=600)
        rec = CandidateRecord.objects(campaign="q", candidate_id=cid).first()
        assert (rec.status, rec.attempts) == (Status.done.value, 1)
    else:
        ((failed_id, reason),) = report.failed
        assert failed_id == cid
        assert reason.startswith("worker process died 1 time running fireworks")
        assert report.queued == []
        assert agent.completed
        wf = clean_lp.workflows.find_one({"nodes": fw_id}, {"state": 1})
        assert wf["state"] == "DEFUSED"
    assert clean_lp.active_offline_launch_ids() == []  # the dead job is forgotten
    assert len(_campaign_workflows(clean_lp)) == 1


def test_a_queue_job_that_dies_every_time_fails_after_max_reruns(
    clean_lp, full_table, slurm, driver
):
    """The crash-loop bound in queue (offline) mode: each dead job is an attempt, and after
    max_reruns the evaluation fails with the reason and the campaign ends at its budget."""
    from bo_agent.campaign.state import CandidateRecord, Status

    agent = _agent(clean_lp, full_table, driver, budget=1, max_pending=1, max_reruns=2)
    report = agent.step(lostrun_expiration=600)
    ((fw_id, job_id),) = report.queued
    ((cid, _),) = report.submitted
    for attempt in (1, 2):
        slurm.kill_running(job_id, minutes_ago=30)
        report = agent.step(lostrun_expiration=600)
        assert report.rerun == [cid]
        ((rerun_fw, job_id),) = report.queued  # the same firework, a new queue job
        assert rerun_fw == fw_id
        rec = CandidateRecord.objects(campaign="q", candidate_id=cid).first()
        assert (rec.status, rec.attempts) == (Status.pending.value, attempt)
    slurm.kill_running(job_id, minutes_ago=30)
    report = agent.step(lostrun_expiration=600)
    ((failed_id, reason),) = report.failed
    assert failed_id == cid
    assert reason.startswith("worker process died 3 times running fireworks")
    assert reason.endswith("max_reruns is 2")
    assert report.queued == []
    assert agent.completed
    assert clean_lp.lost_run_count([fw_id]) == 3


def test_a_job_that_leaves_the_queue_unstarted_is_resubmitted_once(
    clean_lp, full_table, slurm, driver
):
    from bo_agent.campaign.state import Status

    agent = _agent(clean_lp, full_table, driver, budget=1, max_pending=1)
    ((fw_id, first_job),) = agent.step(lostrun_expiration=600).queued
    slurm.remove(first_job)  # scancel while pending
    report = agent.step(lostrun_expiration=600)
    ((again, second_job),) = report.queued
    assert again == fw_id
    assert second_job != first_job
    assert report.failed == []
    slurm.remove(second_job)  # and again: now it counts as a failure
    report = agent.step(lostrun_expiration=600)
    assert report.queued == []
    ((cid, error),) = report.failed
    assert "left the queue without starting (2 times)" in error
    assert agent.records(Status.failed)[0].candidate_id == cid
    assert agent.completed


def test_without_qlaunch_the_agent_submits_nothing_to_the_queue(
    clean_lp, full_table, slurm, config_dir
):
    from bo_agent.campaign.queue import QueueDriver

    agent = _agent(clean_lp, full_table, QueueDriver(), budget=2, max_pending=2)
    report = agent.step(lostrun_expiration=600)
    assert len(report.submitted) == 2
    assert report.queued == []
    assert slurm.jobs() == {}


def test_tavbo_agent_qlaunch_once(clean_lp, full_table, slurm, config_dir, tmp_path):
    from typer.testing import CliRunner

    from bo_agent.cli.main import app
    from workflows.launchpad.tavbo_launchpad import current_launchpad

    args = [
        "agent", "--campaign", "cli-q", "--carrier", "Na", "--engine", "table", "-s",
        f"table={full_table}", "--budget", "3", "--max-pending", "3", "--model", "random",
        "--qlaunch", "2", "--qadapter", str(config_dir / "my_qadapter.yaml"),
        "--fworker", str(config_dir / "my_fworker_screening.yaml"),
        "--resources", str(config_dir / "resources.yaml"),
        "--launch-dir", str(tmp_path / "runs"), "--once",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output.count("submitted") == 3
    assert result.output.count("queued    fw") == 2  # --qlaunch 2
    assert len(slurm.jobs()) == 2
    assert current_launchpad() is clean_lp  # the command did not close the open LaunchPad
    for fw in clean_lp.fireworks.find({"state": "RESERVED"}, {"spec._category": 1}):
        assert fw["spec"]["_category"] == "screening"
    for directory in slurm.jobs().values():
        assert (directory / "FW_submit.script").exists()


def test_tavbo_agent_rejects_a_missing_queue_adapter(clean_lp, full_table, tmp_path):
    from typer.testing import CliRunner

    from bo_agent.cli.main import app

    args = [
        "agent", "--campaign", "cli-q", "--engine", "table", "-s", f"table={full_table}",
        "--qlaunch", "2", "--qadapter", str(tmp_path / "nope.yaml"), "--once",
    ]  # fmt: skip
    with pytest.raises(Exception, match=r"queue adapter file .* not found"):
        CliRunner().invoke(app, args, catch_exceptions=False)
    assert Counter(d["status"] for d in clean_lp.db["tavbo_campaigns"].find()) == Counter()


def test_a_held_job_is_noted_then_failed_after_the_timeout(
    clean_lp, full_table, slurm, driver, monkeypatch
):
    from bo_agent.campaign.state import Status
    from workflows.hpc.queue_faults import queue_notes

    monkeypatch.setenv("FAKE_REASON", "PartitionConfig")
    driver.held_timeout = 0.5
    agent = _agent(clean_lp, full_table, driver, budget=1, max_pending=1)
    ((_, job_id),) = agent.step(lostrun_expiration=3600).queued
    agent.step(lostrun_expiration=3600)
    (note,) = queue_notes(clean_lp, "q").values()
    assert note.startswith(f"job {job_id} held: PartitionConfig")
    assert agent.counts()["pending"] == 1
    time.sleep(0.6)
    agent.step(lostrun_expiration=3600)
    assert job_id not in slurm.jobs()  # cancelled
    (rec,) = agent.records(Status.failed)
    assert "held by the scheduler (PartitionConfig)" in rec.error
    assert queue_notes(clean_lp, "q") == {}


def test_a_refused_submission_fails_the_evaluation_after_max_rejections(
    clean_lp, full_table, slurm, driver, monkeypatch, tmp_path
):
    from bo_agent.campaign.state import Status

    message = "sbatch: error: Batch job submission failed: Invalid partition name specified"
    monkeypatch.setenv("FAKE_SBATCH_ERROR", message)
    driver.max_rejections = 3
    agent = _agent(clean_lp, full_table, driver, budget=1, max_pending=1)
    errors = [agent.step(lostrun_expiration=3600).queue_error for _ in range(3)]
    assert all(message in (e or "") for e in errors), errors
    agent.step(lostrun_expiration=3600)
    (rec,) = agent.records(Status.failed)
    assert f"refused the job 3 times: the scheduler refused the job: {message}" in rec.error
    assert len(list((tmp_path / "runs").glob("launcher_*"))) == 3
    assert agent.step(lostrun_expiration=3600).queue_error is None
    assert agent.completed
