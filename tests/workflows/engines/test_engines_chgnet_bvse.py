"""The CHGNet and BVSE engines as jobflow flows, run in-process with ``run_locally``."""

from __future__ import annotations

import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore

from workflows.engines import get_maker
from workflows.engines.base import BarrierMaker
from workflows.engines.bvse import BvseBarrierMaker
from workflows.engines.chgnet import ChgnetBarrierMaker
from workflows.engines.jobs import (
    COLLECT_NAME,
    ENDPOINTS_NAME,
    HOPS_NAME,
    NEBS_NAME,
    RELAX_NAME,
    neb_job_name,
)
from workflows.physics.schemas import BarrierResult
from workflows.space.compositions import default_space
from workflows.structures.tavorite import make_structure

#: One pytest-xdist worker runs this module, so its CHGNet run (a module fixture) is made once.
pytestmark = pytest.mark.xdist_group("chgnet-flow")

LI = "Li-Ga-P-F"
#: Reduced CHGNet settings: the production supercell (80 atoms) but 3 images and looser forces.
QUICK = {
    "relax_fmax": 0.1,
    "endpoint_fmax": 0.1,
    "n_images": 3,
    "fmax": 0.1,
    "max_steps": 150,
}


def _run(flow, store: JobStore | None = None) -> tuple[BarrierResult, list[str]]:
    store = store or JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    run_locally(flow, store=store, ensure_success=True, log=False)
    docs = list(store.query({}, properties=["name", "output"]))
    (collected,) = [d for d in docs if d["name"] in (COLLECT_NAME, "bvse barrier")]
    return BarrierResult.model_validate(collected["output"]), [d["name"] for d in docs]


def test_registry_gives_engine_makers():
    chgnet = get_maker("chgnet", n_images=3)
    bvse = get_maker("bvse", resolution=0.3)
    assert isinstance(chgnet, ChgnetBarrierMaker)
    assert chgnet.n_images == 3
    assert isinstance(bvse, BvseBarrierMaker)
    assert isinstance(chgnet, BarrierMaker)
    assert isinstance(bvse, BarrierMaker)
    assert (chgnet.engine, bvse.engine) == ("chgnet", "bvse")


def test_chgnet_flow_shape_and_names():
    flow = ChgnetBarrierMaker().make(make_structure(default_space().get(LI)), LI)
    assert flow.name == f"chgnet barrier {LI}"
    assert [job.name for job in flow.jobs] == [RELAX_NAME, HOPS_NAME, NEBS_NAME]


def test_bvse_flow_shape_and_names():
    flow = BvseBarrierMaker().make(make_structure(default_space().get(LI)), LI)
    assert [job.name for job in flow.jobs] == [RELAX_NAME, "bvse barrier"]
    assert [
        job.name
        for job in BvseBarrierMaker(relax=False)
        .make(make_structure(default_space().get(LI)), LI)
        .jobs
    ] == ["bvse barrier"]


@pytest.fixture(scope="module")
def chgnet_store() -> JobStore:
    """The JobStore of the CHGNet run: documents, and large objects in ``data`` (as GridFS)."""
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


@pytest.fixture(scope="module")
def chgnet_result(chgnet_store) -> tuple[BarrierResult, list[str]]:
    maker = ChgnetBarrierMaker(**QUICK)
    return _run(maker.make(make_structure(default_space().get(LI)), LI), chgnet_store)


@pytest.mark.slow
def test_a_real_chgnet_result_keeps_its_structures_out_of_the_job_documents(
    chgnet_result, chgnet_store, record_property
):
    """MongoDB refuses documents over 16 MB; NEB supercells go to the ``data`` store."""
    import bson

    docs = list(chgnet_store.docs_store.query({}))
    sizes = {d["name"]: len(bson.encode({k: v for k, v in d.items() if k != "_id"})) for d in docs}
    blobs = list(chgnet_store.additional_stores["data"].query({}))
    blob_bytes = sum(len(bson.encode({"data": b["data"]})) for b in blobs)
    record_property("largest_job_document_bytes", max(sizes.values()))
    record_property("data_store_bytes", blob_bytes)
    assert max(sizes.values()) < 1_000_000  # far below 16 MB, whatever the supercell
    assert blobs
    assert {b["data"]["@class"] for b in blobs} == {"Structure"}
    assert blob_bytes > max(sizes.values())  # the bulk of a NEB result is its structures


@pytest.mark.slow
def test_chgnet_flow_gives_a_complete_barrier_result(chgnet_result):
    result, names = chgnet_result
    assert result.candidate_id == LI
    assert (result.engine, result.fidelity, result.reference) == ("chgnet", "mlp-neb", "network")
    assert len(result.hops) == 3
    for hop in result.hops:
        assert len(hop.energies) == QUICK["n_images"] + 2
        assert hop.energies[0] == 0.0
        assert hop.barrier_from_min >= hop.barrier >= 0.0
        assert hop.n_steps is not None
    barriers = sorted(h.barrier_from_min for h in result.hops)
    # tavorite: one hop type only links pairs, so E_b is the second-lowest barrier; no path
    # dips here, so the network's lowest point is the vacancy endpoint of every hop
    assert result.e_b == pytest.approx(barriers[1], abs=1e-9)
    assert result.e_b_from_min == pytest.approx(result.e_b)
    assert all(h.repairs == [] and h.e_initial == pytest.approx(0.0) for h in result.hops)
    assert result.extra["framework_failures"] == []
    endpoint = sorted(h.barrier for h in result.hops)[1]
    assert result.extra["e_b_endpoint"] == pytest.approx(endpoint, abs=1e-9)
    assert endpoint <= result.e_b + 1e-9
    assert result.percolation_dimension == 1
    assert len(result.percolating_hops) == 2
    assert 0.0 < result.e_b < 1.5
    assert result.structure is not None
    assert result.volume == pytest.approx(result.structure["lattice"]["volume"], rel=1e-6)
    assert {"tavbo", "chgnet", "pymatgen", "torch"} <= set(result.versions)
    assert result.settings["n_images"] == QUICK["n_images"]
    assert result.wall_time is not None
    assert result.wall_time > 0
    assert result.extra["n_endpoints_relaxed"] == 1
    assert result.extra["percolation_thresholds"]["E_2D"] >= result.e_b
    expected = {RELAX_NAME, HOPS_NAME, NEBS_NAME, ENDPOINTS_NAME, COLLECT_NAME}
    expected |= {neb_job_name(i) for i in range(3)}
    assert expected <= set(names)


@pytest.mark.slow
def test_bvse_engine_on_the_relaxed_cell(chgnet_result):
    from pymatgen.core import Structure

    relaxed = Structure.from_dict(chgnet_result[0].structure)
    result, _ = _run(BvseBarrierMaker(relax=False).make(relaxed, LI))
    assert (result.engine, result.fidelity, result.reference) == (
        "bvse",
        "bvse-rough",
        "path_minimum",
    )
    assert result.e_b > 0
    assert result.e_b == result.e_b_from_min == result.extra["E_1D"]
    assert result.extra["E_2D"] is None or result.extra["E_2D"] >= result.e_b
    assert "bvlain" in result.versions
    assert result.wall_time is not None
