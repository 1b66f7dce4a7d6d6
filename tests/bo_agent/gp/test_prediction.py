"""Large pools take the fast path (threads, float32 kernel formula, L^-T product) and get the
same posterior as the exact path, to the accuracy EI needs."""

from __future__ import annotations

import numpy as np

import bo_agent.gp.prediction as prediction
from bo_agent.gp.kernels import additive_kernel
from bo_agent.gp.models import GPModel


def test_a_large_pool_posterior_matches_the_exact_path(monkeypatch):
    rng = np.random.default_rng(0)
    groups = {"a": [0, 1], "b": [2, 3], "c": [4, 5]}
    X = rng.standard_normal((20_000, 6))
    obs = rng.choice(20_000, 500, replace=False)
    y = 0.5 + 0.1 * np.sin(X[obs, 0]) + 0.05 * X[obs, 3] + rng.normal(0, 0.01, 500)
    model = GPModel(
        additive_kernel(groups, "matern52", ard=False), optimize_hyperparameters=False
    ).fit(X[obs], y)
    assert prediction._PARALLEL_PAIRS <= 20_000 * 500  # the fast path
    fast = model.pool_posterior(X)
    monkeypatch.setattr(prediction, "_PARALLEL_PAIRS", 10**12)
    exact = model.pool_posterior(X)
    np.testing.assert_allclose(fast.mean, exact.mean, atol=1e-5)
    np.testing.assert_allclose(fast.std, exact.std, atol=1e-4)
    # the batch machinery (kriging believer on the cached V) works the same on both
    fast.condition(7)
    exact.condition(7)
    np.testing.assert_allclose(fast.std, exact.std, atol=1e-4)


def test_a_large_pool_gets_the_proposals_of_the_exact_path(monkeypatch):
    from bo_agent.decide.proposals import propose

    rng = np.random.default_rng(1)
    groups = {"a": [0, 1], "b": [2, 3], "c": [4, 5]}
    X = rng.standard_normal((20_000, 6))
    obs = rng.choice(20_000, 500, replace=False)
    y = 0.5 + 0.1 * np.sin(X[obs, 0]) + 0.05 * X[obs, 3] + rng.normal(0, 0.01, 500)
    model = GPModel("additive", groups=groups, ard=False, n_restarts=0, random_state=0)
    model.fit(X[obs], y)
    fixed = {"refit": False, "q": 3, "random_state": 0}
    for acquisition in ("ei", "lcb"):
        fast = propose(model, X, obs, y, acquisition=acquisition, **fixed)
        with monkeypatch.context() as m:
            m.setattr(prediction, "_PARALLEL_PAIRS", 10**12)  # the exact path
            exact = propose(model, X, obs, y, acquisition=acquisition, **fixed)
        assert [p.index for p in fast] == [p.index for p in exact]
        np.testing.assert_allclose([p.std for p in fast], [p.std for p in exact], atol=1e-5)
