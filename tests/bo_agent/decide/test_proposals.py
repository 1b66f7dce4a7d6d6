"""bo_agent.decide.proposals: exclusions, distinct and pending-aware batches, determinism."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from bo_agent.decide.acquisition import AcquisitionContext, expected_improvement
from bo_agent.decide.proposals import Proposal, propose
from bo_agent.errors import NoCandidatesError
from bo_agent.gp.models import GPModel
from bo_agent.gp.transfer import TransferGP
from workflows.errors import ConfigError, TavboWarning

GROUPS = {"A": [0, 1], "M": [2, 3]}
ACQUISITIONS = ["ei", "pi", "lcb", "ts", "below", "random"]


def barrier(X: np.ndarray) -> np.ndarray:
    return 0.5 + 0.2 * np.sin(X[:, 0]) + 0.1 * X[:, 1] ** 2 - 0.1 * X[:, 2]


@pytest.fixture
def pool() -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).normal(size=(60, 4))
    return X, barrier(X)


def model() -> GPModel:
    return GPModel("additive", groups=GROUPS, n_restarts=0, random_state=0)


@pytest.mark.parametrize("acquisition", ACQUISITIONS)
def test_proposals_exclude_observed_pending_and_failed_and_are_distinct(
    pool, acquisition: str
) -> None:
    X, y = pool
    observed, pending, failed = np.arange(0, 12), [12, 13], [14, 15, 16]
    batch = propose(
        model(),
        X,
        observed,
        y[observed],
        pending_idx=pending,
        failed_idx=failed,
        acquisition=acquisition,
        q=5,
        random_state=0,
        threshold=0.4,
    )
    picked = [p.index for p in batch]
    assert len(picked) == 5 == len(set(picked))
    assert not set(picked) & {*observed.tolist(), *pending, *failed}
    assert [p.rank for p in batch] == [0, 1, 2, 3, 4]
    assert all(isinstance(p, Proposal) and p.acquisition in acquisition for p in batch)


def clustered_pool() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observations away from x0 = 5; ten near-duplicate candidates at 5, others spread out."""
    observed = np.array([0.0, 1.0, 2.0, 8.0, 9.0, 10.0])
    cluster = 5.0 + 1e-3 * np.arange(10)
    others = np.array([0.5, 1.5, 2.5, 3.0, 3.5, 6.5, 7.0, 7.5, 8.5, 9.5])
    x0 = np.concatenate([observed, cluster, others])
    X = np.column_stack([x0, np.zeros_like(x0)])
    return X, 0.5 + 0.1 * np.sin(x0), np.arange(observed.size)


CLUSTER = set(range(6, 16))


def fixed_gp() -> GPModel:
    """A GP with fixed hyperparameters (length scale 1.5), so the posterior is known."""
    kernel = ConstantKernel(1.0, "fixed") * Matern(1.5, "fixed", nu=2.5) + WhiteKernel(
        1e-6, "fixed"
    )
    return GPModel(kernel)


def test_batch_is_pending_aware_not_q_copies_of_the_top_pick() -> None:
    X, y, observed = clustered_pool()
    gp = fixed_gp()
    batch = propose(gp, X, observed, y[observed], acquisition="ei", q=3)
    # Naive batch: the top three of one scoring pass, without conditioning on the picks.
    mean, std = gp.predict(X, return_std=True)
    scores = expected_improvement(mean, std, AcquisitionContext(best_f=y[observed].min()))
    scores[observed] = -np.inf
    naive = np.argsort(-scores)[:3]
    assert set(naive.tolist()) <= CLUSTER  # the naive batch is three copies of one point
    picked = [p.index for p in batch]
    assert picked[0] in CLUSTER
    assert len(CLUSTER & set(picked)) == 1  # kriging believer moves on after one
    assert batch[1].std < std[picked[1]]  # later picks see the earlier ones as pending


