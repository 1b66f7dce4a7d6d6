"""Transfer between carriers: a target-carrier GP that inherits from a source-carrier data set.

:class:`TransferGP` (for example Li -> Na) wraps :class:`~bo_agent.gp.models.GPModel` in one of
four modes: ``"hp"`` (source hyperparameters), ``"gp"`` (source posterior mean as prior mean),
``"multitask"`` (one GP over both carriers with a coregionalisation kernel), or ``"none"`` (the
comparison without transfer). Like ``GPModel`` it predicts with ``predict(X, return_std=True)``
and hands proposals a :class:`~bo_agent.gp.posterior.PoolPosterior`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.gaussian_process.kernels import WhiteKernel
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from bo_agent.gp.coregionalization import CoregionalizationKernel
from bo_agent.gp.kernels import split_noise
from bo_agent.gp.models import GPModel
from workflows.errors import ConfigError

if TYPE_CHECKING:
    from bo_agent.gp.posterior import PoolPosterior

__all__ = ["TRANSFER_MODES", "TransferGP", "TransferMode", "source_weight"]

FloatArray = npt.NDArray[np.float64]

TransferMode = Literal["none", "hp", "gp", "multitask"]
TRANSFER_MODES: tuple[str, ...] = ("none", "hp", "gp", "multitask")


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
        One GP over both data sets with :class:`~bo_agent.gp.kernels.CoregionalizationKernel`:
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
    source_weight_sd : float or None, default=None
        Mode ``"gp"`` only. None: the source mean enters with weight 1 (the report's Li-GP). A
        number: the weight is estimated from the target data (:func:`source_weight`, least
        squares with a normal prior of mean 1 and this standard deviation), so with few target
        results it stays near 1.

    Attributes
    ----------
    source_model_ : GPModel or None
        The GP fitted on the source data (modes hp and gp).
    source_weight_ : float
        Weight of the source mean in the target's prior mean (mode gp; 1 unless estimated).
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
        source_weight_sd: float | None = None,
    ) -> None:
        self.base = base
        self.mode = mode
        self.refit_hyperparameters = refit_hyperparameters
        self.source_weight_sd = source_weight_sd

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
        self.source_weight_ = 1.0
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
            mean: Any = src.predict
            if self.source_weight_sd is not None:
                self.source_weight_ = source_weight(src, X, y, self.source_weight_sd)
                mean = _Scaled(src.predict, self.source_weight_)
            target.set_params(
                kernel=clone(src.kernel_),
                optimize_hyperparameters=bool(self.refit_hyperparameters),
                n_restarts=0,
                mean_function=mean,
                y_scale=src.y_scale_,
            )
        self.model_ = target.fit(X, y)
        return self

    def _fit_multitask(
        self, X: FloatArray, y: FloatArray, Xs: FloatArray, ys: FloatArray
    ) -> GPModel:
        base = self._base()
        # Start from the source GP's fitted hyperparameters (the deterministic fit hp and gp
        # use too): from the kernel defaults the ~40-parameter aBO likelihood is flat and
        # L-BFGS-B ran out of iterations at every decision (replays: 43 -> 14 s per trial).
        src = self._base().fit(Xs, ys)
        signal, _ = split_noise(src.kernel_)
        noise = float(np.clip(src.noise_level_, *base.noise_bounds))
        kernel = CoregionalizationKernel(clone(signal), task_column=-1) + WhiteKernel(
            noise, base.noise_bounds
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
            "source_weight": float(getattr(self, "source_weight_", 1.0)),
            "target": self.model_.fitted_hyperparameters(),
            "source": None if src is None else src.fitted_hyperparameters(),
        }


def source_weight(source: GPModel, X: FloatArray, y: FloatArray, prior_sd: float) -> float:
    """Weight ``w`` of the source mean in the target model ``y = a + w * mu_src(X) + e``.

    Least squares with a free offset ``a`` and a normal prior N(1, prior_sd^2) on ``w``, the
    residuals ``e`` taken at the source results' spread (on the source GP's standardised scale):
    a ridge regression towards weight 1 whose pull fades as target results accumulate. Not the
    GLS fit under the source kernel: with the source's near-zero noise that covariance makes the
    weight chase the target's own structure (a toy target 0.3 source + 0.7 other: GLS 2.5,
    this 0.4). Clipped to [0, 1 + 3 prior_sd]: a negative weight would turn the source upside
    down, which is the trust test's business (:mod:`bo_agent.decide.selection`). 1 with fewer
    than two target results.
    """
    if y.size < 2 or prior_sd <= 0:
        return 1.0
    scale = float(source.y_scale_)
    mu = source.predict(X) / scale
    z = y / scale
    mc, zc = mu - mu.mean(), z - z.mean()
    ridge = 1.0 / prior_sd**2
    w = (float(mc @ zc) + ridge) / (float(mc @ mc) + ridge)
    return float(np.clip(w, 0.0, 1.0 + 3.0 * prior_sd))


class _Scaled:
    """``weight * mean(X)`` (picklable)."""

    def __init__(self, mean: Any, weight: float) -> None:
        self.mean = mean
        self.weight = float(weight)

    def __call__(self, X: FloatArray) -> FloatArray:
        return self.weight * np.asarray(self.mean(X), dtype=float)

    def __repr__(self) -> str:
        return f"_Scaled(weight={self.weight:.3g})"


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
