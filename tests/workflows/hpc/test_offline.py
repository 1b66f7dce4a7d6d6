"""FireWorks offline mode through tavbo: queue jobs without database access, then recovery.

A stand-in ``sbatch`` (first on PATH) runs the job script at once, so the whole path -- reserve,
write FW.json and the job's inputs, "submit", run the rocket in a separate process, recover into
the LaunchPad and the job store -- is exercised without a scheduler. tests/integration/test_slurm.py
does the same through a real Slurm.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

import pytest
from jobflow import Flow, Response, job

from workflows.hpc import offline, offline_store, rocket
from workflows.hpc.job_requests import apply_resources
from workflows.hpc.resources import JobResources, QueueResources

FAKE_SBATCH = """#!/bin/sh
# stand-in sbatch: run the script now (unless FAKE_SBATCH_HOLD is set), print a Slurm job id
if [ -z "$FAKE_SBATCH_HOLD" ]; then bash "$1" > fake_sbatch.out 2>&1; fi
echo "Submitted batch job $$"
"""

# Runs tavbo-rlaunch, recording any socket connection and any access to the embedded store.
GUARD = """import os, sys
log, store = os.environ["GUARD_LOG"], os.environ.get("MONGOMOCK_SERVERSTORE_FILE", "")
def hook(event, args):
    if event == "socket.connect" or (event == "open" and store and str(args[0]) == store):
        with open(log, "a") as fh:
            fh.write(f"{event} {args[1] if event == 'socket.connect' else args[0]}\\n")
