"""The hyperprior rules over the Gamma priors and maximum likelihood: ``loo`` and ``cv`` keep the
fit that predicts the campaign's results better out of sample; ``average`` and ``alternate``
hedge between the two instead of choosing one by a score."""

from __future__ import annotations

import numpy as np
import pytest

from bo_agent.config import CampaignConfig
from bo_agent.decide.acquisition import AcquisitionContext, get_acquisition
from bo_agent.decide.proposals import propose
from bo_agent.decide.selection import fit_by_hyperprior, model_for, select_model
from bo_agent.decide.strategy import build_pool, decide
from bo_agent.gp.evidence import cv_log_density, loo_log_density
from bo_agent.gp.mixture import ModelAverage
from bo_agent.gp.models import GPModel
from workflows.space.compositions import default_space


@pytest.fixture(scope="module")
def na_pool():
    return build_pool(default_space(), "Na", "kind")


def _landscape(pool):
    x = pool.X
    return 0.5 + 0.1 * np.sin(1.3 * x[:, 8]) + 0.06 * x[:, 19] + 0.04 * np.cos(x[:, 27])


def test_loo_keeps_the_fit_with_the_higher_leave_one_out_density(na_pool):
    e = _landscape(na_pool)
    rows = np.random.default_rng(1).choice(len(e), 15, replace=False)
    cfg = CampaignConfig(hyperprior="loo")
    X, y = na_pool.X[rows], e[rows]
    model, prior, scores = fit_by_hyperprior("abo", "none", cfg, na_pool.groups, X, y, 4)
    assert set(scores) == {"gamma", "none"}
    assert scores[prior] == max(scores.values())
    assert model.hyperprior == prior
    for name in ("gamma", "none"):  # each score is that prior's own fit, scored out of sample
        alone = model_for("abo", "none", cfg, na_pool.groups, 4, hyperprior=name).fit(X, y)
        assert loo_log_density(alone) == pytest.approx(scores[name])


def test_a_loo_decision_picks_what_the_chosen_prior_would_and_records_both_scores(na_pool):
    e = _landscape(na_pool)
    obs = {na_pool.ids[i]: float(e[i]) for i in range(0, 60, 6)}
    d = decide(na_pool, CampaignConfig(seed=3, hyperprior="loo"), obs, seq=10, n=2)
    chosen = d.strategy.split("/")[1]
    assert d.strategy in ("abo/gamma", "abo/none")
    scores = d.model["hyperprior_scores"]
    assert set(scores) == {"gamma", "none"}
    assert scores[chosen] == max(scores.values())
    fixed = decide(na_pool, CampaignConfig(seed=3, hyperprior=chosen), obs, seq=10, n=2)
    assert [c for c, _ in d.proposals] == [c for c, _ in fixed.proposals]


def test_a_single_hyperprior_is_fitted_without_scoring(na_pool):
    e = _landscape(na_pool)
    X, y = na_pool.X[:12], e[:12]
    model, prior, scores = fit_by_hyperprior(
        "obo", "none", CampaignConfig(), na_pool.groups, X, y, 0
    )
    assert (prior, scores) == ("gamma", {})  # the default without a source
    assert model.hyperprior == "gamma"


def test_model_auto_with_loo_chooses_among_both_models_and_both_priors(na_pool):
    e = _landscape(na_pool)
    rows = np.arange(0, len(e), 5)
    cfg = CampaignConfig(model="auto", hyperprior="loo")
    chosen = select_model(cfg, na_pool.groups, na_pool.X[rows], e[rows], 0)
    assert set(chosen.scores) == {"abo/gamma", "abo/none", "obo/gamma", "obo/none"}
    assert chosen.scores[chosen.name] == max(chosen.scores.values())
    assert chosen.model.hyperprior == chosen.name.split("/")[1]


def test_cross_validation_refitted_sees_the_overconfident_maximum_likelihood_fit(na_pool):
    # 8 results: maximum likelihood fits them too well (its held-out predictions are far off
    # and confident); the closed-form leave-one-out keeps those hyperparameters and cannot see it
    e = _landscape(na_pool)
    rows = np.random.default_rng(8).choice(len(e), 8, replace=False)
    X, y = na_pool.X[rows], e[rows]
    _, by_cv, cv = fit_by_hyperprior(
        "abo", "none", CampaignConfig(hyperprior="cv"), na_pool.groups, X, y, 0
    )
    _, by_loo, _ = fit_by_hyperprior(
        "abo", "none", CampaignConfig(hyperprior="loo"), na_pool.groups, X, y, 0
    )
    assert by_cv == "gamma"
    assert cv["none"] < cv["gamma"] - 10.0
    assert by_loo == "none"  # the held-out points shaped the ML hyperparameters


def test_cv_scores_a_smooth_landscape_above_noise():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (20, 1))
    smooth = cv_log_density(lambda: GPModel(n_restarts=0), X, np.sin(X[:, 0]))
    noise = cv_log_density(lambda: GPModel(n_restarts=0), X, rng.normal(size=20))
    assert smooth > noise
    assert cv_log_density(lambda: GPModel(n_restarts=0), X[:2], np.zeros(2)) == -np.inf


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
