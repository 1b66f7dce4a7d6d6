"""A real Slurm: table-engine workflows go through sbatch and come back into the LaunchPad.

This is the "embedded LaunchPad with queue jobs on one machine" set-up: the test process owns the
embedded LaunchPad (which no other process may open), reserves Fireworks and submits them with
``workflows.hpc.offline.qlaunch`` (``qlaunch -r singleshot``) using the queue adapter that ``tavbo
init-config --scheduler slurm`` writes; each Slurm job runs ``--offline`` and the test process
recovers the results. Per-job resources (``workflows.hpc.resources``) must appear in the job scripts
and in ``scontrol show job``; a job cancelled with ``scancel`` must be found as a lost run and
re-queued. Last, a whole campaign run by the agent in queue mode (``bo_agent.campaign.queue``, what
``tavbo agent --qlaunch N`` does), with one of its jobs cancelled mid-run.

Slurm is started with ``.ci/start_slurm.sh`` when it is not running and this runs as root;
otherwise the tests are skipped. Run with ``pytest -m slurm tests/integration``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slurm

JOB_TIMEOUT = 180  # s for one Slurm job to finish


@pytest.fixture
def qadapter(slurm, tmp_path):
    """The Slurm queue adapter written by init-config (offline rocket, no VASP)."""
    from workflows.hpc.config import write_config
    from workflows.hpc.queue_adapter import TavboQueueAdapter

    cfg = tmp_path / "cfg"
    write_config("slurm", cfg)
    return TavboQueueAdapter.from_file(str(cfg / "my_qadapter.yaml"))


@pytest.fixture
def resources():
    """Different requests for the two jobs of a table workflow, small enough for this node."""
    from workflows.hpc.resources import JobResources, QueueResources

    return QueueResources(
        cores_per_node=os.cpu_count() or 1,
        screening=JobResources(ntasks=1, walltime="00:05:00"),
        relax=JobResources(ntasks=min(2, os.cpu_count() or 1), walltime="00:07:00"),
        rules=(("relax", ("record",)), *QueueResources().rules),
    )


def _submit(lp, table, candidate_id, resources, campaign="slurm", **maker_kwargs):
    from jobflow.managers.fireworks import flow_to_workflow

    from workflows.engines.table import TableBarrierMaker
    from workflows.flows.submit import build_flow, workflow_metadata
    from workflows.hpc.job_requests import apply_resources
    from workflows.space.compositions import default_space

    cand = default_space().get(candidate_id)
    maker = TableBarrierMaker(table=str(table), **maker_kwargs)
    flow = build_flow(cand, maker=maker, campaign=campaign)
    apply_resources(flow, resources)
    wf = flow_to_workflow(flow, metadata=workflow_metadata(cand, "table", campaign))
    return sorted(lp.add_wf(wf).values())


def _scontrol(job_id: str) -> dict[str, str]:
    out = subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True
    ).stdout
    return dict(re.findall(r"(\w+)=(\S+)", out))


def _in_queue(job_id: str) -> bool:
    out = subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True, check=False
    )
    return bool(out.stdout.strip())


def _wait_gone(job_ids, timeout=JOB_TIMEOUT):
    deadline = time.monotonic() + timeout
    while any(_in_queue(j) for j in job_ids):
        assert time.monotonic() < deadline, f"Slurm jobs {job_ids} still queued after {timeout} s"
        time.sleep(0.5)


def _diagnose(launch) -> str:
    files = sorted(Path(launch.launch_dir).glob("*.error")) + sorted(
        Path(launch.launch_dir).glob("*.out")
    )
    return "\n".join(f"--- {f.name}\n{f.read_text()[-2000:]}" for f in files)


def test_table_workflow_through_slurm(launchpad, barrier_table, qadapter, resources, tmp_path):
    from workflows.hpc.offline import qlaunch, recover_offline
    from workflows.results.documents import get_barrier
    from workflows.results.ingest import ingest_completed

    fw_ids = _submit(launchpad, barrier_table, "Na-Ga-P-F", resources)
    start = time.perf_counter()
    launches = []
    for _ in range(4):  # two fireworks, one after the other
        new = qlaunch(launchpad, qadapter, store=launchpad.job_store, launch_dir=tmp_path, njobs=5)
        if not new:
            break
        for q in new:  # resources as Slurm sees them
            info = _scontrol(q.reservation_id)
            name = launchpad.get_fw_by_id(q.fw_id).name
            want = resources.queueadapter("relax" if name == "record barrier" else "screening")
            assert info["NumTasks"] == str(want["ntasks"])
            assert info["TimeLimit"] == want["walltime"]
            script = (Path(q.launch_dir) / "FW_submit.script").read_text()
            assert f"#SBATCH --ntasks={want['ntasks']}" in script
            assert f"#SBATCH --time={want['walltime']}" in script
        _wait_gone([q.reservation_id for q in new])
        report = recover_offline(launchpad, launchpad.job_store)
        assert report.completed == sorted(q.fw_id for q in new), [_diagnose(q) for q in new]
        launches += new
    elapsed = time.perf_counter() - start

    states = {launchpad.get_fw_by_id(i).state for i in fw_ids}
    assert states == {"COMPLETED"}, [_diagnose(q) for q in launches]
    assert len(launches) == 2
    assert {_scontrol(q.reservation_id)["JobState"] for q in launches} == {"COMPLETED"}
    assert ingest_completed(launchpad, campaign="slurm").ingested == ["slurm/Na-Ga-P-F/table"]
    assert get_barrier("slurm", "Na-Ga-P-F", "table").e_b == pytest.approx(0.42, abs=0.01)
    print(f"table workflow through Slurm: {elapsed:.1f} s for {len(launches)} jobs")


def test_cancelled_job_is_found_lost_and_requeued(
    launchpad, barrier_table, qadapter, resources, tmp_path, request
):
    from workflows.hpc.offline import handle_lost_runs, qlaunch, recover_offline

    fw_ids = _submit(launchpad, barrier_table, "Li-Mg-S-F", resources, delay_s=300)
    (q,) = qlaunch(launchpad, qadapter, store=launchpad.job_store, launch_dir=tmp_path)
    request.addfinalizer(lambda: subprocess.run(["scancel", q.reservation_id], check=False))
    first = q.fw_id  # the lookup job; the record job waits for it
    assert first in fw_ids
    offline_file = Path(q.launch_dir) / "FW_offline.json"
    deadline = time.monotonic() + JOB_TIMEOUT
    while "started_on" not in json.loads(offline_file.read_text()):  # the rocket is running
        assert time.monotonic() < deadline, _diagnose(q)
        time.sleep(0.5)

    subprocess.run(["scancel", q.reservation_id], check=True)
    _wait_gone([q.reservation_id])
    assert _scontrol(q.reservation_id)["JobState"] == "CANCELLED"
    assert "fwaction" not in json.loads(offline_file.read_text())  # it never finished

    report = recover_offline(launchpad, launchpad.job_store)
    assert report.running == [first]
    assert launchpad.get_fw_by_id(first).state == "RUNNING"
    time.sleep(2.5)  # its last ping (at start) is now older than the expiration below
    lost = handle_lost_runs(launchpad, expiration_secs=2, rerun=True)
    assert lost.fw_ids == [first]
    assert launchpad.get_fw_by_id(first).state == "READY"  # to be submitted again
    assert recover_offline(launchpad, launchpad.job_store).running == []  # forgotten


def _clean_campaigns(lp) -> None:
    for name in ("tavbo_campaigns", "tavbo_candidates", "tavbo_decisions", "tavbo_queue_faults"):
        lp.db[name].delete_many({})


def _offline_state(lp, job_id: str) -> dict:
    launch = lp.launches.find_one({"state_history.reservation_id": job_id}, {"launch_dir": 1})
    try:
        return json.loads((Path(launch["launch_dir"]) / "FW_offline.json").read_text())
    except (OSError, ValueError):  # being rewritten: ask again later
        return {}


def test_agent_campaign_in_queue_mode_through_slurm(
    launchpad, full_table, slurm, tmp_path, request
):
    """Budget 4, two evaluations and two queue jobs at a time; one job is cancelled mid-run.

    Each evaluation is two Fireworks (the table lookup, then ``record barrier``), each its own
    Slurm job; the lookups sleep ``DELAY`` s so that one can be caught running. Jobs ping every
    second (``PING_TIME_SECS`` in the jobs' FW_config.yaml), so the agent tells the cancelled
    job (silent) from live ones within ``LOST_AFTER`` s, reruns its Firework as a new job, and
    the campaign ends with four results.
    """
    from bo_agent.campaign.agent import CampaignAgent
    from bo_agent.campaign.queue import QueueDriver
    from bo_agent.campaign.state import CandidateRecord, Status
    from bo_agent.config import CampaignConfig
    from workflows.engines.table import read_table
    from workflows.hpc.config import write_config
    from workflows.hpc.queue_adapter import TavboQueueAdapter
    from workflows.hpc.resources import JobResources, QueueResources
    from workflows.results.documents import get_barrier

    delay, lost_after, timeout = 5.0, 10.0, 150.0
    _clean_campaigns(launchpad)
    cfg_dir = tmp_path / "cfg"
    write_config("slurm", cfg_dir)
    fw_config = cfg_dir / "FW_config.yaml"
    fw_config.write_text(fw_config.read_text().replace("PING_TIME_SECS: 3600", "PING_TIME_SECS: 1"))
    assert "PING_TIME_SECS: 1\n" in fw_config.read_text()
    resources = QueueResources(
        cores_per_node=os.cpu_count() or 1,
        screening=JobResources(ntasks=1, walltime="00:05:00", mem="200M"),
        relax=JobResources(ntasks=1, walltime="00:07:00", mem="300M"),
        rules=(("relax", ("record",)), *QueueResources().rules),
    )
    queue = QueueDriver(
        qadapter=TavboQueueAdapter.from_file(str(cfg_dir / "my_qadapter.yaml")),
        max_queued=2,
        launch_dir=tmp_path / "runs",
        resources=resources,
    )
    config = CampaignConfig(
        name="slurm-agent", carrier="Na", engine="table", model="random", seed=4,
        engine_settings={"table": str(full_table), "delay_s": delay},
        budget=4, max_pending=2, poll_interval=1.0, lostrun_action="rerun", max_reruns=1,
    )  # fmt: skip
    agent = CampaignAgent(config, launchpad, queue=queue)

    jobs: dict[str, int] = {}  # Slurm job id -> fw_id
    reruns: list[str] = []
    cancelled: dict[str, int] = {}
    request.addfinalizer(lambda: jobs and subprocess.run(["scancel", *jobs], check=False))
    start = time.monotonic()

    def on_round(report):
        assert report.queue_error is None, report.queue_error
        jobs.update({job_id: fw_id for fw_id, job_id in report.queued})
        reruns.extend(report.rerun)
        assert len(agent.queue.in_flight(launchpad)) <= 2  # --qlaunch 2
        assert sum(_in_queue(j) for j in jobs) <= 2

    def sleep(seconds):
        assert time.monotonic() - start < timeout, f"campaign not done after {timeout} s"
        if not cancelled:  # catch a lookup job while it runs, and cancel it
            for job_id, fw_id in jobs.items():
                if launchpad.get_fw_by_id(fw_id).name != "table barrier":
                    continue
                data = _offline_state(launchpad, job_id)
                if "started_on" in data and "fwaction" not in data:
                    subprocess.run(["scancel", job_id], check=True)
                    _wait_gone([job_id])
                    assert "fwaction" not in _offline_state(launchpad, job_id)
                    cancelled[job_id] = fw_id
                    break
        time.sleep(seconds)

    agent.run(on_round=on_round, sleep=sleep, lostrun_expiration=lost_after)
    elapsed = time.monotonic() - start

    # the campaign: budget used exactly, every composition once, every result collected
    assert agent.completed
    assert agent.counts()["done"] == 4
    assert agent.used_budget() == 4
    wfs = list(launchpad.workflows.find({"metadata.campaign": "slurm-agent"}, {"metadata": 1}))
    ids = [w["metadata"]["candidate_id"] for w in wfs]
    assert len(ids) == len(set(ids)) == 4
    table = read_table(full_table)
    for rec in agent.records(Status.done):
        assert rec.e_b == pytest.approx(table[rec.candidate_id]["e_b"], abs=1e-6)
        assert get_barrier("slurm-agent", rec.candidate_id, "table").e_b == rec.e_b

    # the cancelled job: found lost, its Firework rerun once as a new Slurm job
    ((dead_job, dead_fw),) = cancelled.items()
    assert _scontrol(dead_job)["JobState"] == "CANCELLED"
    wf = launchpad.workflows.find_one({"nodes": dead_fw}, {"metadata": 1})
    rerun_id = wf["metadata"]["candidate_id"]
    assert reruns == [rerun_id]
    rec = CandidateRecord.objects(campaign="slurm-agent", candidate_id=rerun_id).first()
    assert (rec.status, rec.attempts) == (Status.done.value, 1)
    assert sorted(jobs.values()).count(dead_fw) == 2
    assert launchpad.active_offline_launch_ids() == []

    # every Firework ran as its own Slurm job, with its category's request
    assert len(jobs) == 4 * 2 + 1
    for job_id, fw_id in jobs.items():
        info = _scontrol(job_id)
        fw = launchpad.get_fw_by_id(fw_id)
        want = resources.queueadapter("relax" if fw.name == "record barrier" else "screening")
        assert fw.spec["_queueadapter"] == want
        assert (info["NumTasks"], info["TimeLimit"]) == (str(want["ntasks"]), want["walltime"])
        assert info["MinMemoryNode"] == want["mem"]
        assert info["JobState"] == ("CANCELLED" if job_id == dead_job else "COMPLETED")
        launch = launchpad.launches.find_one({"state_history.reservation_id": job_id})
        script = (Path(launch["launch_dir"]) / "FW_submit.script").read_text()
        assert f"#SBATCH --time={want['walltime']}" in script
        assert f"#SBATCH --mem={want['mem']}" in script
        assert f"--offline --fw_id {fw_id}" in script
    print(f"agent campaign through Slurm: {elapsed:.1f} s, {len(jobs)} jobs")
