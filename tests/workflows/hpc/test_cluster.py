"""Reading the cluster, fitting resources.yaml to it, refusing requests no node can run."""

from __future__ import annotations

import pytest

from workflows.errors import ConfigError
from workflows.hpc.cluster import (
    ClusterInfo,
    Partition,
    check_fits,
    fit_resources,
    parse_pbsnodes,
    parse_qstat_queues,
    parse_sinfo,
)
from workflows.hpc.queue_status import QueueJob, never_clears, parse_qstat_full, parse_squeue
from workflows.hpc.resources import JobResources, QueueResources

SINFO = """\
debug*|up|1|2|22899|infinite
cpu|up|40|128|256000|2-00:00:00
cpu|up|4|192|512000|2-00:00:00
old|down|10|16|64000|1:00:00
"""

PBSNODES_PRO = """\
n001
     Mom = n001.cluster
     state = free
     resources_available.ncpus = 128
     resources_available.mem = 263596048kb

n002
     Mom = n002.cluster
     state = job-busy
     resources_available.ncpus = 128
     resources_available.mem = 263596048kb
"""

QSTAT_F = """\
Job Id: 4021.pbs01
    Job_Name = neb_hop_0
    Job_Owner = alice@login1
    job_state = Q
    queue = workq
    comment = Not Running: Job would conflict with reservation or top job; Can Never Run

Job Id: 4022.pbs01
    Job_Name = relax
    Job_Owner = alice@login1
    job_state = Q
    comment = Not Running: Insufficient amount of resource: ncpus

Job Id: 4023.pbs01
    Job_Owner = alice@login1
    job_state = F

Job Id: 4024.pbs01
    Job_Owner = bob@login1
    job_state = Q
"""


def test_sinfo_partitions_with_their_node_sizes_and_limits():
    parts = {p.name: p for p in parse_sinfo(SINFO)}
    assert set(parts) == {"debug", "cpu"}  # a partition that is down is no use
    assert parts["debug"].default
    assert not parts["cpu"].default
    assert parts["cpu"].groups == ((40, 128, 256000), (4, 192, 512000))
    assert (parts["cpu"].max_cores, parts["cpu"].nodes) == (192, 44)
    assert parts["cpu"].max_walltime == 2 * 86400
    assert parts["debug"].max_walltime is None


def test_pbsnodes_and_qstat_queues():
    assert parse_pbsnodes(PBSNODES_PRO) == ((2, 128, 257419),)
    torque = "vm\n    state = free\n    np = 2\n    status = ncpus=2,availmem=22899mb,opsys=linux\n"
    assert parse_pbsnodes(torque) == ((1, 2, 22899),)
    qstat_q = "Queue  Max Tot\n-----  --- ---\ndebug    ?   ? \nlong     ?   ?\n"
    assert parse_qstat_queues(qstat_q) == ["debug", "long"]


def test_fitted_resources_fit_a_two_core_node():
    info = ClusterInfo("slurm", parse_sinfo(SINFO))
    res = fit_resources(info)
    assert res.cores_per_node == 2
    assert res.relax.ntasks == 2
    assert res.screening.cpus_per_task == 1
    check_fits(res, info, ["screening", "relax"])  # the categories of one node both fit


def test_fitted_resources_use_the_big_partition_and_its_walltime():
    info = ClusterInfo("slurm", parse_sinfo(SINFO))
    res = fit_resources(info, "cpu")
    assert res.cores_per_node == 192
    assert (res.relax.ntasks, res.neb.ntasks, res.screening.cpus_per_task) == (64, 128, 4)
    assert res.neb.walltime == "24:00:00"
    assert res.relax.walltime == "12:00:00"
    check_fits(res, info, ["relax", "neb", "screening"], default_queue="cpu")
    short = ClusterInfo("slurm", (Partition("short", True, ((2, 32, None),), 3600),))
    assert fit_resources(short).neb.walltime == "0-01:00:00"


@pytest.mark.parametrize(
    ("resources", "field"),
    [
        (QueueResources(screening=JobResources(cpus_per_task=4)), "screening.cpus_per_task=4"),
        (QueueResources(cores_per_node=2, screening=JobResources(ntasks=4)), "screening.nodes"),
        (QueueResources(screening=JobResources(ntasks=3)), "screening.ntasks=3"),
        (QueueResources(screening=JobResources(mem="64G")), "screening.mem=64G"),
        (QueueResources(screening=JobResources(queue="nosuch")), "screening.queue"),
    ],
)
def test_a_request_no_node_can_satisfy_is_refused_naming_the_field(resources, field):
    info = ClusterInfo("slurm", parse_sinfo(SINFO))
    with pytest.raises(ConfigError, match="resources.yaml: " + field.replace(".", r"\.")) as exc:
        check_fits(resources, info, ["screening"])
    assert "\n" not in str(exc.value)


def test_walltime_beyond_the_partition_limit_is_refused():
    info = ClusterInfo("slurm", parse_sinfo(SINFO))
    res = QueueResources(cores_per_node=128, neb=JobResources(ntasks=128, walltime="3-00:00:00"))
    with pytest.raises(ConfigError, match=r"neb\.walltime=3-00:00:00 exceeds"):
        check_fits(res, info, ["neb"], default_queue="cpu")


def test_pending_reasons_that_never_clear():
    jobs = parse_squeue("41|PENDING|PartitionConfig\n42|PENDING|Priority\n43|RUNNING|None\n")
    assert never_clears(jobs["41"]) == "PartitionConfig"
    assert never_clears(jobs["42"]) is None
    assert never_clears(jobs["43"]) is None
    assert never_clears(QueueJob("1", True, "AssocMaxCpuPerJobLimit")) is not None
    assert never_clears(QueueJob("1", True, "AssocGrpCpuLimit")) is None  # clears as jobs end
    assert never_clears(QueueJob("1", True, "ReqNodeNotAvail, UnavailableNodes:n[1-4]"))


def test_pbs_qstat_full_reasons_and_owners():
    jobs = parse_qstat_full(QSTAT_F, user="alice")
    assert set(jobs) == {"4021", "4022"}  # finished and other users' jobs left out
    assert "Can Never Run" in never_clears(jobs["4021"])
    assert never_clears(jobs["4022"]) is None
