"""BarrierDocument: one per (campaign, candidate_id, engine), idempotent upsert, queries."""

from __future__ import annotations

import pytest

from workflows.errors import ConfigError
from workflows.physics.schemas import BarrierResult, HopBarrier
from workflows.results.barrier_filter import BarrierFilter


def _result(cid: str = "Na-Ga-P-F", e_b: float = 0.42, engine: str = "table") -> BarrierResult:
    hops = [
        HopBarrier(
            hop_index=0,
            length=3.1,
            isite=0,
            esite=1,
            to_jimage=(0, 0, 1),
            energies=[0.0, 0.2, e_b, 0.2, 0.0],
            barrier=e_b,
            barrier_from_min=e_b,
        ),
        HopBarrier(
            hop_index=1,
            length=3.9,
            isite=0,
            esite=1,
            to_jimage=(1, 0, 0),
            barrier=e_b + 0.5,
            barrier_from_min=e_b + 0.4,
        ),
    ]
    return BarrierResult(
        candidate_id=cid,
        engine=engine,
        fidelity="table",
        e_b=e_b,
        e_b_from_min=e_b,
        percolation_dimension=1,
        percolating_hops=[0],
        hops=hops,
        structure={"lattice": {"a": 5.0}},
        settings={"table": "t.csv"},
        versions={"tavbo": "0.1.0"},
        wall_time=1.5,
    )


def test_upsert_round_trips_the_result(launchpad):
    from workflows.results.documents import upsert_barrier

    result = _result()
    doc = upsert_barrier(result, campaign="c", decision=7, fw_ids=[3, 1, 2])
    assert doc.to_result() == result
    assert (doc.carrier, doc.m, doc.x, doc.z) == ("Na", "Ga", "P", "F")
    assert doc.provenance.fw_ids == [1, 2, 3]
    assert doc.decision == 7
    assert doc.hops[0].energies == pytest.approx([0.0, 0.2, 0.42, 0.2, 0.0])


def test_upsert_is_idempotent_and_keeps_created(launchpad):
    from workflows.results.documents import BarrierDocument, upsert_barrier

    first = upsert_barrier(_result(e_b=0.5), campaign="c")
    second = upsert_barrier(_result(e_b=0.4), campaign="c")
    assert BarrierDocument.objects(campaign="c").count() == 1
    assert second.id == first.id
    assert second.created == first.created
    assert second.e_b == pytest.approx(0.4)


def test_campaign_and_engine_make_separate_documents(launchpad):
    from mongoengine.errors import NotUniqueError

    from workflows.results.documents import BarrierDocument, upsert_barrier

    upsert_barrier(_result(), campaign="a")
    upsert_barrier(_result(), campaign="b")
    upsert_barrier(_result(engine="bvse"), campaign="a")
    assert BarrierDocument.objects.count() == 3
    with pytest.raises(NotUniqueError):
        BarrierDocument(campaign="a", candidate_id="Na-Ga-P-F", engine="table", e_b=1.0).save()


@pytest.fixture
def some_results(launchpad):
    from workflows.results.documents import upsert_barrier

    for cid, e_b, campaign in [
        ("Na-Ga-P-F", 0.42, "a"),
        ("Li-Mg-S-F", 0.30, "a"),
        ("Li-Al-P-F", 0.61, "a"),
        ("Li-Al-P-F", 0.55, "b"),
    ]:
        upsert_barrier(_result(cid, e_b), campaign=campaign, checkpoint=False)
    return launchpad


def test_find_filters_by_site_campaign_and_range(some_results):
    from workflows.results.documents import find_barriers

    def ids(**kw):
        return [(d.candidate_id, d.campaign) for d in find_barriers(BarrierFilter(**kw))]

    assert ids(carrier="Li", campaign="a") == [("Li-Mg-S-F", "a"), ("Li-Al-P-F", "a")]
    assert ids(m="Al") == [("Li-Al-P-F", "b"), ("Li-Al-P-F", "a")]
    assert ids(x="S") == [("Li-Mg-S-F", "a")]
    assert ids(z="F", e_min=0.4, e_max=0.6) == [("Na-Ga-P-F", "a"), ("Li-Al-P-F", "b")]
    assert ids(engine="vasp") == []


def test_find_sorts_and_limits(some_results):
    from workflows.results.documents import find_barriers

    e_b = [d.e_b for d in find_barriers(BarrierFilter(sort="e_b", descending=True))]
    assert e_b == sorted(e_b, reverse=True)
    by_id = [d.candidate_id for d in find_barriers(BarrierFilter(sort="id", limit=2))]
    assert by_id == ["Li-Al-P-F", "Li-Al-P-F"]


def test_find_rejects_unknown_sort(some_results):
    from workflows.results.documents import find_barriers

    with pytest.raises(ConfigError, match="valid options are"):
        find_barriers(BarrierFilter(sort="volume"))


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"carrier": "Li"},
        {"sort": "id", "descending": True},
        {"sort": "e_b", "descending": True, "limit": 3},
        {"z": "F", "e_min": 0.4, "e_max": 0.6},
    ],
)
def test_data_set_rows_are_filtered_and_ordered_like_the_database(some_results, kw):
    """``tavbo barriers --data`` (summary rows) and the database query give the same rows in the
    same order, ties (one composition in two campaigns) included."""
    from workflows.results.documents import find_barriers
    from workflows.results.reference_data import select_summaries

    docs = find_barriers(BarrierFilter(**kw))
    rows = [d.summary() for d in find_barriers()]
    key = [(r["id"], r["campaign"]) for r in select_summaries(rows, BarrierFilter(**kw))]
    assert key == [(d.candidate_id, d.campaign) for d in docs]
    assert docs


def test_an_empty_e_b_range_is_refused():
    with pytest.raises(ConfigError, match="above --max"):
        BarrierFilter(e_min=1.0, e_max=0.5)
