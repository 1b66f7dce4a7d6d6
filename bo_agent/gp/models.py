"""Gaussian-process surrogates of the migration barrier E_b (eV), with carrier transfer.

Two sklearn-style regressors, ``fit(X, y) -> self`` and ``predict(X, return_std=True)``:

- :class:`GPModel` (here): one GP with an ordinary (oBO) or additive (aBO) kernel,
  hyperparameters from the marginal likelihood (scikit-learn's :class:`~sklearn.gaussian_process.
  GaussianProcessRegressor` with restarts), standardised targets and white noise.
- :class:`~bo_agent.gp.transfer.TransferGP`: a target-carrier GP that inherits from a source-carrier
  data set (``mode="hp"``, ``"gp"`` or ``"multitask"``; ``"none"`` for the comparison without
  transfer). Importable from here as before.

Both hand the proposal layer a :class:`~bo_agent.gp.posterior.PoolPosterior`
(``model.pool_posterior(X_pool)``): mean and standard deviation over a finite candidate pool,
cheap kriging-believer conditioning on pending candidates, and joint posterior samples for
Thompson sampling.

Scale (``benchmarks/proposal_latency.py``). Predictions run in chunks (about 32 MB of
cross-covariance per chunk) and the variance comes from triangular solves with the Cholesky
factor; a pool posterior keeps ``L^-1 K(X_train, X_pool)`` (400 MB for 100,000 candidates and
500 observations). The marginal likelihood of the standard kernels is evaluated by
:class:`~bo_agent.gp.likelihood._FastNegLML` (same values as sklearn's objective, 5-10 times
faster), at most one random restart runs above ``restart_limit`` observations, and above
``max_hyperparameter_samples`` hyperparameters are fitted on a random subset. Small linear
algebra runs BLAS single-threaded (:mod:`bo_agent.gp.linalg`): multi-threaded OpenBLAS makes a
40 x 40 solve some 300 times slower when the cores are busy, as they are next to running
calculations.

Module map: :mod:`bo_agent.gp.likelihood` (likelihood and optimiser), :mod:`bo_agent.gp.posterior`
(pool posterior and sampling), :mod:`bo_agent.gp.transfer` (``TransferGP``),
:mod:`bo_agent.gp.kernels`.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import Kernel
from sklearn.utils.validation import check_is_fitted, check_X_y

from bo_agent.gp.kernels import (
    DEFAULT_NOISE_BOUNDS,
    BaseKernelName,
    additive_kernel,
    ordinary_kernel,
    split_noise,
)
from bo_agent.gp.likelihood import _FastNegLML, _optimize
from bo_agent.gp.linalg import JITTER, _blas_limit
from bo_agent.gp.prediction import ChunkedPrediction
from bo_agent.gp.priors import HyperPrior, HyperpriorName, check_hyperprior
from workflows.errors import ConfigError

__all__ = [
    "KERNEL_KINDS",
    "GPModel",
    "KernelKind",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
MeanFunction = Callable[[FloatArray], FloatArray]

KernelKind = Literal["ordinary", "additive"]
KERNEL_KINDS: tuple[str, ...] = ("ordinary", "additive")


def _as_float_vector(a: npt.ArrayLike) -> FloatArray:
    return np.asarray(a, dtype=float).reshape(-1)


class GPModel(ChunkedPrediction, RegressorMixin, BaseEstimator):
    """Gaussian-process regressor of E_b over standardised descriptors.

    The kernel is ``ConstantKernel * k + WhiteKernel`` (``"ordinary"``, oBO) or a sum of one
    scaled kernel per feature group plus white noise (``"additive"``, aBO), ``k`` a Matern or
    RBF kernel with ARD or shared length scales. Targets are
    standardised (after subtracting ``mean_function``, if given) and hyperparameters maximise the
    log-marginal likelihood (plus the log prior of ``hyperprior``: MAP) with L-BFGS-B from the
    initial values plus ``n_restarts`` random starts (each the best of several log-uniform draws
    within the bounds, screened by the same objective).

    Parameters
    ----------
    kernel : {"ordinary", "additive"} or Kernel, default="ordinary"
        Kernel kind, or a ready scikit-learn kernel (include a ``WhiteKernel`` term for noise).
    groups : mapping of str to list of int or None, default=None
        Feature groups (column indices) for ``kernel="additive"``, e.g. one per site A, M, X, Z.
    base : {"matern52", "matern32", "rbf"}, default="matern52"
        Base stationary kernel.
    ard : bool, default=True
        One length scale per column (ARD), or one shared by all columns (oBO) or by the
        columns of each group (aBO).
    hyperprior : {"none", "gamma", "lognormal"}, default="none"
        Prior on the hyperparameters (see :mod:`bo_agent.gp.priors`): ``"none"`` maximises the
        likelihood; ``"gamma"`` and ``"lognormal"`` maximise the posterior under BayBE's and
        BoTorch's default priors (length scales growing with sqrt(columns), small noise).
    n_restarts : int, default=1
        Extra optimiser runs from screened random starts (at most one above ``restart_limit``
        observations; small data sets have the most multimodal likelihoods).
    restart_limit : int, default=64
        Above this many observations, the initial values and one screened start from a fixed
        seed (without it, shared-length-scale fits ended 2.6-4.4 log-likelihood units below a
        multistart fit); on a random subset the initial values only (the 2-s proposal budget).
    max_hyperparameter_samples : int or None, default=300
        With more observations, hyperparameters maximise the likelihood of a random subset of
        ``hyperparameter_subset`` of them (seeded by ``random_state``); the posterior always
        conditions on every observation. None uses all observations. A transfer source of
        159 results stays below it, so its fit is deterministic (and memoised by replays).
    hyperparameter_subset : int, default=150
        Size of that subset. The likelihood costs O(n^3) per optimiser step: an aBO refit on
        500 points with the 10 kind groups took 3.6 CPU s on a subset of 300 and 0.3 s on 150
        (the 2-second proposal budget, ``benchmarks/proposal_latency.py``).
    max_iter : int, default=200
        Iteration cap of each L-BFGS-B run.
    optimize_hyperparameters : bool, default=True
        False keeps the kernel's hyperparameters as given (``optimizer=None``). Fits with fewer
        than 2 observations never optimise.
    warm_start : bool, default=False
        Start the optimiser from the previous fit's hyperparameters (a campaign refits every
        round on one more point).
    normalize_y : bool, default=True
        Centre and scale targets; False fits them as they are.
    y_scale : float or None, default=None
        Fixed target scale (eV) instead of the standard deviation of the targets; used by
        transfer, where hyperparameters learnt on the source are in source-scaled units.
    mean_function : callable or None, default=None
        Prior mean ``m(X) -> (n,)`` in eV; the GP models ``y - m(X)``.
    noise_bounds : (float, float), default=(1e-6, 1.0)
        Bounds on the white-noise variance, standardised units.
    chunk_size : int or None, default=None
        Candidates per prediction chunk; None sizes chunks to about 32 MB.
    random_state : int or None, default=None
        Seed of the optimiser restarts.

    Attributes
    ----------
    kernel_ : Kernel
        Kernel with fitted hyperparameters (noise included).
    signal_kernel_ : Kernel
        ``kernel_`` without its white-noise term.
    noise_level_ : float
        Fitted white-noise variance (standardised units).
    X_train_ : ndarray of shape (n_samples, n_features)
    y_train_ : ndarray of shape (n_samples,)
        Targets in eV.
    y_offset_, y_scale_ : float
        Standardisation: ``z = (y - m(X) - y_offset_) / y_scale_``.
    L_ : ndarray of shape (n_samples, n_samples)
        Lower Cholesky factor of the standardised training covariance.
    alpha_ : ndarray of shape (n_samples,)
        ``K^-1 z``.
    log_marginal_likelihood_ : float or None
        At the fitted hyperparameters (standardised targets, without the log prior); None
        without data.
    optimized_ : bool
        Whether hyperparameters were optimised in the last fit.
    n_hyperparameter_samples_ : int
        Observations the hyperparameters were fitted on (0 if not optimised).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, size=(30, 2))
    >>> y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    >>> model = GPModel(n_restarts=0, random_state=0).fit(X, y)
    >>> mean, std = model.predict(X[:3], return_std=True)
    >>> bool(np.allclose(mean, y[:3], atol=0.05))
    True
    """

    def __init__(
        self,
        kernel: KernelKind | Kernel = "ordinary",
        *,
        groups: Mapping[str, Sequence[int]] | None = None,
        base: BaseKernelName = "matern52",
        ard: bool = True,
        hyperprior: HyperpriorName = "none",
        n_restarts: int = 1,
        restart_limit: int = 64,
        max_hyperparameter_samples: int | None = 300,
        hyperparameter_subset: int = 150,
        max_iter: int = 200,
        optimize_hyperparameters: bool = True,
        warm_start: bool = False,
        normalize_y: bool = True,
        y_scale: float | None = None,
        mean_function: MeanFunction | None = None,
        noise_bounds: tuple[float, float] = DEFAULT_NOISE_BOUNDS,
        chunk_size: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.kernel = kernel
        self.groups = groups
        self.base = base
        self.ard = ard
        self.hyperprior = hyperprior
        self.n_restarts = n_restarts
        self.restart_limit = restart_limit
        self.max_hyperparameter_samples = max_hyperparameter_samples
        self.hyperparameter_subset = hyperparameter_subset
        self.max_iter = max_iter
        self.optimize_hyperparameters = optimize_hyperparameters
        self.warm_start = warm_start
        self.normalize_y = normalize_y
        self.y_scale = y_scale
        self.mean_function = mean_function
        self.noise_bounds = noise_bounds
        self.chunk_size = chunk_size
        self.random_state = random_state

    # ------------------------------------------------------------------ kernel

    def make_kernel(self, n_features: int) -> Kernel:
        """The initial kernel for ``n_features`` columns (before any fit).

        Parameters
        ----------
        n_features : int
            Number of feature columns.

        Returns
        -------
        Kernel

        Raises
        ------
        ConfigError
            For an unknown kernel kind, a missing ``groups`` with ``kernel="additive"``, or a
            group column outside ``range(n_features)``.
        """
        if isinstance(self.kernel, Kernel):
            return clone(self.kernel)
        if self.kernel == "ordinary":
            return ordinary_kernel(
                n_features, self.base, ard=self.ard, noise_bounds=self.noise_bounds
            )
        if self.kernel == "additive":
            if not self.groups:
                raise ConfigError("kernel='additive' needs groups: {name: [column, ...]}")
            bad = {g: list(c) for g, c in self.groups.items() if max(c, default=0) >= n_features}
            if bad:
                raise ConfigError(f"feature groups {bad} point past the {n_features} columns of X")
            return additive_kernel(
                self.groups, self.base, ard=self.ard, noise_bounds=self.noise_bounds
            )
        raise ConfigError(
            f"unknown kernel={self.kernel!r}; expected one of {list(KERNEL_KINDS)} or a Kernel"
        )

    # --------------------------------------------------------------------- fit

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> GPModel:
        """Fit hyperparameters and the posterior on observations.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Standardised descriptors; ``n_samples`` may be 0 (the posterior is then the prior).
        y : array-like of shape (n_samples,)
            Barriers E_b in eV.

        Returns
        -------
        self : GPModel

        Raises
        ------
        ConfigError
            For an unknown ``hyperprior`` (or kernel kind, see :meth:`make_kernel`).
        """
        X, y = check_X_y(X, y, dtype=float, ensure_min_samples=0, y_numeric=True)
        check_hyperprior(self.hyperprior)
        n, d = X.shape
        kernel = self.make_kernel(d)
        previous = getattr(self, "kernel_", None)
        if self.warm_start and previous is not None and getattr(self, "n_features_in_", d) == d:
            kernel = clone(previous)

        prior = self._prior_mean(X)
        resid = y - prior
        offset = float(resid.mean()) if (self.normalize_y and n > 0) else 0.0
        if self.y_scale is not None:
            scale = float(self.y_scale)
        elif self.normalize_y and n >= 2 and resid.std() > 1e-12:
            scale = float(resid.std())
        else:
            scale = 1.0
        z = (resid - offset) / scale

        optimize = bool(self.optimize_hyperparameters) and n >= 2 and kernel.n_dims > 0
        lml: float | None = None
        n_fit = 0
        if n > 0:
            rng = np.random.default_rng(self.random_state)
            n_fit = n if optimize else 0
            if optimize and self.max_hyperparameter_samples and n > self.max_hyperparameter_samples:
                n_fit = min(int(self.hyperparameter_subset), int(self.max_hyperparameter_samples))
            with _blas_limit(n * n):
                if optimize:
                    subset = np.sort(rng.choice(n, n_fit, replace=False)) if n_fit < n else None
                    kernel = self._optimise_kernel(kernel, X, z, subset, rng)
                gpr = GaussianProcessRegressor(
                    kernel=kernel,
                    alpha=JITTER,
                    optimizer=None,
                    normalize_y=False,
                    copy_X_train=False,
                ).fit(X, z)
            self.kernel_ = gpr.kernel_
            self.L_ = np.asarray(gpr.L_)
            self._L_fortran = np.asfortranarray(self.L_)
            self.alpha_ = _as_float_vector(gpr.alpha_)
            lml = float(gpr.log_marginal_likelihood_value_)
        else:
            self.kernel_ = kernel
            self.L_ = np.zeros((0, 0))
            self._L_fortran = self.L_
            self.alpha_ = np.zeros(0)
        self.signal_kernel_, self.noise_level_ = split_noise(self.kernel_)
        self.X_train_ = X
        self.y_train_ = y
        self.z_train_ = z
        self.y_offset_ = offset
        self.y_scale_ = scale
        self.log_marginal_likelihood_ = lml
        self.optimized_ = optimize
        self.n_hyperparameter_samples_ = n_fit
        self.n_features_in_ = d
        logger.debug("fitted %s on %d points (lml=%s)", self.kernel_, n, lml)
        return self

    def _optimise_kernel(
        self,
        kernel: Kernel,
        X: FloatArray,
        z: FloatArray,
        subset: npt.NDArray[np.intp] | None,
        rng: np.random.Generator,
    ) -> Kernel:
        """Maximise the log-marginal likelihood (of ``subset`` if given) over hyperparameters,
        plus the log prior of ``hyperprior`` (MAP)."""
        Xf, zf = (X, z) if subset is None else (X[subset], z[subset])
        # Above restart_limit one restart from a fixed seed (the fit stays a function of the
        # data; replays memoise it); none on a subset (time: docs/benchmarks.md, #19). Its
        # start is the best of 16 screened draws: 64 found a likelier Na source fit that cost
        # CHGNet Li transfer 0.30 at t = 20 (docs/benchmarks.md, "GP fits above restart_limit").
        large = Xf.shape[0] > self.restart_limit
        restarts = min(self.n_restarts, 1) if large else self.n_restarts
        restarts = 0 if subset is not None else restarts
        optimizer = functools.partial(
            _optimize,
            max_iter=self.max_iter,
            n_restarts=restarts,
            rng=np.random.default_rng(0) if large else rng,
            objective=_FastNegLML.build(kernel, Xf, zf),
            prior=HyperPrior.for_kernel(kernel, self.hyperprior, Xf.shape[1]),
        )
        gpr = GaussianProcessRegressor(
            kernel=kernel,
            alpha=JITTER,
            optimizer=optimizer,
            n_restarts_optimizer=0,  # restarts are screened inside _optimize
            normalize_y=False,
            copy_X_train=False,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # bounds are reported in audit
            gpr.fit(Xf, zf)
        return gpr.kernel_

    def _prior_mean(self, X: FloatArray) -> FloatArray:
        if self.mean_function is None:
            return np.zeros(X.shape[0])
        return _as_float_vector(self.mean_function(X))

    # ------------------------------------------------------------------- audit

    def fitted_hyperparameters(self) -> dict[str, Any]:
        """JSON-ready summary of the fit, for the per-decision audit record.

        Returns
        -------
        dict
            ``kernel`` (repr), ``theta`` (hyperparameter name -> value in natural units, float or
            list), ``at_bounds`` (names of hyperparameters at a bound), ``noise_level``,
            ``log_marginal_likelihood`` (None without data), ``optimized``, ``n_train``,
            ``n_hyperparameter_samples`` (observations the hyperparameters were fitted on, 0 if
            not optimised), ``y_offset`` and ``y_scale`` (eV).
        """
        check_is_fitted(self, "kernel_")
        params = self.kernel_.get_params()
        theta: dict[str, float | list[float]] = {}
        at_bounds: list[str] = []
        for h in self.kernel_.hyperparameters:
            if h.fixed:
                continue
            value = np.asarray(params[h.name], dtype=float)
            theta[h.name] = value.tolist() if value.ndim else float(value)
            lo, hi = np.log(np.asarray(h.bounds, dtype=float)).T
            logv = np.log(np.broadcast_to(value, lo.shape))
            if np.any(np.isclose(logv, lo)) or np.any(np.isclose(logv, hi)):
                at_bounds.append(h.name)
        return {
            "kernel": repr(self.kernel_),
            "theta": theta,
            "at_bounds": at_bounds,
            "noise_level": float(self.noise_level_),
            "log_marginal_likelihood": self.log_marginal_likelihood_,
            "optimized": bool(self.optimized_),
            "n_train": int(self.X_train_.shape[0]),
            "n_hyperparameter_samples": int(self.n_hyperparameter_samples_),
            "y_offset": float(self.y_offset_),
            "y_scale": float(self.y_scale_),
        }
