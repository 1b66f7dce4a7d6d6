"""``hyperprior: average`` and ``alternate``: a decision hedges between the Gamma-prior and the
maximum-likelihood fits instead of choosing one by a score."""

from __future__ import annotations

import numpy as np
import pytest

from bo_agent.config import CampaignConfig
from bo_agent.decide.acquisition import AcquisitionContext, get_acquisition
from bo_agent.decide.proposals import propose
from bo_agent.decide.selection import model_for
from bo_agent.decide.strategy import build_pool, decide
from bo_agent.gp.mixture import ModelAverage
from workflows.space.compositions import default_space


@pytest.fixture(scope="module")
def na_pool():
    return build_pool(default_space(), "Na", "kind")


def _landscape(pool):
    x = pool.X
    return 0.5 + 0.1 * np.sin(1.3 * x[:, 8]) + 0.06 * x[:, 19] + 0.04 * np.cos(x[:, 27])


def _fits(pool, rows, y):
    cfg = CampaignConfig()
    return [
        model_for("abo", "none", cfg, pool.groups, 2, hyperprior=p).fit(pool.X[rows], y)
        for p in ("gamma", "none")
    ]


def test_average_scores_each_candidate_by_the_mean_of_the_members_ei(na_pool):
    e = _landscape(na_pool)
    rows = np.random.default_rng(5).choice(len(e), 8, replace=False)
    members = _fits(na_pool, rows, e[rows])
    average = ModelAverage(members, ["gamma", "none"])
    (pick,) = propose(average, na_pool.X, rows, e[rows], refit=False, random_state=0)
    ei = get_acquisition("ei")
    context = AcquisitionContext(best_f=float(e[rows].min()))
    by_hand = np.mean([ei(*m.predict(na_pool.X, return_std=True), context) for m in members], 0)
    by_hand[rows] = -np.inf
    assert pick.index == int(np.argmax(by_hand))
    assert pick.value == pytest.approx(by_hand.max(), rel=1e-6)
    # not the EI of the mixture's moments: one fit's promise keeps half its score
    mean, std = average.predict(na_pool.X, return_std=True)
    assert pick.value != pytest.approx(float(ei(mean, std, context)[pick.index]), rel=1e-3)


def test_an_average_batch_conditions_every_member_on_each_pick(na_pool):
    e = _landscape(na_pool)
    rows = np.arange(0, 80, 8)
    average = ModelAverage(_fits(na_pool, rows, e[rows]), ["gamma", "none"])
    post = average.pool_posterior(na_pool.X)
    before = [m.std.copy() for m in post.members]
    post.condition(3)
    for m, was in zip(post.members, before, strict=True):
        assert m.std[3] < 0.5 * was[3]
    batch = propose(average, na_pool.X, rows, e[rows], refit=False, q=3, random_state=0)
    assert len({p.index for p in batch}) == 3


def test_an_average_decision_records_both_fits(na_pool):
    e = _landscape(na_pool)
    obs = {na_pool.ids[i]: float(e[i]) for i in range(0, 60, 6)}
    d = decide(na_pool, CampaignConfig(seed=3, hyperprior="average"), obs, seq=10)
    assert d.strategy == "abo/average"
    assert set(d.model["average"]) == {"gamma", "none"}
    assert d.model["average"]["gamma"] != d.model["average"]["none"]


def test_alternate_takes_the_gamma_priors_and_maximum_likelihood_in_turn(na_pool):
    e = _landscape(na_pool)
    cfg = CampaignConfig(seed=3, hyperprior="alternate")
    labels = []
    for n in (10, 11, 12):
        obs = {na_pool.ids[i]: float(e[i]) for i in range(0, 6 * n, 6)}
        d = decide(na_pool, cfg, obs, seq=n)
        labels.append(d.strategy)
        alone = decide(na_pool, CampaignConfig(seed=3, hyperprior=d.strategy[4:]), obs, seq=n)
        assert d.proposals == alone.proposals
    assert labels == ["abo/gamma", "abo/none", "abo/gamma"]
