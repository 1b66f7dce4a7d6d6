"""PBS job scripts of both dialects really submitted with ``qsub`` (Slurm's PBS wrappers).

A table-engine workflow (two Fireworks, one job each) goes through ``qsub`` with the queue
adapter ``tavbo init-config --scheduler pbs`` writes, in the PBS Pro (``select=``) and the Torque
(``nodes=N:ppn=P``, ``mem`` of the whole job) dialect. Slurm's ``sbatch`` reads the scripts'
``#PBS`` lines, so ``scontrol show job`` must show the cores, memory and walltime each dialect
asked for, and each job must export ``OMP_NUM_THREADS`` as its threads per task.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slurm


def _scontrol(job_id: str) -> dict[str, str]:
    out = subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True
    ).stdout
    return dict(re.findall(r"(\w+)=(\S+)", out))


def _wait_gone(job_ids: list[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout
        if not set(job_ids) & set(out.split()):
            return
        assert time.monotonic() < deadline, f"jobs {job_ids} still queued after {timeout} s"
        time.sleep(0.5)


@pytest.mark.parametrize("dialect", ["pbspro", "torque"])
def test_a_table_workflow_through_qsub(launchpad, barrier_table, slurm, tmp_path, dialect):
    from jobflow.managers.fireworks import flow_to_workflow

    from workflows.engines.table import TableBarrierMaker
    from workflows.flows.submit import build_flow, workflow_metadata
    from workflows.hpc.config import write_config
    from workflows.hpc.job_requests import apply_resources
    from workflows.hpc.offline import qlaunch, recover_offline
    from workflows.hpc.queue_adapter import TavboQueueAdapter
    from workflows.hpc.resources import JobResources, QueueResources
    from workflows.results.documents import get_barrier
    from workflows.results.ingest import ingest_completed
    from workflows.space.compositions import default_space

    cores = min(2, os.cpu_count() or 1)
    cfg = tmp_path / "cfg"
    write_config("pbs", cfg, dialect=dialect)
    qa = TavboQueueAdapter.from_file(str(cfg / "my_qadapter.yaml"))
    assert qa.q_type == "PBS"
    resources = QueueResources(
        scheduler="pbs",
        dialect=dialect,
        cores_per_node=cores,
        screening=JobResources(ntasks=1, cpus_per_task=cores, walltime="00:05:00", mem="300M"),
    )
    cand = default_space().get("Na-Ga-P-F")
    flow = build_flow(cand, maker=TableBarrierMaker(table=str(barrier_table)), campaign="pbs")
    apply_resources(flow, resources)
    launchpad.add_wf(flow_to_workflow(flow, metadata=workflow_metadata(cand, "table", "pbs")))

    jobs = []
    for _ in range(4):  # two Fireworks, one after the other
        new = qlaunch(launchpad, qa, store=launchpad.job_store, launch_dir=tmp_path / "runs")
        if not new:
            break
        _wait_gone([q.reservation_id for q in new])
        assert recover_offline(launchpad, launchpad.job_store).completed == [new[0].fw_id]
        jobs += new
    assert len(jobs) == 2
    assert ingest_completed(launchpad, campaign="pbs").ingested == ["pbs/Na-Ga-P-F/table"]
    assert get_barrier("pbs", "Na-Ga-P-F", "table").e_b == pytest.approx(0.42, abs=0.01)

    for q in jobs:
        script = (Path(q.launch_dir) / "FW_submit.script").read_text().splitlines()
        if dialect == "pbspro":
            assert f"#PBS -l select=1:ncpus={cores}:mpiprocs=1:ompthreads={cores}:mem=300mb" in (
                script
            )
            assert not any(ln.startswith("#PBS -l nodes=") for ln in script)
        else:
            assert f"#PBS -l nodes=1:ppn={cores}" in script
            assert "#PBS -l mem=300mb" in script
            assert not any(ln.startswith("#PBS -l select=") for ln in script)
        assert f"export OMP_NUM_THREADS={cores}" in script
        info = _scontrol(q.reservation_id)  # what the scheduler made of the #PBS lines
        assert info["JobState"] == "COMPLETED"
        assert info["NumCPUs"] == str(cores)
        assert info["MinMemoryNode"] == "300M"
        assert info["TimeLimit"] == "00:05:00"
