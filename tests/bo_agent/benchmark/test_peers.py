"""Peers on a pool with failing compositions: like for like with tavbo's strategies."""

from __future__ import annotations

import pytest

from bo_agent.benchmark.data import load_benchmark_data
from bo_agent.benchmark.peers import initial_ids, run_peer
from bo_agent.benchmark.settings import parse_strategy, strategy_label, trusted_pool
from bo_agent.benchmark.trials import _restrict
from bo_agent.decide.strategy import build_pool
from workflows.errors import ConfigError
from workflows.space.compositions import default_space


@pytest.fixture(scope="module")
def tiny(full_table):
    """16 Na compositions, 10 of which fail when evaluated (no E_b)."""
    values = load_benchmark_data(full_table).values
    pool = _restrict(
        build_pool(default_space(), "Na"), sorted(c for c in values if c[:3] == "Na-")[:16]
    )
    fails = set(pool.ids[::2]) | set(pool.ids[1:5:2])
    data = {c: values[c] for c in pool.ids if c not in fails}
    assert len(fails) == 10
    return pool, data, fails


@pytest.mark.parametrize("peer", ["physbo", "baybe"])
def test_peer_pays_an_evaluation_for_each_failure_and_never_repeats_a_composition(tiny, peer):
    pytest.importorskip(peer)
    pool, data, fails = tiny
    for seed in (0, 1):
        trace = run_peer(peer, pool, data, seed=seed, horizon=12)
        assert len(trace.ids) == 12  # failures count toward the budget of 12
        assert len(set(trace.ids)) == 12
        assert trace.ids[:5] == initial_ids(pool, data, seed, 5)  # tavbo's trial starts here too
        failed = [c for c, e in zip(trace.ids, trace.e_b, strict=True) if e is None]
        assert set(failed) == set(trace.ids) & fails
        assert len(failed) >= 6
        assert all(data[c] == e for c, e in zip(trace.ids, trace.e_b, strict=True) if e is not None)


@pytest.mark.parametrize("peer", ["physbo", "baybe"])
def test_peer_stops_when_every_composition_is_evaluated_once(tiny, peer):
    pytest.importorskip(peer)
    pool, data, _ = tiny
    trace = run_peer(peer, pool, data, seed=2, horizon=40)
    assert sorted(trace.ids) == sorted(pool.ids)
    assert trace.stop_reason == "pool exhausted"


def test_trusted_pool_is_a_named_variant_of_peers_and_of_tavbos_strategies():
    assert parse_strategy("baybe@trusted-pool") == ("baybe", "peer")
    assert trusted_pool("baybe@trusted-pool")
    assert trusted_pool("abo@trusted-pool")
    assert not trusted_pool("baybe")
    assert not trusted_pool("abo@keep")
    assert strategy_label("baybe@trusted-pool") == "BayBE (trusted-pool)"
    with pytest.raises(ConfigError, match="unknown strategy"):
        parse_strategy("baybe@keep")