sys.addaudithook(hook)
from workflows.hpc.rocket import main
raise SystemExit(main(sys.argv[1:]))
"""


@job
def add(a, b):
    return a + b


@job(data="arr")
def make_big(n):
    """Output with a large part saved in the "data" additional store (GridFS in production)."""
    return {"arr": list(range(n)), "n": n}


@job
def total(doc):
    return sum(doc["arr"])


@job
def add_later(a):
    """Replaces itself at run time (a FireWorks detour) with a job adding 100."""
    return Response(replace=add(a, 100))


@pytest.fixture
def queue(tmp_path, monkeypatch):
    """A Slurm queue adapter whose sbatch runs the job at once, and a guarded rocket launcher."""
    from workflows.hpc.config import write_config
    from workflows.hpc.queue_adapter import TavboQueueAdapter

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH)
    (bin_dir / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    guard = tmp_path / "guarded_rlaunch.py"
    guard.write_text(GUARD)
    monkeypatch.setenv("GUARD_LOG", str(tmp_path / "guard.log"))
    repo = Path(__file__).resolve().parents[3]
    here = Path(__file__).resolve().parent
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(repo), str(here)]))

    cfg = tmp_path / "cfg"
    write_config("slurm", cfg)
    # A database the job could try (and fail) to reach: offline jobs must not even try.
    lp_file = cfg / "my_launchpad.yaml"
    lp_file.write_text("host: 127.0.0.1\nport: 1\nname: tavbo\n")
    lp_file.chmod(0o600)
    qa = TavboQueueAdapter.from_file(str(cfg / "my_qadapter.yaml"))
    qa["rocket_launch"] = f"{sys.executable} {guard} -c {cfg} singleshot --offline"
    return qa


def _states(lp, fw_ids=None):
    query = {} if fw_ids is None else {"fw_id": {"$in": list(fw_ids)}}
    return {d["fw_id"]: d["state"] for d in lp.fireworks.find(query, {"fw_id": 1, "state": 1})}


def _run_rounds(lp, qa, launch_dir, *, in_process=False, rounds=5):
    """qlaunch everything READY, recover, until nothing is READY; return all launches.

    ``in_process``: the stand-in sbatch only queues, and the rockets run here (fast); else each
    job runs in its own process, as on a cluster.
    """
    launches = []
    for _ in range(rounds):
        new = offline.qlaunch(lp, qa, store=lp.job_store, launch_dir=launch_dir, njobs=10)
        if not new:
            break
        if in_process:
            for q in new:
                assert rocket.run_offline_rocket(q.launch_dir)
        launches += new
        report = offline.recover_offline(lp, lp.job_store)
        assert sorted(report.completed + report.fizzled) == sorted(q.fw_id for q in new)
    return launches


@pytest.fixture
def hold(monkeypatch):
    """The stand-in sbatch queues without running (the test runs or "kills" the job)."""
    monkeypatch.setenv("FAKE_SBATCH_HOLD", "1")


def test_patch_fireworks_restores_zopen_without_mode(tmp_path):
    import fireworks.core.rocket as fw_rocket

    rocket.patch_fireworks()
    rocket.patch_fireworks()  # idempotent
    path = tmp_path / "FW_offline.json"
    path.write_text('{"launch_id": 1}')
    with fw_rocket.zopen(str(path)) as fh:  # the call fireworks 2.1.4 makes
        assert json.loads(fh.read()) == {"launch_id": 1}


def test_table_workflow_runs_offline_and_is_recovered(launchpad, barrier_table, queue, tmp_path):
    from jobflow.managers.fireworks import flow_to_workflow

    from workflows.flows.submit import build_flow, workflow_metadata
    from workflows.results.documents import get_barrier
    from workflows.results.ingest import ingest_completed
    from workflows.space.compositions import default_space

    cand = default_space().get("Na-Ga-P-F")
    flow = build_flow(cand, "table", campaign="hpc", table=str(barrier_table))
    res = QueueResources(
        screening=JobResources(ntasks=1, walltime="00:05:00"),
        relax=JobResources(ntasks=2, walltime="00:07:00"),
        rules=(("relax", ("record",)), *QueueResources().rules),  # give each job its own request
    )
    apply_resources(flow, res)
    wf = flow_to_workflow(flow, metadata=workflow_metadata(cand, "table", "hpc"))
    fw_ids = list(launchpad.add_wf(wf).values())

    launches = _run_rounds(launchpad, queue, tmp_path / "runs")

    assert len(launches) == 2
    assert set(_states(launchpad, fw_ids).values()) == {"COMPLETED"}
    for q in launches:
        script = (Path(q.launch_dir) / "FW_submit.script").read_text()
        name = launchpad.get_fw_by_id(q.fw_id).name
        ntasks = 2 if name == "record barrier" else 1
        assert f"#SBATCH --ntasks={ntasks}" in script
        assert ("--time=00:07:00" if ntasks == 2 else "--time=00:05:00") in script
        assert f"--fw_id {q.fw_id}" in script
    # the job processes never touched a socket or the embedded store
    assert not (tmp_path / "guard.log").exists()
    # the engine's output went from the first job's directory, via the job store, to the second
    assert ingest_completed(launchpad, campaign="hpc").ingested == ["hpc/Na-Ga-P-F/table"]
    doc = get_barrier("hpc", "Na-Ga-P-F", "table")
    assert doc.e_b == pytest.approx(0.42, abs=0.01)


def test_detours_and_references_across_offline_jobs(launchpad, queue, hold, tmp_path):
    from jobflow.managers.fireworks import flow_to_workflow

    first = add(1, 2)
    second = add(first.output, 3)
    third = add_later(second.output)
    launchpad.add_wf(flow_to_workflow(Flow([first, second, third])))

    _run_rounds(launchpad, queue, tmp_path / "runs", in_process=True)

    assert set(_states(launchpad).values()) == {"COMPLETED"}
    assert len(_states(launchpad)) == 4  # the detour added a firework
    store = launchpad.job_store
    assert store.get_output(second.uuid) == 6
    assert store.get_output(third.uuid, which="last") == 106  # replaced job's final output


def test_additional_store_blobs_travel_both_ways(launchpad, queue, hold, tmp_path):
    from jobflow.managers.fireworks import flow_to_workflow

    big = make_big(50)
    tot = total(big.output)
    launchpad.add_wf(flow_to_workflow(Flow([big, tot])))
    launches = _run_rounds(launchpad, queue, tmp_path / "runs", in_process=True)

    assert len(launches) == 2
    data = launchpad.job_store.additional_stores["data"]
    assert data.count({"job_uuid": big.uuid}) == 1  # the blob came back with its document
    assert launchpad.job_store.get_output(big.uuid, load=True)["arr"] == list(range(50))
    assert launchpad.job_store.get_output(tot.uuid) == sum(range(50))
    total_dir = next(Path(q.launch_dir) for q in launches if q.fw_id != launches[0].fw_id)
    assert (total_dir / "tavbo_jobstore.data.json").exists()  # staged for the reader


def test_fizzled_offline_job_is_recorded(launchpad, barrier_table, queue, hold, tmp_path):
    from jobflow.managers.fireworks import flow_to_workflow

    from workflows.engines.table import TableBarrierMaker

    flow = TableBarrierMaker(table=str(barrier_table), fail_ids=["Li-Mg-S-F"]).make(
        None, "Li-Mg-S-F"
    )
    (fw_id,) = launchpad.add_wf(flow_to_workflow(flow)).values()
    (q,) = offline.qlaunch(launchpad, queue, store=launchpad.job_store, launch_dir=tmp_path)
    assert rocket.run_offline_rocket(q.launch_dir)  # a fizzled Firework still "ran"
    report = offline.recover_offline(launchpad, launchpad.job_store)
    assert report.fizzled == [fw_id]
    assert report.outputs == 0
    assert _states(launchpad)[fw_id] == "FIZZLED"
    launch = launchpad.launches.find_one({"fw_id": fw_id, "state": "FIZZLED"})
    assert "CalculationError" in launch["action"]["stored_data"]["_exception"]["_stacktrace"]


def _ping(directory: Path, minutes_ago: float, *, start: bool = False) -> None:
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes_ago)
    if start:
        data = json.loads((directory / "FW_offline.json").read_text())
        data["started_on"] = when.isoformat()
        (directory / "FW_offline.json").write_text(json.dumps(data))
    (directory / "FW_ping.json").write_text(json.dumps({"ping_time": when.isoformat()}))


def test_last_ping_decides_whether_a_run_is_lost(launchpad, queue, hold, tmp_path):
    """Each recovery copies the job's latest ping (upstream kept the time of the first one)."""
    from jobflow.managers.fireworks import flow_to_workflow

    (fw_id,) = launchpad.add_wf(flow_to_workflow(add(1, 1))).values()
    (q,) = offline.qlaunch(launchpad, queue, store=launchpad.job_store, launch_dir=tmp_path)
    directory = Path(q.launch_dir)
    _ping(directory, 120, start=True)  # started and last pinged 2 h ago
    assert offline.recover_offline(launchpad).running == [fw_id]
    assert launchpad.detect_lostruns(expiration_secs=3600)[1] == [fw_id]  # silent for 2 h
    _ping(directory, 1)  # alive after all: pinged a minute ago
    assert offline.recover_offline(launchpad).running == [fw_id]
    assert offline.handle_lost_runs(launchpad, expiration_secs=3600).fw_ids == []
    assert _states(launchpad)[fw_id] == "RUNNING"


