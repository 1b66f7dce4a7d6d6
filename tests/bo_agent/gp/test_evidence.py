"""The leave-one-out score that ``model: auto`` chooses models by."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm
from sklearn.base import clone

from bo_agent.gp.evidence import loo_log_density
from bo_agent.gp.models import GPModel


def test_closed_form_loo_equals_refitting_without_each_point():
    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, (12, 2))
    y = 0.5 + 0.2 * np.sin(X[:, 0]) + 0.05 * X[:, 1] + rng.normal(0, 0.01, 12)
    model = GPModel(n_restarts=0, random_state=0).fit(X, y)
    total = 0.0
    for i in range(12):
        keep = np.arange(12) != i
        # the same hyperparameters and the same target standardisation, point i left out
        frozen = GPModel(
            clone(model.kernel_), optimize_hyperparameters=False, normalize_y=False
        ).fit(X[keep], (y[keep] - model.y_offset_) / model.y_scale_)
        mean, std = frozen.predict(X[i : i + 1], return_std=True)
        sd = math.sqrt(std[0] ** 2 + model.noise_level_) * model.y_scale_
        total += norm.logpdf(y[i], model.y_offset_ + model.y_scale_ * mean[0], sd)
    assert math.isclose(loo_log_density(model), total, rel_tol=1e-6, abs_tol=1e-6)


def test_a_smooth_function_scores_above_noise():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (25, 1))
    smooth = GPModel(n_restarts=0).fit(X, np.sin(X[:, 0]))
    noise = GPModel(n_restarts=0).fit(X, rng.normal(size=25))
    assert loo_log_density(smooth) > loo_log_density(noise)


def test_fewer_than_two_observations_cannot_be_scored():
    model = GPModel(n_restarts=0).fit(np.zeros((1, 2)), [0.3])
    assert loo_log_density(model) == -math.inf
