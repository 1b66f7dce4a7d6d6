"""A committee of two potentials: both evaluate, a disagreement beyond the margin is flagged."""

from __future__ import annotations

import json

import pytest

from workflows.engines import get_maker
from workflows.engines.committee import committee_barrier
from workflows.errors import ConfigError
from workflows.physics.schemas import BarrierResult
from workflows.space.compositions import default_space
from workflows.structures.tavorite import make_structure

LI = "Li-Ga-P-F"


def _result(engine: str, e_b: float) -> BarrierResult:
    return BarrierResult(
        candidate_id=LI, engine=engine, fidelity="mlp-neb", e_b=e_b, reference="network",
        extra={"potential": "7net-mf-0:PBE" if engine == "sevennet" else "chgnet"},
    )  # fmt: skip


def test_a_committee_runs_both_potentials_with_the_same_settings():
    maker = get_maker("chgnet", committee="sevennet", n_images=3)
    flow = maker.make(make_structure(default_space().get(LI)), LI)
    names = [job.name for job in flow.jobs]
    assert names == [f"chgnet barrier {LI}", f"sevennet barrier {LI}", "committee barrier"]
    second = flow.jobs[1]
    assert second.jobs[0].function_kwargs["potential"] == "7net-mf-0:PBE"
    assert second.jobs[2].function_kwargs["neb_kwargs"]["n_images"] == 3


def test_a_committee_needs_another_potential():
    with pytest.raises(ConfigError, match="needs another potential engine"):
        get_maker("chgnet", committee="chgnet")
    with pytest.raises(ConfigError, match="needs another potential engine"):
        get_maker("sevennet", committee="bvse")


def test_a_disagreement_beyond_the_margin_is_flagged_and_listed_by_barriers(tmp_path):
    from workflows.results.reference_data import read_barrier_summaries

    close = committee_barrier.original(_result("chgnet", 0.30), _result("sevennet", 0.40), 0.2)
    far = committee_barrier.original(_result("chgnet", 0.30), _result("sevennet", 0.65), 0.2)
    assert close.e_b == far.e_b == 0.30  # the GP sees the primary engine's E_b
    assert close.extra["committee"]["disagree"] is False
    record = far.extra["committee"]
    assert record["disagree"] is True
    assert record["difference"] == pytest.approx(0.35)
    assert record["e_b"] == {"chgnet": 0.30, "sevennet": 0.65}
    path = tmp_path / "committee.json"
    rows = [{**r.model_dump(mode="json"), "candidate_id": cid}
            for cid, r in (("Li-Ga-P-F", far), ("Li-Al-P-F", close))]  # fmt: skip
    path.write_text(json.dumps(rows))
    flags = {r["id"]: r["flags"] for r in read_barrier_summaries(path)[0]}
    assert flags == {"Li-Ga-P-F": "committee", "Li-Al-P-F": ""}