@pytest.mark.parametrize("acquisition", ["ei", "lcb"])
def test_pending_candidates_are_conditioned_on_by_kriging_believer(acquisition: str) -> None:
    X, y, observed = clustered_pool()
    alone = propose(fixed_gp(), X, observed, y[observed], acquisition=acquisition)
    pending = propose(
        fixed_gp(), X, observed, y[observed], pending_idx=[6], acquisition=acquisition
    )
    assert alone[0].index in CLUSTER
    assert pending[0].index not in CLUSTER  # the cluster is already being computed


def test_q_shrinks_with_a_warning_when_the_pool_runs_short(pool) -> None:
    X, y = pool
    observed = np.arange(55)
    with pytest.warns(TavboWarning, match="q=8 shrinks to 3"):
        batch = propose(model(), X, observed, y[observed], pending_idx=[55], failed_idx=[56], q=8)
    assert sorted(p.index for p in batch) == [57, 58, 59]


def test_an_exhausted_pool_raises_no_candidates_error(pool) -> None:
    X, y = pool
    observed = np.arange(58)
    with pytest.raises(NoCandidatesError, match="no candidate left"):
        propose(model(), X, observed, y[observed], pending_idx=[58], failed_idx=[59])


@pytest.mark.parametrize("acquisition", ["ts", "random", "ei"])
def test_the_same_seed_gives_the_same_proposals(pool, acquisition: str) -> None:
    X, y = pool
    observed = np.arange(10)

    def run(seed: int) -> list[int]:
        batch = propose(
            model(), X, observed, y[observed], acquisition=acquisition, q=4, random_state=seed
        )
        return [p.index for p in batch]

    assert run(3) == run(3)
    if acquisition == "random":
        assert run(3) != run(4)


def test_random_search_is_uniform_over_the_remaining_pool(pool) -> None:
    X, _ = pool
    counts = np.zeros(60)
    for seed in range(300):
        batch = propose(None, X, [0, 1], [0.1, 0.2], acquisition="random", q=5, random_state=seed)
        for p in batch:
            counts[p.index] += 1
    assert counts[:2].sum() == 0
    assert counts[2:].min() > 0  # every remaining candidate gets drawn


def test_first_proposal_reports_the_model_posterior(pool) -> None:
    X, y = pool
    observed = np.arange(15)
    gp = model()
    first = propose(gp, X, observed, y[observed], acquisition="lcb", kappa=1.5)[0]
    mean, std = gp.predict(X[[first.index]], return_std=True)
    assert first.mean == pytest.approx(mean[0])
    assert first.std == pytest.approx(std[0])
    assert first.value == pytest.approx(1.5 * std[0] - mean[0])
    assert set(first.to_dict()) == {"index", "value", "rank", "mean", "std", "acquisition"}


def test_threshold_goal_ties_go_to_the_lowest_mean() -> None:
    X, y, observed = clustered_pool()
    batch = propose(
        fixed_gp(),
        X,
        observed,
        y[observed],
        acquisition="below",
        threshold=10.0,  # every candidate is surely below: probabilities saturate at 1
        q=2,
    )
    mean = fixed_gp().fit(X[observed], y[observed]).predict(X)
    mean[observed] = np.inf
    assert batch[0].index == int(np.argmin(mean))


def test_exact_ties_go_to_a_random_candidate_not_the_first_in_pool_order() -> None:
    # Length scales far below the spacing of the pool: every unseen candidate has the same mean
    # and variance, so EI ties everywhere. The pick must not depend on how the pool is listed.
    X = np.arange(40, dtype=float).reshape(-1, 1) * 10.0
    kernel = ConstantKernel(1.0, "fixed") * Matern(1e-3, "fixed", nu=2.5)
    kernel += WhiteKernel(1e-6, "fixed")
    gp = GPModel(kernel, optimize_hyperparameters=False)
    observed = np.array([0, 5, 9])
    picks = {
        propose(gp, X, observed, np.array([0.3, 0.2, 0.4]), random_state=seed)[0].index
        for seed in range(12)
    }
    assert len(picks) > 3
    assert not picks & set(observed.tolist())
    y = np.array([0.3, 0.2, 0.4])
    first = propose(gp, X, observed, y, random_state=3)[0].index
    assert propose(gp, X, observed, y, random_state=3)[0].index == first  # still seeded


