"""Gaussian-process surrogates of the migration barrier E_b (eV), with carrier transfer.

Two sklearn-style regressors, ``fit(X, y) -> self`` and ``predict(X, return_std=True)``:

- :class:`GPModel`: one GP with an ordinary (oBO) or additive (aBO) kernel, hyperparameters from
  the marginal likelihood (scikit-learn's :class:`~sklearn.gaussian_process.
  GaussianProcessRegressor` with restarts), standardised targets and white noise.
- :class:`TransferGP`: a target-carrier GP that inherits from a source-carrier data set
  (``mode="hp"``, ``"gp"`` or ``"multitask"``; ``"none"`` for the comparison without transfer).

Both hand the proposal layer a :class:`PoolPosterior` (``model.pool_posterior(X_pool)``): mean
and standard deviation over a finite candidate pool, cheap kriging-believer conditioning on
pending candidates, and joint posterior samples for Thompson sampling.

Scale (``benchmarks/proposal_latency.py``). Predictions run in chunks (about 32 MB of
cross-covariance per chunk) and the variance comes from triangular solves with the Cholesky
factor; a pool posterior keeps ``L^-1 K(X_train, X_pool)`` (400 MB for 100,000 candidates and
500 observations). The marginal likelihood of the standard kernels is evaluated by
:class:`_FastNegLML` (same values as sklearn's objective, 5-10 times faster), random restarts
stop above ``restart_limit`` observations, and above ``max_hyperparameter_samples``
hyperparameters are fitted on a random subset. Small linear algebra runs BLAS single-threaded:
multi-threaded OpenBLAS makes a 40 x 40 solve some 300 times slower when the cores are busy, as
they are next to running calculations.
"""

from __future__ import annotations

import functools
import logging
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.linalg import cho_solve, cholesky
from scipy.linalg.blas import dtrsm
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import (
    RBF,
    ConstantKernel,
    Kernel,
    Matern,
    Product,
    Sum,
    WhiteKernel,
)
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y
from threadpoolctl import ThreadpoolController

from bo_agent.kernels import (
    DEFAULT_NOISE_BOUNDS,
    AdditiveKernel,
    BaseKernelName,
    CoregionalizationKernel,
    GroupKernel,
    additive_kernel,
    cross_covariance,
    ordinary_kernel,
    split_noise,
)
from workflows.errors import ConfigError