def test_half_written_files_are_retried_not_fizzled(launchpad, queue, hold, tmp_path):
    from jobflow.managers.fireworks import flow_to_workflow

    (fw_id,) = launchpad.add_wf(flow_to_workflow(add(1, 1))).values()
    (q,) = offline.qlaunch(launchpad, queue, store=launchpad.job_store, launch_dir=tmp_path)
    directory = Path(q.launch_dir)
    _ping(directory, 1, start=True)
    (directory / "FW_ping.json").write_text("")  # caught mid-write (plain rlaunch, no rename)
    assert offline.recover_offline(launchpad).failed == [fw_id]
    assert _states(launchpad)[fw_id] == "RESERVED"  # upstream would have FIZZLED it
    _ping(directory, 0)
    assert offline.recover_offline(launchpad).running == [fw_id]


def test_offline_json_writes_are_atomic(tmp_path):
    import fireworks.core.rocket as fw_rocket

    rocket.patch_fireworks()
    path = tmp_path / "FW_offline.json"
    path.write_text('{"a": 1}')
    with fw_rocket.zopen(str(path)) as f_in, fw_rocket.zopen(str(path), "wt") as f_out:
        data = json.loads(f_in.read())
        f_out.write(json.dumps({**data, "b": 2}))
        assert json.loads(path.read_text()) == {"a": 1}  # old content until the rename
    assert json.loads(path.read_text()) == {"a": 1, "b": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["FW_offline.json"]  # no temp file left


def test_queued_run_is_left_alone_and_lost_run_is_rerun(launchpad, queue, hold, tmp_path):
    from jobflow.managers.fireworks import flow_to_workflow

    (fw_id,) = launchpad.add_wf(flow_to_workflow(add(1, 1))).values()
    (q,) = offline.qlaunch(launchpad, queue, store=launchpad.job_store, launch_dir=tmp_path)
    report = offline.recover_offline(launchpad)
    assert report.waiting == [fw_id]
    assert _states(launchpad)[fw_id] == "RESERVED"

    # the job starts, pings once, and is killed (scancel, walltime): files stop changing
    _ping(Path(q.launch_dir), 30, start=True)

    report = offline.recover_offline(launchpad)
    assert report.running == [fw_id]
    assert _states(launchpad)[fw_id] == "RUNNING"
    assert offline.handle_lost_runs(launchpad, expiration_secs=3600).fw_ids == []  # 30 min ago
    lost = offline.handle_lost_runs(launchpad, expiration_secs=600, rerun=True)
    assert lost.fw_ids == [fw_id]
    assert _states(launchpad)[fw_id] == "READY"
    # the dead run is forgotten: recovering again does not revive it
    assert offline.recover_offline(launchpad) == offline.OfflineRecovery()
    assert _states(launchpad)[fw_id] == "READY"


def test_outputs_stay_in_the_launch_dir_until_recovered(launchpad, queue, hold, tmp_path):
    from jobflow.managers.fireworks import flow_to_workflow

    first = add(2, 3)
    launchpad.add_wf(flow_to_workflow(first))
    (q,) = offline.qlaunch(launchpad, queue, store=launchpad.job_store, launch_dir=tmp_path)
    directory = Path(q.launch_dir)
    assert {"FW.json", "FW_offline.json", "tavbo_offline.json"} <= {
        p.name for p in directory.iterdir()
    }
    assert rocket.run_offline_rocket(directory)
    data = json.loads((directory / "FW_offline.json").read_text())
    assert data["state"] == "COMPLETED"
    assert (directory / "FW_ping.json").exists()  # pinged at start
    assert offline_store.local_job_store(directory, read_only=True).get_output(first.uuid) == 5
    assert launchpad.job_store.query_one({"uuid": first.uuid}) is None  # not yet recovered
    report = offline.recover_offline(launchpad, launchpad.job_store)
    assert report.completed == [q.fw_id]
    assert report.outputs == 1
    assert launchpad.job_store.get_output(first.uuid) == 5
    # idempotent: a second recovery finds nothing to do
    assert offline.recover_offline(launchpad, launchpad.job_store) == offline.OfflineRecovery()


def test_offline_rlaunch_outside_a_launch_dir_is_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert rocket.main(["singleshot", "--offline"]) == 2
    assert "no FW.json" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_qlaunch_needs_singleshot(launchpad, queue):
    from workflows.errors import SubmissionError

    queue["rocket_launch"] = "rlaunch rapidfire"
    with pytest.raises(SubmissionError, match="singleshot"):
        offline.qlaunch(launchpad, queue)


@pytest.mark.skipif(bool(os.environ.get("TAVBO_TEST_MONGO_URI")), reason="embedded store")
def test_reopening_the_store_leaves_queue_jobs_in_flight_alone(launchpad, queue, hold, tmp_path):
    """At open the embedded owner re-queues RUNNING and un-reserves RESERVED fireworks, except
    those an offline queue job holds: queued or running, the job is alive beyond this process."""
    import subprocess

    from fireworks import FWorker
    from jobflow.managers.fireworks import flow_to_workflow

    ids = {}
    for name in ("queued", "running", "in_process", "reserved"):
        wf = flow_to_workflow(add(1, 1), name=name)
        (ids[name],) = launchpad.add_wf(wf).values()
    offline.qlaunch(launchpad, queue, launch_dir=tmp_path / "q", fw_id=ids["queued"])
    (running,) = offline.qlaunch(launchpad, queue, launch_dir=tmp_path / "r", fw_id=ids["running"])
    _ping(Path(running.launch_dir), 1, start=True)
    assert offline.recover_offline(launchpad).running == [ids["running"]]
    launchpad.checkout_fw(FWorker(), str(tmp_path), fw_id=ids["in_process"])  # owner then dies
    launchpad.reserve_fw(FWorker(), str(tmp_path), fw_id=ids["reserved"])  # never submitted
    before = _states(launchpad)
    assert [before[ids[n]] for n in ids] == ["RESERVED", "RUNNING", "RUNNING", "RESERVED"]

    from workflows.launchpad.maintenance import copy_store

    copy = tmp_path / "reopened.sqlite"
    copy_store(launchpad.store_path, copy)
    code = f"""
import json
from workflows.launchpad.opening import open_launchpad
lp = open_launchpad(store_path={str(copy)!r}, handle_signals=False)
states = {{d["fw_id"]: d["state"] for d in lp.fireworks.find({{}}, {{"fw_id": 1, "state": 1}})}}
print(json.dumps({{"lost": lp.lost_fw_ids, "states": states}}))
lp.close()
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVBO_")}
    env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    states = {int(k): v for k, v in out["states"].items()}
    assert out["lost"] == [ids["in_process"]]
    assert states[ids["in_process"]] == "READY"  # re-queued: its rocket died with the owner
    assert states[ids["reserved"]] == "READY"  # reservation cancelled: no job holds it
    assert states[ids["queued"]] == "RESERVED"  # its Slurm job is still queued
    assert states[ids["running"]] == "RUNNING"  # its Slurm job is still running


def test_a_rerun_lost_run_is_not_revived_by_recovery(launchpad, queue, hold, tmp_path):
    """The agent reruns (or defuses) a lost firework itself; the dead job's files stay behind."""
    from jobflow.managers.fireworks import flow_to_workflow

    (fw_id,) = launchpad.add_wf(flow_to_workflow(add(1, 1))).values()
    (q,) = offline.qlaunch(launchpad, queue, launch_dir=tmp_path)
    _ping(Path(q.launch_dir), 30, start=True)
    assert offline.recover_offline(launchpad).running == [fw_id]
    assert launchpad.detect_lostruns(expiration_secs=600)[1] == [fw_id]
    launchpad.rerun_fw(fw_id)  # what CampaignAgent.handle_lost_runs does
    assert _states(launchpad)[fw_id] == "READY"
    assert offline.recover_offline(launchpad) == offline.OfflineRecovery()
    assert _states(launchpad)[fw_id] == "READY"
    assert launchpad.active_offline_launch_ids() == []


def test_every_offline_run_that_dies_counts_as_an_attempt(launchpad, queue, hold, tmp_path):
    """handle_lost_runs records each dead queue job as a lost run (the crash-loop count), like the
    embedded re-queue at open and the agent: a job that dies every time cannot loop unnoticed."""
    from jobflow.managers.fireworks import flow_to_workflow

    (fw_id,) = launchpad.add_wf(flow_to_workflow(add(1, 1))).values()
    for death in (1, 2, 3):
        (q,) = offline.qlaunch(launchpad, queue, launch_dir=tmp_path / str(death))
        _ping(Path(q.launch_dir), 30, start=True)  # started, pinged once, killed (OOM, walltime)
        assert offline.recover_offline(launchpad).running == [fw_id]
        assert offline.handle_lost_runs(launchpad, expiration_secs=600, rerun=True).fw_ids == [
            fw_id
        ]
        assert launchpad.lost_run_count([fw_id]) == death
        assert _states(launchpad)[fw_id] == "READY"
    assert offline.handle_lost_runs(launchpad, expiration_secs=600, rerun=True).fw_ids == []
    assert launchpad.lost_run_count([fw_id]) == 3  # nothing counted twice


def test_a_fizzled_lost_offline_run_is_counted_too(launchpad, queue, hold, tmp_path):
    from jobflow.managers.fireworks import flow_to_workflow

    (fw_id,) = launchpad.add_wf(flow_to_workflow(add(1, 1))).values()
    (q,) = offline.qlaunch(launchpad, queue, launch_dir=tmp_path)
    _ping(Path(q.launch_dir), 30, start=True)
    offline.recover_offline(launchpad)
    assert offline.handle_lost_runs(launchpad, expiration_secs=600).fw_ids == [fw_id]
    assert _states(launchpad)[fw_id] == "FIZZLED"
    assert launchpad.lost_run_count([fw_id]) == 1