def test_transfer_model_is_fitted_through_fit_params(pool) -> None:
    X, y = pool
    X_src = np.random.default_rng(1).normal(size=(40, 4))
    gp = TransferGP(model(), mode="gp")
    batch = propose(
        gp,
        X,
        [0, 1, 2],
        y[:3],
        q=2,
        fit_params={"X_source": X_src, "y_source": barrier(X_src)},
    )
    assert gp.source_model_ is not None
    assert len(batch) == 2


def test_refit_false_uses_the_fitted_model(pool) -> None:
    X, y = pool
    gp = model().fit(X[:10], y[:10])
    theta = gp.kernel_.theta.copy()
    propose(gp, X, np.arange(20), y[:20], refit=False)
    assert np.array_equal(gp.kernel_.theta, theta)


def test_invalid_requests_raise_config_error(pool) -> None:
    X, y = pool
    with pytest.raises(ConfigError, match="unknown acquisition"):
        propose(model(), X, [0], y[:1], acquisition="eii")
    with pytest.raises(ConfigError, match="threshold"):
        propose(model(), X, [0], y[:1], acquisition="below")
    with pytest.raises(ConfigError, match="q must be"):
        propose(model(), X, [0], y[:1], q=0)
    with pytest.raises(ConfigError, match="needs a model"):
        propose(None, X, [0], y[:1], acquisition="ei")
    with pytest.raises(ValueError, match="outside the pool"):
        propose(model(), X, [0], y[:1], pending_idx=[60])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        propose(model(), X, [0, 1], y[:2], q=2)  # no warning when the pool suffices


def test_posterior_incumbent_ignores_a_noisy_low_observation():
    from bo_agent.decide.proposals import propose
    from bo_agent.gp.models import GPModel

    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (60, 1))
    f = 0.5 + 0.1 * np.sin(X[:, 0])
    obs = np.arange(20)
    y = f[obs] + rng.normal(0, 0.03, 20)
    y[3] = f[3] - 0.3  # one result far below its true value
    model = GPModel(n_restarts=0, random_state=0).fit(X[obs], y)
    posterior_best = float(model.predict(X[obs]).min())
    assert posterior_best > y.min() + 0.05  # the GP does not believe the outlier
    by_obs = propose(model, X, obs, y, incumbent="observed", refit=False)[0]
    by_post = propose(model, X, obs, y, incumbent="posterior", refit=False)[0]
    # against the outlier nothing looks like an improvement; against the posterior something does
    assert by_post.value > by_obs.value


def test_stall_guard_turns_a_hopeless_ei_pick_into_a_thompson_sample():
    from bo_agent.decide.proposals import propose
    from bo_agent.gp.models import GPModel

    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, (80, 2))
    obs = np.arange(40)
    y = 0.5 + 0.1 * np.sin(X[obs, 0])
    y[0] = 0.0  # nothing can beat this by the margin
    model = GPModel(n_restarts=0, random_state=0).fit(X[obs], y)
    plain = propose(model, X, obs, y, refit=False, xi=0.05)[0]
    guarded = propose(model, X, obs, y, refit=False, xi=0.05, stall_level=1e-3)[0]
    assert plain.acquisition == "ei"
    assert plain.value < 1e-3
    assert guarded.acquisition == "ts-stall"
    lively = propose(model, X, obs, y + 1.0 * (np.arange(40) == 0), refit=False, stall_level=1e-9)
    assert lively[0].acquisition == "ei"  # a live EI is left alone
