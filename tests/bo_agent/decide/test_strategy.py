"""What ``decide()`` puts in the GP from failed evaluations (``failed_value``)."""

from __future__ import annotations

import numpy as np
import pytest

from bo_agent.config import CampaignConfig
from bo_agent.decide import strategy
from bo_agent.decide.strategy import build_pool, decide
from workflows.space.compositions import default_space


@pytest.fixture(scope="module")
def na_pool():
    return build_pool(default_space(), "Na", "kind", source_carrier="Li")


@pytest.fixture
def gp_targets(monkeypatch):
    """The (row, E_b) pairs each decision trains its GP on (eV: the default identity scale)."""
    seen: list[dict[int, float]] = []
    propose = strategy.propose

    def spy(model, X, observed_idx, y, **kw):
        seen.append(dict(zip(np.asarray(observed_idx).tolist(), np.asarray(y), strict=True)))
        return propose(model, X, observed_idx, y, **kw)

    monkeypatch.setattr(strategy, "propose", spy)
    return seen


def _campaign(pool):
    ids = list(pool.ids)
    e = 0.3 + 0.4 * np.random.default_rng(0).random(len(ids))
    observations = {cid: float(e[i]) for i, cid in enumerate(ids[:20])}
    return ids, observations


def test_by_default_an_untrusted_result_enters_the_gp_at_the_worst_e_b_and_a_run_failure_does_not(
    na_pool, gp_targets
):
    ids, observations = _campaign(na_pool)
    untrusted, crashed = ids[20:26], ids[26:32]
    config = CampaignConfig(model="abo", seed=0)  # failed_value: auto, no transfer: worst
    decision = decide(
        na_pool,
        config,
        observations,
        failed=[*untrusted, *crashed],
        untrusted=untrusted,
        n=2,
        seq=20,
    )
    (targets,) = gp_targets
    worst = max(observations.values())
    assert decision.model["n_train"] == 26
    assert {na_pool.ids[r] for r in targets} == set(observations) | set(untrusted)
    assert all(targets[na_pool.rows([c])[0]] == pytest.approx(worst) for c in untrusted)
    # every failed composition, either kind, stays out of the pool
    proposed = {cid for cid, _ in decision.proposals}
    assert not proposed & ({*untrusted, *crashed} | set(observations))


def test_failed_value_none_keeps_every_failure_out_of_the_gp(na_pool, gp_targets):
    ids, observations = _campaign(na_pool)
    config = CampaignConfig(model="abo", seed=0, failed_value="none")
    decision = decide(
        na_pool, config, observations, failed=ids[20:32], untrusted=ids[20:32], n=2, seq=20
    )
    assert decision.model["n_train"] == 20
    assert {na_pool.ids[r] for r in gp_targets[0]} == set(observations)
    assert not {cid for cid, _ in decision.proposals} & set(ids[20:32])


def test_run_failures_alone_teach_the_gp_nothing(na_pool, gp_targets):
    ids, observations = _campaign(na_pool)
    decision = decide(na_pool, CampaignConfig(model="abo", seed=0), observations, failed=ids[20:32])
    assert decision.model["n_train"] == 20
    assert not {cid for cid, _ in decision.proposals} & set(ids[20:32])


@pytest.mark.parametrize(("failed_value", "imputed"), [("auto", False), ("worst", True)])
def test_with_a_transfer_source_untrusted_results_stay_out_of_the_gp_unless_worst_is_asked(
    na_pool, gp_targets, failed_value, imputed
):
    # failed_value: auto leaves them out with a source: at the worst E_b they buried the
    # source's best compositions (Li-GP aBO found the exact CHGNet Na optimum in 0.02 of 50
    # trials instead of 1.00)
    ids, observations = _campaign(na_pool)
    source = {cid: 0.3 + 0.01 * i for i, cid in enumerate(na_pool.source_ids)}
    config = CampaignConfig(
        model="abo", transfer="gp", source_campaign="li", seed=0, failed_value=failed_value
    )
    untrusted = ids[20:26]
    decision = decide(
        na_pool,
        config,
        observations,
        failed=untrusted,
        untrusted=untrusted,
        n=1,
        seq=20,
        source_observations=source,
    )
    trained = {na_pool.ids[r] for r in gp_targets[0]}
    assert trained == set(observations) | (set(untrusted) if imputed else set())
    assert not {cid for cid, _ in decision.proposals} & set(untrusted)


@pytest.mark.parametrize(
    ("design", "expected"), [("results", "initial-random"), ("evaluations", "abo")]
)
def test_initial_design_says_whether_an_untrusted_result_counts_toward_n_initial(
    na_pool, design, expected
):
    ids = list(na_pool.ids)
    observations = {ids[0]: 0.4, ids[1]: 0.6, ids[2]: 0.5}  # 3 results, 2 untrusted, 1 crash
    config = CampaignConfig(model="abo", seed=0, n_initial=5, initial_design=design)
    decision = decide(
        na_pool, config, observations, failed=ids[3:6], untrusted=ids[3:5], n=1, seq=6
    )
    assert decision.strategy == expected
    # a run failure never counts; nor does a GP start from fewer than 2 results
    crashed = decide(na_pool, config, observations, failed=ids[3:6], untrusted=ids[3:4], seq=6)
    assert crashed.strategy == "initial-random"
    one = decide(na_pool, config, {ids[0]: 0.4}, failed=ids[3:8], untrusted=ids[3:8], seq=6)
    assert one.strategy == "initial-random"


def test_failed_value_classify_keeps_failures_out_of_the_gp_and_weights_their_kind_down(
    na_pool, monkeypatch
):
    # Failures in W oxides say "the engine fails here", not "the barrier is high": they stay out
    # of the regression GP, and a classifier lowers the acquisition of the untried W oxides.
    seen: list[dict] = []
    propose = strategy.propose

    def spy(model, X, observed_idx, y, **kw):
        seen.append({"rows": np.asarray(observed_idx).tolist(), **kw})
        return propose(model, X, observed_idx, y, **kw)

    monkeypatch.setattr(strategy, "propose", spy)
    ids = list(na_pool.ids)
    w_oxides = [c for c in ids if c.endswith("-W-O")]
    others = [c for c in ids if not c.endswith("-W-O")]
    e = 0.3 + 0.4 * np.random.default_rng(0).random(len(others))
    observations = {c: float(e[i]) for i, c in enumerate(others[:20])}
    failed = w_oxides[:6]
    config = CampaignConfig(model="abo", seed=0, failed_value="classify")
    decision = decide(na_pool, config, observations, failed=failed, untrusted=failed, n=1, seq=20)
    assert decision.model["n_train"] == 20
    p = np.asarray(seen[0]["feasibility"])
    untried_w = np.mean(p[na_pool.rows(w_oxides[6:])])
    untried_other = np.mean(p[na_pool.rows(others[20:])])
    assert untried_w < 0.5 < untried_other
    assert decision.proposals[0][0] not in w_oxides
    # the audit record says by how much each pick's EI was weighted
    pick = decision.proposals[0][0]
    assert decision.model["p_trusted"][pick] == pytest.approx(p[na_pool.rows([pick])[0]], abs=1e-4)


def test_failed_value_classify_refuses_an_acquisition_it_cannot_weight():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="classify"):
        CampaignConfig(failed_value="classify", acquisition="lcb")