__all__ = [
    "KERNEL_KINDS",
    "TRANSFER_MODES",
    "GPModel",
    "KernelKind",
    "PoolPosterior",
    "TransferGP",
    "TransferMode",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
RandomState = int | np.random.Generator | None
MeanFunction = Callable[[FloatArray], FloatArray]

KernelKind = Literal["ordinary", "additive"]
KERNEL_KINDS: tuple[str, ...] = ("ordinary", "additive")
TransferMode = Literal["none", "hp", "gp", "multitask"]
TRANSFER_MODES: tuple[str, ...] = ("none", "hp", "gp", "multitask")

#: Jitter added to the training covariance diagonal (sklearn's ``alpha``), standardised units.
JITTER = 1e-8
#: Target size of one chunk of cross-covariance, in float64 entries (32 MB).
_CHUNK_ENTRIES = 1 << 22
#: Relative tolerance on -lml of L-BFGS-B (scipy's default 2.2e-9 doubles the iterations for a
#: likelihood change well below 0.01 nat at the sizes tavbo fits).
_FTOL = 1e-7
#: Posterior work below this many (candidate x observation) pairs runs BLAS single-threaded.
#: Measured on 2 busy cores, 100,000 candidates x 500 observations: 1.7-1.9 CPU s single-
#: threaded against 3.2-3.3 CPU s (and more wall time) with BLAS threads.
_SINGLE_THREAD_PAIRS = 1_000_000_000


def _blas_limit(pairs: int) -> Any:
    """Single-threaded BLAS for the GP's linear algebra (thread hand-offs cost more than they
    save, and far more when the cores are busy); the default for very large problems."""
    return _blas_controller().limit(
        limits=1 if pairs < _SINGLE_THREAD_PAIRS else None, user_api="blas"
    )


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def _optimize(
    obj_func: Callable[..., Any],
    initial_theta: FloatArray,
    bounds: FloatArray,
    *,
    max_iter: int,
    n_restarts: int,
    rng: np.random.Generator,
    objective: Callable[..., Any] | None = None,
) -> tuple[FloatArray, float]:
    """Multi-start L-BFGS-B in sklearn's optimiser protocol (minimises ``-lml``).

    ``objective``, if given, replaces sklearn's ``obj_func`` (same values, faster; see
    :class:`_FastNegLML`).

    The first run starts from ``initial_theta``. Each restart starts from one of the best of
    ``8 * n_restarts`` (at least 16) log-uniform draws within the bounds, screened by the
    likelihood alone: cheaper than sklearn's restarts from unscreened draws, which spend most of
    their iterations climbing out of absurd length scales.
    """
    if objective is not None:
        obj_func = objective
    starts = [np.asarray(initial_theta, dtype=float)]
    if n_restarts > 0:
        draws = rng.uniform(bounds[:, 0], bounds[:, 1], size=(max(16, 8 * n_restarts), len(bounds)))
        values = np.array([obj_func(t, eval_gradient=False) for t in draws], dtype=float)
        values[~np.isfinite(values)] = np.inf
        starts += [draws[i] for i in np.argsort(values, kind="stable")[:n_restarts]]
    best: tuple[FloatArray, float] | None = None
    for theta0 in starts:
        res = minimize(
            obj_func,
            theta0,
            method="L-BFGS-B",
            jac=True,
            bounds=bounds,
            options={"maxiter": max_iter, "ftol": _FTOL},
        )
        if best is None or (np.isfinite(res.fun) and res.fun < best[1]):
            best = (res.x, float(res.fun))
    assert best is not None
    return best


class _FastNegLML:
    """sklearn's negative log-marginal likelihood and its gradient, for tavbo's standard kernels.

    Covers ``signal + WhiteKernel`` where ``signal`` is ``ConstantKernel * base``, an
    ``AdditiveKernel([ConstantKernel * GroupKernel(base), ...])``, or a
    :class:`~bo_agent.kernels.CoregionalizationKernel` around either; ``base`` is an RBF or
    Matern (nu 0.5, 1.5, 2.5) kernel, and every hyperparameter is free. It returns what
    ``GaussianProcessRegressor``'s objective returns (``-lml``, ``-d lml / d theta``, same
    ``theta`` order) without building the (n, n, n_theta) gradient tensor: squared coordinate
    differences are computed once, and each length-scale derivative is one matrix-vector
    product. That is 5-10 times faster, which keeps refits within the latency budget. Anything
    else uses sklearn's objective.
    """

    #: Largest cache of squared differences (bytes) before falling back to sklearn.
    max_bytes = 1 << 29

    def __init__(
        self,
        terms: list[tuple[npt.NDArray[np.intp] | None, float, int]],
        X: FloatArray,
        z: FloatArray,
        task: npt.NDArray[np.intp] | None,
    ) -> None:
        n = X.shape[0]
        self.z = z
        self.n = n
        self.terms: list[tuple[float, int, FloatArray]] = []
        for dims, nu, n_ls in terms:
            Xg = X if dims is None else X[:, dims]
            diff2 = ((Xg[:, None, :] - Xg[None, :, :]) ** 2).reshape(n * n, -1)
            if n_ls == 1:
                diff2 = diff2.sum(axis=1, keepdims=True)
            self.terms.append((nu, n_ls, diff2))
        self.cross: FloatArray | None = None  # 1 where the two tasks differ
        self.both_target: FloatArray | None = None
        if task is not None:
            self.cross = (task[:, None] != task[None, :]).astype(float)
            self.both_target = ((task[:, None] == 1) & (task[None, :] == 1)).astype(float)

    @classmethod
    def build(cls, kernel: Kernel, X: FloatArray, z: FloatArray) -> _FastNegLML | None:
        """The fast objective for ``kernel`` on (X, z), or None if the kernel is not covered."""
        if not (
            isinstance(kernel, Sum)
            and isinstance(kernel.k2, WhiteKernel)
            and not kernel.k2.hyperparameter_noise_level.fixed
        ):
            return None
        signal = kernel.k1
        task = None
        n_extra = 1  # the noise level
        if isinstance(signal, CoregionalizationKernel):
            if signal.hyperparameter_correlation.fixed or signal.hyperparameter_target_scale.fixed:
                return None
            col = signal.task_column % X.shape[1]
            task = X[:, col].astype(np.intp)
            X = np.delete(X, col, axis=1)
            signal = signal.kernel
            n_extra += 2
        parts = list(signal.kernels) if isinstance(signal, AdditiveKernel) else [signal]
        terms: list[tuple[npt.NDArray[np.intp] | None, float, int]] = []
        n_cols = 0
        for part in parts:
            if not (
                isinstance(part, Product)
                and isinstance(part.k1, ConstantKernel)
                and not part.k1.hyperparameter_constant_value.fixed
            ):
                return None
            base, dims = part.k2, None
            if isinstance(base, GroupKernel):
                base, dims = base.kernel, np.asarray(base.dims, dtype=np.intp)
            if type(base) not in (RBF, Matern) or base.hyperparameter_length_scale.fixed:
                return None
            nu = float(base.nu) if isinstance(base, Matern) else math.inf
            if nu not in (0.5, 1.5, 2.5, math.inf):
                return None
            n_ls = int(base.hyperparameter_length_scale.n_elements)
            width = X.shape[1] if dims is None else dims.size
            if n_ls not in (1, width):
                return None
            terms.append((dims, nu, n_ls))
            n_cols += width
        if 8 * X.shape[0] ** 2 * n_cols > cls.max_bytes:
            return None
        if sum(1 + n_ls for _, _, n_ls in terms) + n_extra != kernel.n_dims:
            return None
        return cls(terms, X, z, task)

    def __call__(
        self, theta: FloatArray, eval_gradient: bool = True
    ) -> float | tuple[float, FloatArray]:
        """``-lml`` and, with ``eval_gradient``, ``-d lml / d theta``."""
        n = self.n
        Kx = np.zeros((n, n))
        parts: list[tuple[float, FloatArray, FloatArray, FloatArray]] = []
        i = 0
        for nu, n_ls, diff2 in self.terms:
            c = math.exp(theta[i])
            inv_ls2 = np.exp(-2.0 * theta[i + 1 : i + 1 + n_ls])
            i += 1 + n_ls
            r2 = (diff2 @ inv_ls2).reshape(n, n)
            k, g = _stationary(r2, nu)
            Kx += c * k
            parts.append((c, k, g, inv_ls2))
        Bt: FloatArray | None = None
        if self.cross is not None and self.both_target is not None:
            rho, s = math.exp(theta[i]), math.exp(theta[i + 1])
            i += 2
            # B[t, t'] = 1 (source, source), rho * s (across), s^2 (target, target).
            Bt = 1.0 + self.cross * (rho * s - 1.0) + self.both_target * (s * s - 1.0)
            K = Kx * Bt
        else:
            K = Kx.copy()
        noise = math.exp(theta[i])
        K[np.diag_indices_from(K)] += noise + JITTER
        try:
            L = cholesky(K, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return (math.inf, np.zeros_like(theta)) if eval_gradient else math.inf
        alpha = cho_solve((L, True), self.z, check_finite=False)
        lml = (
            -0.5 * float(self.z @ alpha)
            - float(np.log(np.diag(L)).sum())
            - 0.5 * n * math.log(2 * math.pi)
        )
        if not eval_gradient:
            return -lml
        W = np.outer(alpha, alpha) - cho_solve((L, True), np.eye(n), check_finite=False)
        Wx = W if Bt is None else W * Bt  # d K / d theta_x = (d Kx / d theta_x) * B
        grad = np.empty_like(theta, dtype=float)
        j = 0
        for (c, k, g, inv_ls2), (_, n_ls, diff2) in zip(parts, self.terms, strict=True):
            grad[j] = 0.5 * c * float(np.sum(Wx * k))
            grad[j + 1 : j + 1 + n_ls] = 0.5 * c * ((Wx * g).reshape(-1) @ diff2) * inv_ls2
            j += 1 + n_ls
        if Bt is not None and self.cross is not None and self.both_target is not None:
            WK = W * Kx
            grad[j] = 0.5 * rho * s * float(np.sum(WK * self.cross))
            grad[j + 1] = grad[j] + s * s * float(np.sum(WK * self.both_target))
            j += 2
        grad[j] = 0.5 * noise * float(np.trace(W))
        return -lml, -grad


def _stationary(r2: FloatArray, nu: float) -> tuple[FloatArray, FloatArray]:
    """Kernel value k(r) and g(r) with d k / d log(l_d) = g * diff_d**2 / l_d**2."""
    if nu == math.inf:
        k = np.exp(-0.5 * r2)
        return k, k
    r = np.sqrt(r2)
    if nu == 2.5:
        t = math.sqrt(5.0) * r
        e = np.exp(-t)
        return (1.0 + t + t * t / 3.0) * e, (5.0 / 3.0) * (1.0 + t) * e
    if nu == 1.5:
        t = math.sqrt(3.0) * r
        e = np.exp(-t)
        return (1.0 + t) * e, 3.0 * e
    e = np.exp(-r)  # nu == 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(r > 0, e / np.where(r > 0, r, 1.0), 0.0)
    return e, g


def _as_float_vector(a: npt.ArrayLike) -> FloatArray:
    return np.asarray(a, dtype=float).reshape(-1)


class GPModel(RegressorMixin, BaseEstimator):
    """Gaussian-process regressor of E_b over standardised descriptors.

    The kernel is ``ConstantKernel * ARD + WhiteKernel`` (``"ordinary"``, oBO) or a sum of one
    scaled ARD kernel per feature group plus white noise (``"additive"``, aBO). Targets are
    standardised (after subtracting ``mean_function``, if given) and hyperparameters maximise the
    log-marginal likelihood with L-BFGS-B from the initial values plus ``n_restarts`` random
    starts (each the best of several log-uniform draws within the bounds, screened by the
    likelihood).

    Parameters
    ----------
    kernel : {"ordinary", "additive"} or Kernel, default="ordinary"
        Kernel kind, or a ready scikit-learn kernel (include a ``WhiteKernel`` term for noise).
    groups : mapping of str to list of int or None, default=None
        Feature groups (column indices) for ``kernel="additive"``, e.g. one per site A, M, X, Z.
    base : {"matern52", "matern32", "rbf"}, default="matern52"
        Base ARD kernel.
    n_restarts : int, default=1
        Extra optimiser runs from screened random starts (only up to ``restart_limit``
        observations; small data sets have the most multimodal likelihoods).
    restart_limit : int, default=64
        Above this many observations, optimise from the initial values only (time budget).
    max_hyperparameter_samples : int or None, default=300
        With more observations, hyperparameters maximise the likelihood of a random subset of
        this size (seeded by ``random_state``); the posterior always conditions on every
        observation. The likelihood costs O(n^3) per optimiser step, so this keeps a refit on
        500 points at about a second. None uses all observations.
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
        At the fitted hyperparameters (standardised targets); None without data.
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
        n_restarts: int = 1,
        restart_limit: int = 64,
        max_hyperparameter_samples: int | None = 300,
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
        self.n_restarts = n_restarts
        self.restart_limit = restart_limit
        self.max_hyperparameter_samples = max_hyperparameter_samples
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
            return ordinary_kernel(n_features, self.base, noise_bounds=self.noise_bounds)
        if self.kernel == "additive":
            if not self.groups:
                raise ConfigError("kernel='additive' needs groups: {name: [column, ...]}")
            bad = {g: list(c) for g, c in self.groups.items() if max(c, default=0) >= n_features}
            if bad:
                raise ConfigError(f"feature groups {bad} point past the {n_features} columns of X")
            return additive_kernel(self.groups, self.base, noise_bounds=self.noise_bounds)
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
        """
        X, y = check_X_y(X, y, dtype=float, ensure_min_samples=0, y_numeric=True)
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
                n_fit = int(self.max_hyperparameter_samples)
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
        """Maximise the log-marginal likelihood (of ``subset`` if given) over hyperparameters."""
        Xf, zf = (X, z) if subset is None else (X[subset], z[subset])
        restarts = self.n_restarts if Xf.shape[0] <= self.restart_limit else 0
        optimizer = functools.partial(
            _optimize,
            max_iter=self.max_iter,
            n_restarts=restarts,
            rng=rng,
            objective=_FastNegLML.build(kernel, Xf, zf),
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

    # ----------------------------------------------------------------- predict

    def _chunk_rows(self) -> int:
        if self.chunk_size is not None:
            return max(1, int(self.chunk_size))
        return max(256, _CHUNK_ENTRIES // max(1, self.L_.shape[0]))

    def _latent_chunks(
        self, X: FloatArray, *, with_var: bool
    ) -> Iterator[tuple[slice, FloatArray, FloatArray | None, FloatArray | None]]:
        """Yield (rows, mean_z, var_z, Vt) per chunk; ``Vt = K(X_chunk, X_train) L^-T``.

        ``Vt`` has shape (n_chunk, n_train), C-contiguous; the triangular solve overwrites the
        cross-covariance in place (BLAS ``dtrsm``), so a chunk costs one block of memory.
        """
        rows = self._chunk_rows()
        n = self.L_.shape[0]
        for start in range(0, X.shape[0], rows):
            sl = slice(start, min(start + rows, X.shape[0]))
            Xc = X[sl]
            if n == 0:
                mean = np.zeros(Xc.shape[0])
                var = self.signal_kernel_.diag(Xc) if with_var else None
                yield sl, mean, var, (np.zeros((Xc.shape[0], 0)) if with_var else None)
                continue
            Kc = cross_covariance(self.signal_kernel_, Xc, self.X_train_)
            mean = Kc @ self.alpha_
            if not with_var:
                yield sl, mean, None, None
                continue
            # Solve L V = Kc.T in place: Kc.T is the Fortran-ordered view BLAS works on.
            Vt = dtrsm(1.0, self._L_fortran, Kc.T, lower=1, overwrite_b=1).T
            var = self.signal_kernel_.diag(Xc) - np.einsum("ij,ij->i", Vt, Vt)
            yield sl, mean, np.maximum(var, 0.0), Vt

    def _check_features(self, X: npt.ArrayLike) -> FloatArray:
        check_is_fitted(self, "kernel_")
        X = check_array(X, dtype=float, ensure_min_samples=0)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features; the model was fitted on {self.n_features_in_}"
            )
        return X

    def predict(
        self, X: npt.ArrayLike, return_std: bool = False
    ) -> FloatArray | tuple[FloatArray, FloatArray]:
        """Posterior mean (and standard deviation) of the latent E_b, in eV.

        The standard deviation is that of the noise-free function (white noise excluded), as
        acquisition functions need. Rows are processed in chunks.

        Parameters
        ----------
        X : array-like of shape (n_candidates, n_features)
        return_std : bool, default=False

        Returns
        -------
        mean : ndarray of shape (n_candidates,)
        std : ndarray of shape (n_candidates,)
            Only with ``return_std=True``.
        """
        X = self._check_features(X)
        mean_z = np.empty(X.shape[0])
        var_z = np.empty(X.shape[0]) if return_std else None
        with _blas_limit(X.shape[0] * self.L_.shape[0]):
            for sl, m, v, _ in self._latent_chunks(X, with_var=return_std):
                mean_z[sl] = m
                if var_z is not None and v is not None:
                    var_z[sl] = v
        mean = self._prior_mean(X) + self.y_offset_ + self.y_scale_ * mean_z
        if var_z is None:
            return mean
        return mean, self.y_scale_ * np.sqrt(var_z)

    def pool_posterior(
        self, X: npt.ArrayLike, *, cache_limit_bytes: int = 1 << 30
    ) -> PoolPosterior:
        """Posterior over a finite candidate pool, for proposals (see :class:`PoolPosterior`).

        Parameters
        ----------
        X : array-like of shape (n_candidates, n_features)
        cache_limit_bytes : int, default=1 GiB
            Keep ``L^-1 K(X_train, X)`` in memory if it fits (fast conditioning and sampling);
            otherwise recompute it chunk by chunk when needed.

        Returns
        -------
        PoolPosterior
        """
        return PoolPosterior(self, self._check_features(X), cache_limit_bytes=cache_limit_bytes)

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


class PoolPosterior:
    """GP posterior over a finite candidate pool, with kriging-believer conditioning.

    Built by ``model.pool_posterior(X_pool)``: one pass over the pool computes the posterior mean
    and variance (and keeps ``V = L^-1 K(X_train, X_pool)`` if it fits in the cache limit).
    :meth:`condition` then treats a pool candidate as observed at its current posterior mean
    (kriging believer) without touching hyperparameters: the mean is unchanged and the variance
    drops by a rank-1 update costing one pass over ``V``. :meth:`sample` draws joint samples.

    Parameters
    ----------
    model : GPModel
        A fitted model.
    X : ndarray of shape (n_candidates, n_features)
        Candidate descriptors, as the model sees them.
    cache_limit_bytes : int, default=1 GiB
        Memory allowed for ``V`` (``8 * n_train * n_candidates`` bytes).
    exact_sample_limit : int, default=2000
        Pools up to this size are sampled exactly (Cholesky of the joint covariance); larger
        ones exactly on a short list of this size (see :meth:`sample`).
    """

    def __init__(
        self,
        model: GPModel,
        X: FloatArray,
        *,
        cache_limit_bytes: int = 1 << 30,
        exact_sample_limit: int = 2000,
    ) -> None:
        self.model = model
        self.X = X
        self.exact_sample_limit = exact_sample_limit
        n_pool = X.shape[0]
        n_train = model.L_.shape[0]
        self._noise = float(model.noise_level_) + JITTER
        cache = n_train > 0 and 8 * n_train * n_pool <= cache_limit_bytes
        self._Vt: FloatArray | None = np.empty((n_pool, n_train)) if cache else None
        self._mean_z = np.empty(n_pool)
        self._var_z = np.empty(n_pool)
        with _blas_limit(n_pool * n_train):
            for sl, m, v, V in model._latent_chunks(X, with_var=True):
                self._mean_z[sl] = m
                assert v is not None
                assert V is not None
                self._var_z[sl] = v
                if self._Vt is not None:
                    self._Vt[sl] = V
        self._shift = model._prior_mean(X) + model.y_offset_
        self._scale = float(model.y_scale_)
        self._cols: list[FloatArray] = []  # kriging-believer Cholesky columns, each (n_pool,)
        self._diag: list[float] = []
        self.conditioned: list[int] = []

    # --------------------------------------------------------------- summaries

    @property
    def n_candidates(self) -> int:
        """Number of candidates in the pool."""
        return int(self.X.shape[0])

    @property
    def mean(self) -> FloatArray:
        """Posterior mean, eV, shape (n_candidates,) (kriging believer leaves it unchanged)."""
        return self._shift + self._scale * self._mean_z

    @property
    def std(self) -> FloatArray:
        """Posterior standard deviation of the latent E_b, eV, given the conditioned points."""
        return self._scale * np.sqrt(self._var_z)

    # ---------------------------------------------------------- conditioning

    def _train_cross(self, i: int) -> FloatArray:
        """``Vt @ Vt[i]``: the training-data part of the posterior covariance with row i."""
        m = self.model
        n_train = m.L_.shape[0]
        if n_train == 0:
            return np.zeros(self.n_candidates)
        if self._Vt is not None:
            return self._Vt @ self._Vt[i]
        k_i = m.signal_kernel_(m.X_train_, self.X[i : i + 1])[:, 0]
        w = cho_solve((m.L_, True), k_i, check_finite=False)  # K^-1 k(X_train, x_i)
        out = np.empty(self.n_candidates)
        rows = m._chunk_rows()
        for start in range(0, self.n_candidates, rows):
            sl = slice(start, min(start + rows, self.n_candidates))
            out[sl] = cross_covariance(m.signal_kernel_, self.X[sl], m.X_train_) @ w
        return out

    def condition(self, i: int) -> None:
        """Condition on candidate ``i`` observed at its posterior mean (kriging believer).

        Parameters
        ----------
        i : int
            Row of the pool (0 <= i < n_candidates).
        """
        i = int(i)
        if not 0 <= i < self.n_candidates:
            raise IndexError(f"candidate {i} outside the pool of {self.n_candidates}")
        with _blas_limit(self.n_candidates * self.model.L_.shape[0]):
            k = cross_covariance(self.model.signal_kernel_, self.X, self.X[i : i + 1])[:, 0]
            k -= self._train_cross(i)
        for c in self._cols:
            k -= c * c[i]
        d = math.sqrt(max(self._var_z[i], 0.0) + self._noise)
        col = k / d
        self._var_z = np.maximum(self._var_z - col * col, 0.0)
        self._cols.append(col)
        self._diag.append(d)
        self.conditioned.append(i)

    # --------------------------------------------------------------- samples

    def sample(self, n_samples: int = 1, random_state: RandomState = None) -> FloatArray:
        """Joint posterior samples of E_b over the pool, eV.

        Pools of up to ``exact_sample_limit`` candidates are sampled exactly from the joint
        posterior (Cholesky of the covariance). Larger pools are sampled exactly on a short list,
        the ``exact_sample_limit`` candidates with the lowest ``mean - 3 * std`` (those that can
        plausibly be a sample's minimum), and independently from the marginals elsewhere: the
        approximation ignores correlations only among candidates that rarely win. Conditioned
        (pending) candidates are honoured in both cases.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, Generator or None, default=None

        Returns
        -------
        ndarray of shape (n_samples, n_candidates)
        """
        rng = np.random.default_rng(random_state)
        n = self.n_candidates
        if n <= self.exact_sample_limit:
            rows = np.arange(n)
            F = np.empty((n_samples, n))
        else:
            bound = self.mean - 3.0 * self.std
            rows = np.sort(
                np.argpartition(bound, self.exact_sample_limit)[: self.exact_sample_limit]
            )
            F = self._mean_z + np.sqrt(self._var_z) * rng.standard_normal((n_samples, n))
        with _blas_limit(rows.size * max(rows.size, self.model.L_.shape[0])):
            F[:, rows] = self._sample_exact(rows, n_samples, rng)
        return self._shift + self._scale * F

    def _sample_exact(
        self, rows: npt.NDArray[np.intp], n_samples: int, rng: np.random.Generator
    ) -> FloatArray:
        m = self.model
        Xr = self.X[rows]
        cov = m.signal_kernel_(Xr)
        if m.L_.shape[0] > 0:
            if self._Vt is not None:
                Vt = self._Vt[rows]
            else:
                Vt = np.vstack([v for _, _, _, v in m._latent_chunks(Xr, with_var=True)])
            cov -= Vt @ Vt.T
        if self._cols:
            C = np.column_stack(self._cols)[rows]
            cov -= C @ C.T
        chol = _robust_cholesky(cov)
        return self._mean_z[rows] + (chol @ rng.standard_normal((rows.size, n_samples))).T


def _robust_cholesky(cov: FloatArray) -> FloatArray:
    """Lower Cholesky factor with escalating jitter; eigen-decomposition as a last resort."""
    scale = max(float(np.mean(np.diag(cov))), 1e-12)
    eye = np.eye(cov.shape[0])
    for jitter in (1e-10, 1e-8, 1e-6, 1e-4):
        try:
            return cholesky(cov + jitter * scale * eye, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            continue
    w, Q = np.linalg.eigh(cov)
    return Q * np.sqrt(np.clip(w, 0.0, None))


class TransferGP(RegressorMixin, BaseEstimator):
    """A target-carrier GP that inherits from a source-carrier data set (for example Li -> Na).

    The caller builds the target descriptors (with the target carrier's values); the model only
    sees ``X`` for the target and ``X_source`` for the source, with the same columns.

    Modes
    -----
    ``"none"``
        A plain ``base`` GP on the target data; the source is ignored (the baseline).
    ``"hp"`` (Li-hp)
        Fit ``base`` on the source, then fit the target GP with those hyperparameters frozen
        (``optimizer=None``). The amplitude hyperparameters are in units of the source
        standard deviation, so the target keeps the source scale; only its mean (a systematic
        carrier offset) is estimated from the target data (the source mean while there is
        none).
    ``"gp"`` (Li-GP)
        Fit ``base`` on the source; its posterior mean ``mu_src(X)`` becomes the prior mean of
        the target GP, which models the residual ``y - mu_src(X)`` with the source
        hyperparameters and the source target scale. The residual's mean (a systematic
        carrier offset) is estimated from the target data. With
        ``refit_hyperparameters=False`` (default) hyperparameters stay frozen; with True they
        start from the source values and are re-optimised (no random restarts). Far from target
        data, and with no target data, predictions revert to ``mu_src(X) + offset``.
    ``"multitask"``
        One GP over both data sets with :class:`~bo_agent.kernels.CoregionalizationKernel`:
        a task column (0 source, 1 target) is appended to ``X``, and the inter-task correlation
        and target amplitude are learnt with the other hyperparameters. Each task is centred on
        its own mean (the target on the source mean while it has no data), and both are scaled
        by the source standard deviation.

    Parameters
    ----------
    base : GPModel or None, default=None
        Template of the GP (kernel kind, groups, base kernel, restarts, seed); None uses
        ``GPModel()``. It is cloned, never fitted in place.
    mode : {"none", "hp", "gp", "multitask"}, default="gp"
    refit_hyperparameters : bool, default=False
        Mode ``"gp"`` only: re-optimise the source hyperparameters on the target data.

    Attributes
    ----------
    source_model_ : GPModel or None
        The GP fitted on the source data (modes hp and gp).
    model_ : GPModel
        The GP that predicts the target (joint over both tasks for ``"multitask"``).
    task_means_ : (float, float)
        ``"multitask"`` only: source and target means (eV) the tasks are centred on.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X_li = rng.uniform(-2, 2, (40, 2))
    >>> y_li = np.sin(X_li[:, 0])
    >>> X_na = rng.uniform(-2, 2, (3, 2))
    >>> y_na = np.sin(X_na[:, 0]) + 0.1
    >>> gp = TransferGP(GPModel(n_restarts=0, random_state=0), mode="gp")
    >>> gp = gp.fit(X_na, y_na, X_source=X_li, y_source=y_li)
    >>> gp.predict(X_na).shape
    (3,)
    """

    def __init__(
        self,
        base: GPModel | None = None,
        *,
        mode: TransferMode = "gp",
        refit_hyperparameters: bool = False,
    ) -> None:
        self.base = base
        self.mode = mode
        self.refit_hyperparameters = refit_hyperparameters

    def _base(self) -> GPModel:
        return GPModel() if self.base is None else clone(self.base)

    def fit(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        X_source: npt.ArrayLike | None = None,
        y_source: npt.ArrayLike | None = None,
    ) -> TransferGP:
        """Fit on target data, inheriting from the source data as the mode says.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Target-carrier descriptors (``n_samples`` may be 0 except for ``mode="none"``).
        y : array-like of shape (n_samples,)
            Target barriers, eV.
        X_source : array-like of shape (n_source, n_features) or None
            Source-carrier descriptors; required unless ``mode="none"``.
        y_source : array-like of shape (n_source,) or None
            Source barriers, eV.

        Returns
        -------
        self : TransferGP

        Raises
        ------
        ConfigError
            For an unknown mode, or missing or mismatched source data.
        """
        if self.mode not in TRANSFER_MODES:
            raise ConfigError(f"unknown mode={self.mode!r}; expected one of {list(TRANSFER_MODES)}")
        X, y = check_X_y(X, y, dtype=float, ensure_min_samples=0, y_numeric=True)
        self.n_features_in_ = X.shape[1]
        self.source_model_: GPModel | None = None
        if self.mode == "none":
            self.model_ = self._base().fit(X, y)
            return self
        if X_source is None or y_source is None:
            raise ConfigError(f"mode={self.mode!r} needs X_source and y_source")
        Xs, ys = check_X_y(X_source, y_source, dtype=float, y_numeric=True)
        if Xs.shape[1] != X.shape[1]:
            raise ConfigError(
                f"source has {Xs.shape[1]} features, target {X.shape[1]}; they must match"
            )
        if self.mode == "multitask":
            self.model_ = self._fit_multitask(X, y, Xs, ys)
            return self
        src = self._base().fit(Xs, ys)
        self.source_model_ = src
        target = self._base()
        if self.mode == "hp":
            target.set_params(
                kernel=clone(src.kernel_), optimize_hyperparameters=False, y_scale=src.y_scale_
            )
            if y.size == 0:  # no target mean to estimate yet: start from the source mean
                target.set_params(mean_function=_Constant(src.y_offset_))
        else:  # "gp"
            target.set_params(
                kernel=clone(src.kernel_),
                optimize_hyperparameters=bool(self.refit_hyperparameters),
                n_restarts=0,
                mean_function=src.predict,
                y_scale=src.y_scale_,
            )
        self.model_ = target.fit(X, y)
        return self

    def _fit_multitask(
        self, X: FloatArray, y: FloatArray, Xs: FloatArray, ys: FloatArray
    ) -> GPModel:
        base = self._base()
        signal, _ = split_noise(base.make_kernel(X.shape[1]))
        kernel = CoregionalizationKernel(signal, task_column=-1) + WhiteKernel(
            1e-2, base.noise_bounds
        )
        mean_src = float(ys.mean())
        mean_tgt = float(y.mean()) if y.size else mean_src
        scale = float(ys.std()) if ys.size >= 2 and ys.std() > 1e-12 else 1.0
        self.task_means_ = (mean_src, mean_tgt)
        base.set_params(
            kernel=kernel,
            mean_function=_TaskMean(mean_src, mean_tgt),
            y_scale=scale,
            normalize_y=False,
        )
        Xa = np.vstack([_with_task(Xs, 0.0), _with_task(X, 1.0)])
        return base.fit(Xa, np.concatenate([ys, y]))

    def _target_features(self, X: npt.ArrayLike) -> FloatArray:
        check_is_fitted(self, "model_")
        X = check_array(X, dtype=float, ensure_min_samples=0)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features; the model was fitted on {self.n_features_in_}"
            )
        return _with_task(X, 1.0) if self.mode == "multitask" else X

    def predict(
        self, X: npt.ArrayLike, return_std: bool = False
    ) -> FloatArray | tuple[FloatArray, FloatArray]:
        """Posterior mean (and standard deviation) of the target E_b, eV.

        Parameters
        ----------
        X : array-like of shape (n_candidates, n_features)
            Target-carrier descriptors.
        return_std : bool, default=False

        Returns
        -------
        mean : ndarray of shape (n_candidates,)
        std : ndarray of shape (n_candidates,), only with ``return_std=True``
        """
        return self.model_.predict(self._target_features(X), return_std=return_std)

    def pool_posterior(
        self, X: npt.ArrayLike, *, cache_limit_bytes: int = 1 << 30
    ) -> PoolPosterior:
        """Posterior over a pool of target candidates (see :meth:`GPModel.pool_posterior`)."""
        return self.model_.pool_posterior(
            self._target_features(X), cache_limit_bytes=cache_limit_bytes
        )

    def fitted_hyperparameters(self) -> dict[str, Any]:
        """Audit summary: ``mode``, ``target`` (:meth:`GPModel.fitted_hyperparameters`) and
        ``source`` (the source fit for modes hp and gp, else None).
        """
        check_is_fitted(self, "model_")
        src = self.source_model_
        return {
            "mode": self.mode,
            "target": self.model_.fitted_hyperparameters(),
            "source": None if src is None else src.fitted_hyperparameters(),
        }


class _Constant:
    """A constant prior mean, eV (picklable, unlike a lambda)."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def __call__(self, X: FloatArray) -> FloatArray:
        return np.full(X.shape[0], self.value)

    def __repr__(self) -> str:
        return f"_Constant({self.value:.4g})"


class _TaskMean:
    """Prior mean per task for the multi-task GP: source mean (task 0), target mean (task 1)."""

    def __init__(self, source: float, target: float) -> None:
        self.source = float(source)
        self.target = float(target)

    def __call__(self, X: FloatArray) -> FloatArray:
        return np.where(X[:, -1] > 0.5, self.target, self.source)

    def __repr__(self) -> str:
        return f"_TaskMean(source={self.source:.4g}, target={self.target:.4g})"


def _with_task(X: FloatArray, task: float) -> FloatArray:
    return np.hstack([X, np.full((X.shape[0], 1), task)])
