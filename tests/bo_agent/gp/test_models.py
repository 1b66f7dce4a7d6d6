"""Tests for bo_agent.gp.kernels and bo_agent.gp.models: kernels, GP fits, transfer, pool
posteriors.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from bo_agent.gp.coregionalization import CoregionalizationKernel
from bo_agent.gp.group_kernels import AdditiveKernel, GroupKernel
from bo_agent.gp.kernels import (
    additive_kernel,
    ard_kernel,
    cross_covariance,
    ordinary_kernel,
    split_noise,
)
from bo_agent.gp.likelihood import _FastNegLML
from bo_agent.gp.models import GPModel
from bo_agent.gp.priors import LENGTH_SCALE_MODE_PER_SQRT_DIM, HyperPrior
from bo_agent.gp.transfer import TransferGP
from workflows.errors import ConfigError

GROUPS = {"A": [0, 1], "M": [2, 3], "X": [4], "Z": [5]}


def smooth(X: np.ndarray) -> np.ndarray:
    """A smooth 'barrier' of six standardised descriptors, eV."""
    return 0.5 + 0.2 * np.sin(X[:, 0]) + 0.1 * X[:, 2] ** 2 - 0.15 * X[:, 4] + 0.05 * X[:, 5]


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(120, 6))
    return X, smooth(X)


def finite_difference_gradient(kernel, X: np.ndarray, h: float = 1e-6) -> np.ndarray:
    theta = kernel.theta
    grads = []
    for i in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        grads.append((kernel.clone_with_theta(up)(X) - kernel.clone_with_theta(down)(X)) / (2 * h))
    return np.stack(grads, axis=2)


# ----------------------------------------------------------------------------- kernels


def test_group_kernel_sees_only_its_columns() -> None:
    X = np.random.default_rng(1).normal(size=(7, 5))
    base = Matern(length_scale=[1.0, 2.0], nu=2.5)
    k = GroupKernel(base, dims=[1, 3], name="M")
    assert np.allclose(k(X), base(X[:, [1, 3]]))
    assert np.allclose(k.diag(X), np.ones(7))
    assert [h.name for h in k.hyperparameters] == ["kernel__length_scale"]
    assert k.clone_with_theta(k.theta + 1.0).kernel.length_scale == pytest.approx(
        np.e * np.array([1.0, 2.0])
    )
    assert k == clone(k)
    assert k.is_stationary()


def test_additive_kernel_equals_sum_of_its_group_parts() -> None:
    X = np.random.default_rng(2).normal(size=(15, 6))
    k = additive_kernel(GROUPS, "matern52")
    signal, noise = split_noise(k)
    assert isinstance(signal, AdditiveKernel)
    parts = [
        ConstantKernel(0.25) * GroupKernel(ard_kernel(len(cols), "matern52"), cols)
        for cols in GROUPS.values()
    ]
    expected = sum(p(X) for p in parts) + noise * np.eye(15)
    assert np.allclose(k(X), expected)
    assert np.allclose(k.diag(X), np.diag(expected))
    assert np.allclose(k(X, X[:4]), sum(p(X, X[:4]) for p in parts))


@pytest.mark.parametrize("kind", ["matern52", "matern32", "rbf"])
def test_additive_kernel_gradient_matches_finite_differences(kind: str) -> None:
    X = np.random.default_rng(3).normal(size=(12, 6))
    k = additive_kernel(GROUPS, kind)
    k.theta = k.theta + np.random.default_rng(4).normal(scale=0.3, size=k.theta.size)
    _, grad = k(X, eval_gradient=True)
    assert grad.shape == (12, 12, k.n_dims)
    assert np.allclose(grad, finite_difference_gradient(k, X), atol=1e-6)


def test_coregionalization_kernel_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(5)
    X = np.hstack([rng.normal(size=(14, 3)), (np.arange(14) % 2)[:, None]])
    k = CoregionalizationKernel(
        ConstantKernel(1.5) * Matern([1.0, 0.7, 2.0], nu=2.5), correlation=0.6, target_scale=1.4
    )
    K, grad = k(X, eval_gradient=True)
    assert grad.shape == (14, 14, k.n_dims)
    assert np.allclose(grad, finite_difference_gradient(k, X), atol=1e-6)
    assert np.allclose(np.diag(K), k.diag(X))
    assert np.all(np.linalg.eigvalsh(K) > -1e-10)


def test_coregionalization_kernel_couples_tasks_by_correlation() -> None:
    x = np.array([[0.3, -0.2]])
    src, tgt = np.hstack([x, [[0.0]]]), np.hstack([x, [[1.0]]])
    k = CoregionalizationKernel(Matern([1.0, 1.0]), correlation=0.7, target_scale=2.0)
    assert k(src, tgt)[0, 0] == pytest.approx(0.7 * 2.0)
    assert k(tgt)[0, 0] == pytest.approx(4.0)
    assert k(src)[0, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="task column"):
        k(np.array([[0.0, 0.0, 2.0]]))


def test_coregionalization_kernel_hyperparameters_fit_by_gradient() -> None:
    rng = np.random.default_rng(6)
    x = rng.uniform(-2, 2, size=(30, 2))
    X = np.vstack([np.hstack([x, np.zeros((30, 1))]), np.hstack([x[:10], np.ones((10, 1))])])
    y = np.concatenate([np.sin(x[:, 0]), np.sin(x[:10, 0]) + 0.05])
    kernel = CoregionalizationKernel(ConstantKernel() * Matern([1.0, 1.0], nu=2.5)) + WhiteKernel(
        1e-2, (1e-6, 1.0)
    )
    model = GPModel(kernel, n_restarts=0, random_state=0).fit(X, y)  # sklearn's optimiser
    assert model.optimized_
    assert model.kernel_.k1.correlation > 0.9


def test_shared_length_scales_are_one_per_kernel_and_group() -> None:
    # 1 amplitude + 6 length scales + 1 noise (ARD) against 1 + 1 + 1 (shared)
    assert ordinary_kernel(6).n_dims == 8
    assert ordinary_kernel(6, ard=False).n_dims == 3
    # 4 amplitudes + 4 group length scales + 1 noise
    assert additive_kernel(GROUPS, ard=False).n_dims == 9
    X = np.random.default_rng(1).normal(size=(5, 6))
    shared = ordinary_kernel(6, ard=False)
    same = ordinary_kernel(6).clone_with_theta(np.r_[0.0, np.full(6, shared.theta[1]), 0.0])
    assert np.allclose(shared.clone_with_theta(np.r_[0.0, shared.theta[1], 0.0])(X), same(X))


@pytest.mark.parametrize("ard", [True, False])
@pytest.mark.parametrize("kind", ["matern52", "matern32", "rbf"])
def test_fast_likelihood_equals_sklearn_objective(kind: str, ard: bool) -> None:
    rng = np.random.default_rng(7)
    X, z = rng.normal(size=(40, 6)), rng.normal(size=40)
    for kernel in (additive_kernel(GROUPS, kind, ard=ard), ordinary_kernel(6, kind, ard=ard)):
        theta = kernel.theta + rng.normal(scale=0.3, size=kernel.theta.size)
        gpr = GaussianProcessRegressor(kernel, alpha=1e-8, optimizer=None).fit(X, z)
        lml, grad = gpr.log_marginal_likelihood(theta, eval_gradient=True)
        fast = _FastNegLML.build(kernel, X, z)
        assert fast is not None
        neg_lml, neg_grad = fast(theta)
        assert -neg_lml == pytest.approx(lml, abs=1e-8)
        assert np.allclose(-neg_grad, grad, atol=1e-8)


@pytest.mark.parametrize("inner", ["ordinary", "additive"])
def test_fast_likelihood_equals_sklearn_objective_for_two_tasks(inner: str) -> None:
    rng = np.random.default_rng(12)
    X = np.hstack([rng.normal(size=(30, 6)), (np.arange(30) % 3 == 0)[:, None]])
    z = rng.normal(size=30)
    signal, noise = split_noise(
        additive_kernel(GROUPS) if inner == "additive" else ordinary_kernel(6)
    )
    kernel = CoregionalizationKernel(signal, correlation=0.6, target_scale=1.3) + WhiteKernel(noise)
    theta = kernel.theta + rng.normal(scale=0.2, size=kernel.theta.size)
    lml, grad = (
        GaussianProcessRegressor(kernel, alpha=1e-8, optimizer=None)
        .fit(X, z)
        .log_marginal_likelihood(theta, eval_gradient=True)
    )
    fast = _FastNegLML.build(kernel, X, z)
    assert fast is not None
    neg_lml, neg_grad = fast(theta)
    assert -neg_lml == pytest.approx(lml, abs=1e-8)
    assert np.allclose(-neg_grad, grad, atol=1e-8)


def test_fast_likelihood_declines_kernels_it_does_not_cover() -> None:
    X, z = np.zeros((3, 2)), np.zeros(3)
    fixed_noise = ordinary_kernel(2, noise_bounds="fixed")
    assert _FastNegLML.build(fixed_noise, X, z) is None
    assert _FastNegLML.build(Matern([1.0, 1.0]), X, z) is None  # no noise term


def test_cross_covariance_matches_sklearn_kernels() -> None:
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(30, 6)), rng.normal(size=(9, 6))
    for kind in ("matern52", "matern32", "rbf"):
        for kernel in (additive_kernel(GROUPS, kind), ordinary_kernel(6, kind)):
            kernel.theta = kernel.theta + rng.normal(scale=0.3, size=kernel.theta.size)
            assert np.allclose(cross_covariance(kernel, X, Y), kernel(X, Y), atol=1e-12)


def test_unknown_base_kernel_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="matern52"):
        ard_kernel(3, "cosine")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ GPModel


@pytest.mark.parametrize("kernel", ["ordinary", "additive"])
def test_gp_recovers_a_smooth_function_on_held_out_points(data, kernel: str) -> None:
    X, y = data
    model = GPModel(kernel, groups=GROUPS, random_state=0).fit(X[:80], y[:80])
    mean, std = model.predict(X[80:], return_std=True)
    rmse = np.sqrt(np.mean((mean - y[80:]) ** 2))
    assert rmse < 0.1 * y.std()
    assert np.all(std >= 0)
    assert np.allclose(model.predict(X[:80]), y[:80], atol=0.01)  # fits its training data


@pytest.mark.parametrize(
    ("length_scales", "transfer", "n_length_scales"),
    [("auto", "none", 10), ("auto", "gp", 31), ("shared", "gp", 10), ("ard", "none", 31)],
)
def test_auto_length_scales_are_per_column_with_transfer_and_per_group_without(
    length_scales: str, transfer: str, n_length_scales: int
) -> None:
    from bo_agent.config import CampaignConfig
    from bo_agent.decide.strategy import build_pool, make_model
    from workflows.space.compositions import default_space

    source = {} if transfer == "none" else {"source_campaign": "li"}
    cfg = CampaignConfig(length_scales=length_scales, transfer=transfer, **source)
    pool = build_pool(default_space(), "Na", cfg.groups)
    model = make_model(cfg, pool, random_state=0)
    base = model if isinstance(model, GPModel) else model.base
    kernel = base.make_kernel(pool.X.shape[1])
    n = sum(h.n_elements for h in kernel.hyperparameters if "length_scale" in h.name)
    assert n == n_length_scales  # 10 kind groups, or 31 descriptor columns


@pytest.mark.parametrize("carrier", ["Li", "Na"])
@pytest.mark.parametrize("ard", [True, False])
@pytest.mark.parametrize("kind", ["ordinary", "additive"])
def test_fit_above_restart_limit_on_a_whole_reference_carrier_does_as_well_as_a_multistart_fit(
    carrier: str, ard: bool, kind: str
) -> None:
    # A transfer source is 108-159 points, above restart_limit: the fit starts from the defaults
    # and one screened draw. It must reach the likelihood a 3-restart fit reaches.
    from bo_agent.benchmark.data import load_benchmark_data
    from bo_agent.decide.strategy import build_pool
    from workflows.space.compositions import default_space

    data = load_benchmark_data("chgnet")
    pool = build_pool(default_space(), carrier)
    rows = [i for i, c in enumerate(pool.ids) if c in data.values and c not in data.failed]
    X, y = pool.X[rows], np.array([data.values[pool.ids[i]] for i in rows])
    groups = pool.groups if kind == "additive" else None
    single = GPModel(kind, groups=groups, ard=ard, n_restarts=2, random_state=0).fit(X, y)
    multi = [
        GPModel(
            kind, groups=groups, ard=ard, n_restarts=3, restart_limit=10_000, random_state=seed
        ).fit(X, y)
        for seed in (0, 1)
    ]
    white = GPModel(
        ConstantKernel(1e-2, "fixed") * Matern(1.0, "fixed") + WhiteKernel(1.0),
        optimize_hyperparameters=True,
    ).fit(X, y)
    assert single.log_marginal_likelihood_ > white.log_marginal_likelihood_ + 20
    # From the defaults alone the shared-length-scale fits of the trusted Li (oBO) and Na (aBO)
    # stopped 2.6 and 4.4 nats below a 3-restart fit. The likelihoods are multimodal: on the v2
    # data 3-restart fits from different seeds end up to 6.8 nats apart (Na oBO ARD), so the
    # one screened restart above restart_limit must do as well as a 3-restart fit can be
    # counted on to: no worse than the lower of two, less 1 nat (a Bayes factor of e, not worth
    # more than a bare mention). On the data merged 2026-12-07 08:45 the single fit of Li aBO
    # shared stops 0.61 nats below that; from the defaults alone Na aBO shared stops 2.37 below.
    assert single.log_marginal_likelihood_ >= min(m.log_marginal_likelihood_ for m in multi) - 1.0


def test_predict_in_chunks_matches_one_block(data) -> None:
    X, y = data
    model = GPModel(random_state=0, n_restarts=0).fit(X[:40], y[:40])
    mean, std = model.predict(X[40:], return_std=True)
    chunked = clone(model).set_params(chunk_size=7)
    chunked = chunked.set_params(kernel=model.kernel_, optimize_hyperparameters=False)
    chunked.fit(X[:40], y[:40])
    mean7, std7 = chunked.predict(X[40:], return_std=True)
    assert np.allclose(mean, mean7)
    assert np.allclose(std, std7)


def test_gp_without_data_predicts_its_prior() -> None:
    model = GPModel().fit(np.zeros((0, 3)), np.zeros(0))
    mean, std = model.predict(np.ones((4, 3)), return_std=True)
    assert np.allclose(mean, 0.0)
    assert np.allclose(std, 1.0)
    assert model.fitted_hyperparameters()["log_marginal_likelihood"] is None


def test_same_seed_gives_the_same_fit(data) -> None:
    X, y = data
    a = GPModel("additive", groups=GROUPS, random_state=3).fit(X[:30], y[:30])
    b = GPModel("additive", groups=GROUPS, random_state=3).fit(X[:30], y[:30])
    assert np.array_equal(a.kernel_.theta, b.kernel_.theta)


def test_hyperparameters_subset_still_conditions_on_every_point(data) -> None:
    X, y = data
    model = GPModel(max_hyperparameter_samples=30, random_state=0).fit(X[:80], y[:80])
    assert model.n_hyperparameter_samples_ == 30
    assert model.X_train_.shape[0] == 80
    assert np.allclose(model.predict(X[:80]), y[:80], atol=0.02)


def test_warm_start_reuses_previous_hyperparameters(data) -> None:
    X, y = data
    model = GPModel(warm_start=True, optimize_hyperparameters=False).fit(X[:5], y[:5])
    first = model.kernel_
    model.set_params(optimize_hyperparameters=True).fit(X[:40], y[:40])
    tuned = model.kernel_.theta
    model.set_params(optimize_hyperparameters=False).fit(X[:41], y[:41])
    assert np.array_equal(model.kernel_.theta, tuned)
    assert not np.array_equal(first.theta, tuned)


def test_fitted_hyperparameters_are_a_json_ready_audit_record(data) -> None:
    X, y = data
    record = GPModel("additive", groups=GROUPS, random_state=0).fit(X[:30], y[:30])
    summary = record.fitted_hyperparameters()
    json.dumps(summary)
    assert "GroupKernel" in summary["kernel"]
    assert summary["n_train"] == 30
    assert isinstance(summary["log_marginal_likelihood"], float)
    assert any(name.endswith("length_scale") for name in summary["theta"])


def test_additive_without_groups_raises_config_error(data) -> None:
    X, y = data
    with pytest.raises(ConfigError, match="groups"):
        GPModel("additive").fit(X, y)
    with pytest.raises(ConfigError, match="kernel"):
        GPModel("spline").fit(X, y)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- hyperpriors


@pytest.mark.parametrize("name", ["gamma", "gamma-total", "lognormal"])
@pytest.mark.parametrize("kind", ["ordinary", "additive"])
def test_hyperprior_gradient_matches_finite_differences(kind: str, name: str) -> None:
    rng = np.random.default_rng(3)
    X, z = rng.normal(size=(12, 6)), rng.normal(size=12)
    kernel = additive_kernel(GROUPS) if kind == "additive" else ordinary_kernel(6)
    prior = HyperPrior.for_kernel(kernel, name)
    assert prior is not None
    fast = _FastNegLML.build(kernel, X, z)
    assert fast is not None
    objective = prior.penalise(fast)
    theta = kernel.theta + rng.normal(scale=0.3, size=kernel.theta.size)
    value, grad = objective(theta)
    assert value == pytest.approx(objective(theta, eval_gradient=False))
    h = 1e-6
    numeric = [
        (objective(theta + h * e, eval_gradient=False) - objective(theta - h * e, False)) / (2 * h)
        for e in np.eye(theta.size)
    ]
    assert np.allclose(grad, numeric, rtol=1e-5, atol=1e-5)


def test_hyperprior_is_the_same_on_the_fast_and_the_sklearn_objective() -> None:
    rng = np.random.default_rng(4)
    X, z = rng.normal(size=(15, 6)), rng.normal(size=15)
    kernel = additive_kernel(GROUPS)
    prior = HyperPrior.for_kernel(kernel, "gamma")
    assert prior is not None
    gpr = GaussianProcessRegressor(kernel, alpha=1e-8, optimizer=None).fit(X, z)

    def sklearn_objective(theta, eval_gradient=True):
        if not eval_gradient:
            return -gpr.log_marginal_likelihood(theta)
        lml, grad = gpr.log_marginal_likelihood(theta, eval_gradient=True)
        return -lml, -grad

    fast = _FastNegLML.build(kernel, X, z)
    assert fast is not None
    theta = kernel.theta + rng.normal(scale=0.3, size=kernel.theta.size)
    v_fast, g_fast = prior.penalise(fast)(theta)
    v_slow, g_slow = prior.penalise(sklearn_objective)(theta)
    assert v_fast == pytest.approx(v_slow, abs=1e-8)
    assert np.allclose(g_fast, g_slow, atol=1e-8)


@pytest.mark.parametrize("name", ["gamma", "lognormal"])
def test_hyperprior_log_density_peaks_at_the_length_scale_mode(name: str) -> None:
    prior = HyperPrior.for_kernel(ordinary_kernel(4), name)
    assert prior is not None
    mode = LENGTH_SCALE_MODE_PER_SQRT_DIM * 2.0  # sqrt(4) columns
    theta = np.log([1.0, mode, mode, mode, mode, 0.1])
    _, grad = prior(theta)
    # The density of the natural value (GPyTorch's convention) peaks at the mode: for
    # Gamma(a, b) at (a - 1) / b, for LogNormal(mu, s) at exp(mu - s**2); both presets agree.
    assert np.allclose(grad[1:5], 0.0, atol=1e-12)
    assert HyperPrior.for_kernel(ordinary_kernel(4), "none") is None


def test_gamma_total_gives_an_additive_kernels_summed_amplitude_the_prior_of_one() -> None:
    def amplitude_rates(kernel, name: str) -> np.ndarray:
        prior = HyperPrior.for_kernel(kernel, name)
        assert prior is not None
        names = [h.name for h in kernel.hyperparameters for _ in range(h.n_elements)]
        return prior.rate[[i for i, n in enumerate(names) if n.endswith("constant_value")]]

    additive = additive_kernel(GROUPS)
    n_groups = len(amplitude_rates(additive, "gamma"))
    assert n_groups == len(GROUPS) > 1
    # gamma: each group's amplitude Gamma(2, 0.15), so the sum's prior mean is n_groups times one
    assert np.allclose(amplitude_rates(additive, "gamma"), 0.15)
    # gamma-total: Gamma(2, 0.15 G) each; the mean of the sum, G * 2 / (0.15 G), is one's
    total = amplitude_rates(additive, "gamma-total")
    assert np.sum(2.0 / total) == pytest.approx(2.0 / 0.15)
    # one kernel: the two presets are the same
    one = ordinary_kernel(6)
    assert np.allclose(amplitude_rates(one, "gamma-total"), amplitude_rates(one, "gamma"))


@pytest.mark.parametrize("name", ["gamma", "lognormal"])
def test_a_shared_length_scale_has_the_prior_of_the_columns_it_spans(name: str) -> None:
    # An isotropic kernel over d columns has the prior mode of an ARD length scale over d
    # columns (distances grow with sqrt(d)), in oBO (all columns) and per aBO group.
    def mode_gradient(kernel, n_features: int, length_scale: float) -> np.ndarray:
        prior = HyperPrior.for_kernel(kernel, name, n_features)
        assert prior is not None
        theta = kernel.theta.copy()
        ls = [i for i, h in enumerate(kernel.hyperparameters) if "length_scale" in h.name]
        theta[ls] = np.log(length_scale)
        return prior(theta)[1][ls]

    def mode(d: int) -> float:
        return float(LENGTH_SCALE_MODE_PER_SQRT_DIM * np.sqrt(d))

    assert np.allclose(mode_gradient(ordinary_kernel(16, ard=False), 16, mode(16)), 0.0)
    assert not np.allclose(mode_gradient(ordinary_kernel(16, ard=False), 16, mode(1)), 0.0)
    groups = {"a": list(range(4)), "b": list(range(4, 13))}
    kernel = additive_kernel(groups, ard=False)
    prior = HyperPrior.for_kernel(kernel, name, 13)
    assert prior is not None
    theta = kernel.theta.copy()
    ls = [i for i, h in enumerate(kernel.hyperparameters) if "length_scale" in h.name]
    theta[ls] = np.log([mode(4), mode(9)])
    at_modes = prior(theta)[1][ls]
    assert np.allclose(at_modes, 0.0)


@pytest.mark.parametrize("name", ["gamma", "lognormal"])
def test_hyperprior_pulls_length_scales_to_the_prior_mode_with_few_points(name: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 31))
    y = 0.3 * X[:, 0] + 0.05 * rng.normal(size=6)
    mode = LENGTH_SCALE_MODE_PER_SQRT_DIM * np.sqrt(31)

    def length_scales(hyperprior: str) -> np.ndarray:
        model = GPModel(hyperprior=hyperprior, n_restarts=2, random_state=0).fit(X, y)
        return np.log(np.asarray(model.kernel_.k1.k2.length_scale))

    ml, post = length_scales("none"), length_scales(name)
    # Maximum likelihood sends length scales to the bounds; the MAP fit stays near the mode.
    assert np.median(np.abs(post - np.log(mode))) < 0.5 * np.median(np.abs(ml - np.log(mode)))
    assert np.all(np.abs(post - np.log(mode)) < 1.5)


@pytest.mark.parametrize("name", ["gamma", "lognormal"])
def test_hyperprior_leaves_a_fit_on_many_points_close_to_maximum_likelihood(data, name) -> None:
    X, y = data
    Xt = X[100:]
    ml = GPModel(random_state=0).fit(X[:100], y[:100]).predict(Xt)
    post = GPModel(hyperprior=name, random_state=0).fit(X[:100], y[:100]).predict(Xt)
    assert np.allclose(post, smooth(Xt), atol=0.03)
    assert np.allclose(post, ml, atol=0.03)


def test_unknown_hyperprior_is_a_one_line_config_error(data) -> None:
    X, y = data
    with pytest.raises(ConfigError, match="hyperprior") as info:
        GPModel(hyperprior="cauchy").fit(X[:5], y[:5])  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    from bo_agent.config import load_campaign_config

    with pytest.raises(ConfigError, match="hyperprior") as info:
        load_campaign_config(hyperprior="cauchy")
    assert "\n" not in str(info.value)
    assert load_campaign_config(hyperprior="gamma").hyperprior == "gamma"


# ----------------------------------------------------------------------------- transfer


@pytest.fixture
def carriers() -> dict[str, np.ndarray]:
    """Source (Li) everywhere, target (Na) = source + 0.1 eV + a small wiggle."""
    rng = np.random.default_rng(10)
    Xs = rng.uniform(-2, 2, size=(80, 6))
    Xt = rng.uniform(-2, 2, size=(60, 6))

    def target(X: np.ndarray) -> np.ndarray:
        return smooth(X) + 0.1 + 0.02 * np.cos(X[:, 1])

    return {"Xs": Xs, "ys": smooth(Xs), "Xt": Xt, "yt": target(Xt), "target": target}


def test_hp_transfer_freezes_source_hyperparameters(carriers) -> None:
    c = carriers
    base = GPModel("additive", groups=GROUPS, random_state=0)
    model = TransferGP(base, mode="hp").fit(c["Xt"][:8], c["yt"][:8], c["Xs"], c["ys"])
    assert model.source_model_ is not None
    assert np.array_equal(model.model_.kernel_.theta, model.source_model_.kernel_.theta)
    assert not model.model_.optimized_
    free = GPModel("additive", groups=GROUPS, random_state=0).fit(c["Xt"][:8], c["yt"][:8])
    assert not np.array_equal(free.kernel_.theta, model.source_model_.kernel_.theta)


def test_gp_transfer_without_target_data_predicts_the_source_mean(carriers) -> None:
    c = carriers
    model = TransferGP(GPModel(random_state=0), mode="gp")
    model.fit(np.zeros((0, 6)), np.zeros(0), X_source=c["Xs"], y_source=c["ys"])
    assert model.source_model_ is not None
    assert np.allclose(model.predict(c["Xt"]), model.source_model_.predict(c["Xt"]))


def test_gp_transfer_reverts_to_source_mean_far_from_target_data() -> None:
    # One descriptor, a wiggly barrier: the source covers [-5, 5], the target only [-5, -3.5].
    rng = np.random.default_rng(11)
    Xs = np.linspace(-5, 5, 60)[:, None]
    Xn = rng.uniform(-5, -3.5, size=(6, 1))
    Xfar = np.linspace(2, 5, 10)[:, None]

    def barrier(X: np.ndarray) -> np.ndarray:
        return 0.5 + 0.2 * np.sin(3 * X[:, 0])

    yn = barrier(Xn) + 0.1  # the target carrier sits 0.1 eV higher
    gp = TransferGP(GPModel(random_state=0), mode="gp").fit(Xn, yn, Xs, barrier(Xs))
    none = TransferGP(GPModel(random_state=0), mode="none").fit(Xn, yn)
    assert gp.source_model_ is not None
    src_mean = gp.source_model_.predict(Xfar)
    assert gp.model_.y_offset_ == pytest.approx(0.1, abs=0.01)  # the carrier shift
    assert np.allclose(gp.predict(Xfar), src_mean + gp.model_.y_offset_, atol=1e-3)
    assert np.allclose(none.predict(Xfar), yn.mean(), atol=0.02)  # reverts to the target mean
    truth = barrier(Xfar) + 0.1
    assert np.abs(gp.predict(Xfar) - truth).max() < 0.02 < np.abs(none.predict(Xfar) - truth).max()


def test_estimated_source_weight_follows_how_much_of_the_target_the_source_explains(
    carriers,
) -> None:
    c = carriers
    Xn = c["Xt"][:30]
    base = GPModel("additive", groups=GROUPS, random_state=0)

    def weight(y: np.ndarray) -> float:
        gp = TransferGP(base, mode="gp", source_weight_sd=0.5).fit(Xn, y, c["Xs"], c["ys"])
        return float(gp.fitted_hyperparameters()["source_weight"])

    related = weight(c["yt"][:30])
    half = weight(0.4 * smooth(Xn) + 0.3 * np.cos(2 * Xn[:, 5]))
    unrelated = weight(0.5 * np.cos(2 * Xn[:, 5]))
    assert related == pytest.approx(1.0, abs=0.1)
    assert unrelated < half < 0.8 < related
    # too few results to say anything: the source keeps its full weight
    few = TransferGP(base, mode="gp", source_weight_sd=0.5).fit(
        Xn[:1], c["yt"][:1], c["Xs"], c["ys"]
    )
    assert few.source_weight_ == 1.0


def test_multitask_transfer_improves_target_prediction_when_tasks_correlate(carriers) -> None:
    c = carriers
    Xn, yn = c["Xt"][:8], c["yt"][:8]
    base = GPModel(random_state=0)
    multitask = TransferGP(base, mode="multitask").fit(Xn, yn, c["Xs"], c["ys"])
    none = TransferGP(base, mode="none").fit(Xn, yn)
    truth = c["yt"][8:]
    rmse_mt = np.sqrt(np.mean((multitask.predict(c["Xt"][8:]) - truth) ** 2))
    rmse_none = np.sqrt(np.mean((none.predict(c["Xt"][8:]) - truth) ** 2))
    assert rmse_mt < 0.5 * rmse_none
    assert multitask.fitted_hyperparameters()["target"]["theta"]["k1__correlation"] > 0.8


def test_transfer_without_source_data_raises_config_error(carriers) -> None:
    c = carriers
    with pytest.raises(ConfigError, match="X_source"):
        TransferGP(mode="gp").fit(c["Xt"], c["yt"])
    with pytest.raises(ConfigError, match="mode"):
        TransferGP(mode="li-gp").fit(c["Xt"], c["yt"], c["Xs"], c["ys"])  # type: ignore[arg-type]


# ------------------------------------------------------------------------ pool posterior


def test_kriging_believer_equals_refit_with_fantasies(data) -> None:
    X, y = data
    model = GPModel("additive", groups=GROUPS, random_state=0).fit(X[:25], y[:25])
    pool = X[25:]
    post = model.pool_posterior(pool)
    assert np.allclose(post.mean, model.predict(pool))
    picks = [3, 11, 40]
    for i in picks:
        post.condition(i)
    refit = clone(model).set_params(
        kernel=model.kernel_,
        optimize_hyperparameters=False,
        normalize_y=False,
        mean_function=lambda Z: np.full(len(Z), model.y_offset_),
        y_scale=model.y_scale_,
    )
    fantasy = model.predict(pool[picks])
    refit.fit(np.vstack([X[:25], pool[picks]]), np.concatenate([y[:25], fantasy]))
    mean, std = refit.predict(pool, return_std=True)
    assert np.allclose(post.mean, mean, atol=1e-8)
    assert np.allclose(post.std, std, atol=1e-8)


def test_exact_joint_samples_match_posterior_moments(data) -> None:
    X, y = data
    model = GPModel(random_state=0, n_restarts=0).fit(X[:20], y[:20])
    post = model.pool_posterior(X[20:60])
    post.condition(0)
    samples = post.sample(4000, random_state=0)
    assert samples.shape == (4000, 40)
    assert np.allclose(samples.mean(axis=0), post.mean, atol=4 * post.std.max() / np.sqrt(4000))
    assert np.allclose(samples.std(axis=0), post.std, rtol=0.1, atol=1e-3)
    assert np.array_equal(samples, post.sample(4000, random_state=0))


def test_large_pool_samples_keep_the_posterior_marginals(data) -> None:
    X, y = data
    model = GPModel("additive", groups=GROUPS, random_state=0).fit(X[:20], y[:20])
    post = model.pool_posterior(X[20:])
    post.exact_sample_limit = 10  # exact on a short list of 10, independent elsewhere
    post.condition(5)
    samples = post.sample(3000, random_state=1)
    assert np.abs(samples.mean(axis=0) - post.mean).max() < 0.1 * post.std.max()
    assert np.allclose(samples.std(axis=0), post.std, rtol=0.1, atol=1e-4)
    shortlist = np.argsort(post.mean - 3 * post.std)[:10]
    corr = np.corrcoef(samples[:, shortlist].T)
    exact = post.sample(1, random_state=2)  # deterministic per seed
    assert np.array_equal(exact, post.sample(1, random_state=2))
    assert np.abs(corr[np.triu_indices(10, 1)]).max() > 0.3  # jointly sampled: correlated


def test_a_fit_above_restart_limit_does_not_depend_on_its_seed(data) -> None:
    # Its one restart has a fixed seed: a transfer source is fitted identically at every
    # decision, whatever the decision's seed (replays memoise it on that assumption).
    X, y = data
    fits = [GPModel(n_restarts=2, restart_limit=10, random_state=s).fit(X, y) for s in (0, 7)]
    assert np.array_equal(fits[0].kernel_.theta, fits[1].kernel_.theta)
    assert fits[0].log_marginal_likelihood_ == fits[1].log_marginal_likelihood_
