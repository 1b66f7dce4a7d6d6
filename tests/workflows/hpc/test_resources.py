"""Per-job queue resources: categories, NEB task counts, dynamic jobs, YAML round trip."""

from __future__ import annotations

import pytest
from jobflow import Flow, JobStore, Response, job
from maggma.stores import MemoryStore

from workflows.errors import ConfigError
from workflows.hpc.job_requests import apply_resources, neb_image_count
from workflows.hpc.resources import JobResources, QueueResources


@job
def relax(x):
    return x


@job
def interpolate(endpoints, num_images):
    return [endpoints[0]] * (num_images + 2)


@job
def neb(images):
    return len(images)


@job
def spawn_hops(images):
    """Creates a NEB job and a relax job at run time, like an engine that finds hops first."""
    return Response(replace=Flow([neb(images), relax(1)]))


def _named(j, name):
    j.name = name
    return j


def _mc(j):
    return j.config.manager_config


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("NEB", "neb"),
        ("vasp neb 00", "neb"),
        ("relax", "relax"),
        ("tight relax", "relax"),
        ("static", "relax"),
        ("Forcefield NEB from images", "screening"),  # force-field NEB is cheap
        ("Force field relax", "screening"),
        ("table barrier", "screening"),
        ("record barrier", "screening"),
        ("bvse barrier", "screening"),
        # the VASP engine's jobs (workflows.engines.vasp.engine), some created at run time
        ("bulk double relax", "relax"),
        ("find hops", "screening"),
        ("vasp hops", "screening"),
        ("endpoint relax hop 0 initial", "relax"),
        ("map endpoints", "screening"),
        ("neb images hop 0", "screening"),
        ("neb hop 0", "neb"),
        ("hop barrier 0", "screening"),
        ("collect barrier", "screening"),
    ],
)
def test_category_of_name(name, category):
    assert QueueResources().category_of_name(name) == category


def test_neb_tasks_are_a_multiple_of_the_image_count():
    res = QueueResources(neb=JobResources(ntasks=128), cores_per_node=64)
    for n in range(1, 12):
        qa = res.queueadapter("neb", n)
        assert qa["ntasks"] % n == 0
        assert n <= qa["ntasks"] <= 128
        assert qa["nodes"] * 64 >= qa["ntasks"]


def test_tasks_per_image_overrides_the_target():
    res = QueueResources(tasks_per_image=24, cores_per_node=48)
    qa = res.queueadapter("neb", 5)
    assert qa["ntasks"] == 120
    assert qa["nodes"] == 3


def test_pbs_keys_keep_ranks_divisible_by_images():
    torque = QueueResources(
        scheduler="pbs", dialect="torque", neb=JobResources(ntasks=128), cores_per_node=48
    )
    qa = torque.queueadapter("neb", 4)
    assert set(qa) >= {"nnodes", "ppnode", "walltime"}
    assert "ntasks" not in qa
    assert (qa["nnodes"] * qa["ppnode"]) % 4 == 0
    pro = QueueResources(scheduler="pbs", neb=JobResources(ntasks=128), cores_per_node=48)
    chunks, rest = pro.queueadapter("neb", 4)["select"].split(":", 1)
    mpiprocs = int(rest.split("mpiprocs=")[1].split(":")[0])
    assert (int(chunks) * mpiprocs) % 4 == 0


def test_pbs_refuses_slurm_only_keys_instead_of_dropping_them():
    with pytest.raises(ConfigError, match=r"relax\.extra: qos not understood by the pbs"):
        QueueResources(scheduler="pbs", relax=JobResources(extra={"qos": "long"}))
    with pytest.raises(ConfigError, match="invalid mem"):
        JobResources(mem="lots")


def test_screening_and_relax_get_fewer_tasks_than_neb():
    res = QueueResources()
    small = res.queueadapter("screening")
    relax_qa = res.queueadapter("relax")
    neb_qa = res.queueadapter("neb")
    assert small["ntasks"] < relax_qa["ntasks"] <= neb_qa["ntasks"]
    assert small["cpus_per_task"] == 4


def test_extra_keys_are_copied_and_none_values_dropped():
    res = QueueResources(relax=JobResources(queue="big", extra={"qos": "high"}))
    qa = res.queueadapter("relax")
    assert qa["queue"] == "big"
    assert qa["qos"] == "high"
    assert "mem" not in qa


