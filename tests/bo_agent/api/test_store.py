"""bo_agent.api.store.Store over the test LaunchPad: barriers as DataFrame and BarrierResult,
one composition's hops and path, credentials masked; nothing is closed that it did not open."""

from __future__ import annotations

import pytest

from bo_agent.api.store import Store, scrub
from workflows.physics.schemas import BarrierResult, HopBarrier
from workflows.results.documents import upsert_barrier


def _result(cid: str, e_b: float, converged: bool = True) -> BarrierResult:
    hops = [
        HopBarrier(hop_index=0, length=3.1, isite=0, esite=1, to_jimage=(0, 0, 0),
                   energies=[0.0, 0.2, e_b, 0.2, 0.0], barrier=e_b, barrier_from_min=e_b),
        HopBarrier(hop_index=1, length=3.6, isite=0, esite=2, to_jimage=(0, 1, 0),
                   energies=[0.0, 0.5, 0.9, 0.5, 0.0], barrier=0.9, barrier_from_min=0.9,
                   converged=converged),
    ]  # fmt: skip
    return BarrierResult(
        candidate_id=cid, engine="chgnet", fidelity="mlp-neb", e_b=e_b, e_b_from_min=e_b,
        reference="path_minimum", percolation_dimension=1, percolating_hops=[0], hops=hops,
        wall_time=12.5, versions={"chgnet": "0.4.2"},
    )  # fmt: skip


def test_barriers_come_back_as_a_frame_and_as_results_with_hops(launchpad):
    upsert_barrier(_result("Na-Ga-P-F", 0.42), campaign="c1", fw_ids=[3, 4])
    upsert_barrier(_result("Na-Al-P-F", 0.31, converged=False), campaign="c1", fw_ids=[5])
    upsert_barrier(_result("Li-Al-P-F", 0.25), campaign="c2")
    with Store.open() as store:
        df = store.barriers(carrier="Na")
        assert list(df["id"]) == ["Na-Al-P-F", "Na-Ga-P-F"]
        assert list(df["converged"]) == [False, True]
        assert df.iloc[1]["fw_ids"] == [3, 4]
        assert list(store.barriers(e_max=0.3)["id"]) == ["Li-Al-P-F"]
        results = store.barrier_results(campaign="c1", sort="id")
        assert [r.candidate_id for r in results] == ["Na-Al-P-F", "Na-Ga-P-F"]
        assert results[1].hops[0].energies == [0.0, 0.2, 0.42, 0.2, 0.0]
        record = store.composition("c1", "Na-Al-P-F", "chgnet")
        assert record["reference"] == "path_minimum"
        assert record["unconverged_hops"] == [1]
        assert [h["percolating"] for h in record["hops"]] == [True, False]
        assert record["provenance"]["fw_ids"] == [5]
        assert store.mode == "embedded"
    assert not launchpad.closed  # the Store used the open LaunchPad and left it open


def test_an_unknown_composition_or_campaign_is_a_one_line_error(launchpad):
    from workflows.errors import ConfigError

    with Store.open() as store:
        with pytest.raises(ConfigError, match="no result for Na-Xx-P-F"):
            store.composition("c1", "Na-Xx-P-F", "chgnet")
        with pytest.raises(ConfigError, match="no campaign 'nope'"):
            store.summary("nope")


def test_connection_strings_lose_their_credentials():
    text = "cannot reach mongodb+srv://alice:pa55@cluster0.example.net/db (timeout)"
    assert scrub(text) == "cannot reach mongodb+srv://***@cluster0.example.net/db (timeout)"
    assert scrub("mongodb://host:27017/db") == "mongodb://host:27017/db"
