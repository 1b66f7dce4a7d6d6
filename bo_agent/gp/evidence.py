"""How well a fitted GP predicts its own observations: leave-one-out log predictive density.

A campaign that chooses its own model (``model: auto``, :mod:`bo_agent.decide.selection`) needs
a score that compares GPs with different kernels, target scales and prior means (oBO, aBO, with or
without a transfer source) on the same target data. The marginal likelihood favours models whose
hyperparameters were optimised over those that inherit them (transfer), so the score here is the
closed-form leave-one-out (LOO) log predictive density (Rasmussen & Williams 2006, eq. 5.10-5.12):
for each observation, the density of its value (eV) under the GP conditioned on all the others,
summed. It is in eV units, so models on different scales compare fairly; it costs one triangular
inverse of the fitted Cholesky factor (no refit).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.linalg import solve_triangular

from bo_agent.gp.models import GPModel
from bo_agent.gp.transfer import TransferGP

__all__ = ["cv_log_density", "loo_log_density", "loo_residuals"]


def loo_log_density(model: GPModel | TransferGP) -> float:
    """Sum over the target observations of ``log p(y_i | y_-i)``, y in eV (higher is better).

    Hyperparameters stay at their fitted values (the usual closed-form LOO). For a multitask
    :class:`~bo_agent.gp.transfer.TransferGP` only target-task rows are scored (source rows stay
    in the conditioning set). Returns ``-inf`` with fewer than two target observations.

    Parameters
    ----------
    model : GPModel or TransferGP
        Fitted.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, (20, 1))
    >>> y = np.sin(X[:, 0])
    >>> smooth = loo_log_density(GPModel(n_restarts=0).fit(X, y))
    >>> noise = loo_log_density(GPModel(n_restarts=0).fit(X, rng.normal(size=20)))
    >>> bool(smooth > noise)
    True
    """
    gp = model.model_ if isinstance(model, TransferGP) else model
    n = gp.L_.shape[0]
    rows = np.arange(n)
    if isinstance(model, TransferGP) and model.mode == "multitask":
        rows = np.flatnonzero(gp.X_train_[:, -1] > 0.5)
    if rows.size < 2:
        return -math.inf
    residuals, k_inv_diag = loo_residuals(gp)
    var = gp.y_scale_**2 / k_inv_diag[rows]  # LOO predictive variance, eV^2
    err = gp.y_scale_ * residuals[rows]  # y_i - LOO mean, eV
    return float(np.sum(-0.5 * np.log(2.0 * math.pi * var) - 0.5 * err * err / var))


def loo_residuals(gp: GPModel) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form leave-one-out residuals ``z_i - mean_-i`` on the GP's standardised scale,
    and the diagonal of ``K^-1`` (``L^-T L^-1``) they come from (one triangular inverse)."""
    n = gp.L_.shape[0]
    l_inv = solve_triangular(gp.L_, np.eye(n), lower=True, check_finite=False)
    k_inv_diag = np.einsum("ij,ij->j", l_inv, l_inv)
    return gp.alpha_ / k_inv_diag, k_inv_diag


def cv_log_density(
    make: Callable[[], GPModel], X: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0
) -> float:
    """Sum over the observations of ``log p(y_i | other folds)``, y in eV, each fold's GP
    fitted afresh (hyperparameters included) on the other folds.

    The closed-form :func:`loo_log_density` keeps the hyperparameters fitted on all the data,
    held-out points included: it cannot see hyperparameters that fit the data too well (maximum
    likelihood switching aBO's kernel groups off with 5-15 results), and so it favours the fit
    with the higher likelihood. Refitting per fold can. ``make`` returns an unfitted model;
    the folds are a seeded shuffle (``min(folds, n)`` of them). The predictive variance adds the
    fitted white noise to the latent variance. Returns ``-inf`` below 3 observations.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    n = y.size
    if n < 3:
        return -math.inf
    order = np.random.default_rng(seed).permutation(n)
    total = 0.0
    for held in np.array_split(order, min(folds, n)):
        train = np.setdiff1d(order, held)
        gp = make().fit(X[train], y[train])
        mean, std = gp.predict(X[held], return_std=True)
        var = std**2 + gp.noise_level_ * gp.y_scale_**2
        err = y[held] - mean
        total += float(np.sum(-0.5 * np.log(2.0 * math.pi * var) - 0.5 * err * err / var))
    return total