def test_apply_resources_sets_category_and_queueadapter_per_job():
    r = _named(relax("s"), "relax")
    images = interpolate(["a", "b"], num_images=3)
    n = _named(neb(images.output), "NEB")
    n_static = _named(neb(["a", "b", "c", "d", "e", "f", "g"]), "NEB")  # 5 images
    flow = Flow([r, images, n, n_static])
    res = QueueResources(neb=JobResources(ntasks=64), relax=JobResources(ntasks=16))
    flow.jobs[0].update_config({"manager_config": {"_priority": 5}})
    assert apply_resources(flow, res) is flow

    assert _mc(r)["_category"] == "relax"
    assert _mc(r)["_queueadapter"]["ntasks"] == 16
    assert _mc(r)["_priority"] == 5  # other keys are kept
    assert _mc(images)["_category"] == "screening"
    assert _mc(n)["_category"] == "neb"
    assert _mc(n)["_queueadapter"]["ntasks"] % 3 == 0  # from interpolate(num_images=3)
    assert _mc(n_static)["_queueadapter"]["ntasks"] % 5 == 0
    assert _mc(n_static)["_queueadapter"]["ntasks"] == 60


def test_neb_image_count_sources():
    images = interpolate(["a", "b"], 4)
    by_uuid = {images.uuid: images}
    assert neb_image_count(neb(images.output), by_uuid) == 4  # positional num_images
    assert neb_image_count(neb(images.output)) is None  # producer unknown
    assert neb_image_count(neb(list("abcde"))) == 3
    tagged = neb(images.output)
    tagged.metadata["n_images"] = 7
    assert neb_image_count(tagged) == 7


def test_flow_to_workflow_carries_spec_keys():
    from jobflow.managers.fireworks import flow_to_workflow

    flow = Flow([_named(relax(1), "relax")])
    apply_resources(flow, QueueResources(relax=JobResources(ntasks=8, walltime="02:00:00")))
    (fw,) = flow_to_workflow(flow).fws
    assert fw.spec["_category"] == "relax"
    assert fw.spec["_queueadapter"] == {"nodes": 1, "ntasks": 8, "walltime": "02:00:00"}


def test_jobs_created_at_run_time_get_their_own_category():
    store = JobStore(MemoryStore())
    store.connect()
    spawner = spawn_hops(["a", "b", "c", "d"])  # 2 images, known only at run time
    flow = Flow([spawner])
    res = QueueResources(n_images=2, neb=JobResources(ntasks=10), relax=JobResources(ntasks=3))
    apply_resources(flow, res)
    assert _mc(spawner)["_category"] == "screening"

    response = spawner.run(store)
    new_jobs = {j.name: j for j in response.replace.jobs}
    assert _mc(new_jobs["neb"])["_category"] == "neb"  # not the parent's "screening"
    assert _mc(new_jobs["neb"])["_queueadapter"]["ntasks"] == 10
    assert _mc(new_jobs["relax"])["_category"] == "relax"
    assert _mc(new_jobs["relax"])["_queueadapter"]["ntasks"] == 3


def test_run_time_nebs_use_the_image_count_of_their_maker():
    from dataclasses import dataclass

    from jobflow import Maker

    @dataclass
    class HopsMaker(Maker):
        name: str = "hops"
        n_images: int = 3

        @job
        def make(self, x):
            return Response(replace=neb(["a"] * (self.n_images + 2)))

    spawner = HopsMaker().make(1)
    apply_resources(Flow([spawner]), QueueResources(n_images=5, neb=JobResources(ntasks=64)))
    store = JobStore(MemoryStore())
    store.connect()
    (new,) = spawner.run(store).replace.jobs
    assert _mc(new)["_category"] == "neb"
    assert _mc(new)["_queueadapter"]["ntasks"] == 63  # multiple of 3, not of the default 5


def test_round_trip_through_dict():
    res = QueueResources(scheduler="pbs", tasks_per_image=8, neb=JobResources(mem="4gb"))
    assert QueueResources.from_dict(res.to_dict()) == res


def test_from_file(tmp_path):
    path = tmp_path / "resources.yaml"
    path.write_text("scheduler: slurm\nrelax: {ntasks: 12, walltime: '03:00:00'}\n")
    res = QueueResources.from_file(path)
    assert res.relax.ntasks == 12
    assert res.queueadapter("relax")["walltime"] == "03:00:00"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scheduler": "lsf"}, "invalid scheduler='lsf'"),
        ({"n_images": 0}, "n_images"),
        ({"relax": {"ntasks": 0}}, "ntasks"),
        ({"relax": {"walltime": "2h"}}, "walltime"),
        ({"relax": {"cores": 4}}, "unknown keys"),
        ({"rules": [["gpu", ["x"]]]}, "unknown category"),
    ],
)
def test_bad_settings_raise_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        QueueResources.from_dict(kwargs)


def test_unknown_top_level_key():
    with pytest.raises(ConfigError, match="unknown resource settings"):
        QueueResources.from_dict({"cpus": 3})
