"""Kernels for tavbo's Gaussian processes: group-sliced, additive and coregionalised.

Every kernel here is a scikit-learn :class:`~sklearn.gaussian_process.kernels.Kernel`: it composes
with ``+`` and ``*``, exposes a log-space ``theta`` with ``bounds``, and returns analytic gradients
with ``eval_gradient=True``, so :class:`~sklearn.gaussian_process.GaussianProcessRegressor` fits
its hyperparameters by gradient-based marginal-likelihood maximisation.

- :class:`GroupKernel` (alias :data:`SubspaceKernel`) applies a base kernel to a subset of the
  feature columns (one descriptor group, for example the M site).
- :func:`additive_kernel` sums one scaled ARD kernel per group (aBO in the report);
  :func:`ordinary_kernel` is one scaled ARD kernel over every column (oBO).
- :class:`CoregionalizationKernel` multiplies a kernel on the features by a 2 x 2 task covariance
  (intrinsic coregionalisation model), for a multi-task GP over two carriers.
- :func:`cross_covariance` evaluates ``k(X, Y)`` for large candidate blocks with few passes.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.gaussian_process.kernels import (
    RBF,
    ConstantKernel,
    Hyperparameter,
    Kernel,
    Matern,
    Product,
    Sum,
    WhiteKernel,
)
from threadpoolctl import ThreadpoolController

from workflows.errors import ConfigError

__all__ = [
    "BASE_KERNELS",
    "AdditiveKernel",
    "BaseKernelName",
    "CoregionalizationKernel",
    "GroupKernel",
    "SubspaceKernel",
    "additive_kernel",
    "ard_kernel",
    "cross_covariance",
    "ordinary_kernel",
    "split_noise",
]

FloatArray = npt.NDArray[np.float64]
Bounds = tuple[float, float] | Literal["fixed"]

BaseKernelName = Literal["matern52", "matern32", "rbf"]
#: Names accepted by :func:`ard_kernel` (and the ``base`` option of the GP models).
BASE_KERNELS: tuple[str, ...] = ("matern52", "matern32", "rbf")

#: Defaults shared by the kernel factories; targets are standardised, features standardised.
DEFAULT_LENGTH_SCALE_BOUNDS: tuple[float, float] = (1e-2, 1e2)
DEFAULT_AMPLITUDE_BOUNDS: tuple[float, float] = (1e-2, 1e2)
DEFAULT_NOISE_LEVEL = 1e-2
DEFAULT_NOISE_BOUNDS: tuple[float, float] = (1e-6, 1.0)


def _prefixed(prefix: str, hyperparameters: Sequence[Hyperparameter]) -> list[Hyperparameter]:
    return [
        Hyperparameter(prefix + h.name, h.value_type, h.bounds, h.n_elements, h.fixed)
        for h in hyperparameters
    ]


class GroupKernel(Kernel):
    """Apply a base kernel to a subset of the feature columns.

    ``GroupKernel(k, dims)(X, Y) == k(X[:, dims], Y[:, dims])``. Hyperparameters of the base
    kernel appear with the prefix ``kernel__`` and are optimised like any other.

    Parameters
    ----------
    kernel : Kernel
        Base kernel, for example ``Matern(length_scale=np.ones(len(dims)), nu=2.5)`` (ARD).
    dims : sequence of int
        Column indices of ``X`` the base kernel sees.
    name : str or None, default=None
        Label of the group (for example the site ``"M"``); shown in ``repr`` only.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.gaussian_process.kernels import RBF
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> k = GroupKernel(RBF(1.0), dims=[1])
    >>> bool(np.allclose(k(X), RBF(1.0)(X[:, [1]])))
    True
    """

    def __init__(self, kernel: Kernel, dims: Sequence[int], name: str | None = None) -> None:
        self.kernel = kernel
        self.dims = dims
        self.name = name

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this kernel; with ``deep`` also the base kernel's as ``kernel__*``."""
        params: dict[str, Any] = {"kernel": self.kernel, "dims": self.dims, "name": self.name}
        if deep:
            params.update(("kernel__" + k, v) for k, v in self.kernel.get_params().items())
        return params

    @property
    def hyperparameters(self) -> list[Hyperparameter]:
        """Hyperparameters of the base kernel, prefixed with ``kernel__``."""
        return _prefixed("kernel__", self.kernel.hyperparameters)

    @property
    def theta(self) -> FloatArray:
        """Log-transformed free hyperparameters (those of the base kernel)."""
        return self.kernel.theta

    @theta.setter
    def theta(self, theta: FloatArray) -> None:
        self.kernel.theta = theta

    @property
    def bounds(self) -> FloatArray:
        """Log-transformed bounds of :attr:`theta`, shape (n_dims, 2)."""
        return self.kernel.bounds

    def _columns(self, X: npt.ArrayLike) -> FloatArray:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        idx = np.asarray(self.dims, dtype=int)
        if idx.size == 0:
            raise ValueError("GroupKernel needs at least one column in dims")
        if idx.max() >= X.shape[1] or idx.min() < -X.shape[1]:
            raise ValueError(
                f"GroupKernel dims {list(map(int, idx))} out of range for X with "
                f"{X.shape[1]} columns"
            )
        return X[:, idx]

    def __call__(
        self, X: npt.ArrayLike, Y: npt.ArrayLike | None = None, eval_gradient: bool = False
    ) -> Any:
        """Kernel matrix ``k(X[:, dims], Y[:, dims])`` and, optionally, its gradient.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features)
            Left argument.
        Y : array-like of shape (n_samples_Y, n_features), default=None
            Right argument; ``None`` means ``X``.
        eval_gradient : bool, default=False
            Also return the gradient with respect to :attr:`theta` (only when ``Y`` is None).

        Returns
        -------
        K : ndarray of shape (n_samples_X, n_samples_Y)
        K_gradient : ndarray of shape (n_samples_X, n_samples_X, n_dims), optional
        """
        Xs = self._columns(X)
        Ys = None if Y is None else self._columns(Y)
        return self.kernel(Xs, Ys, eval_gradient=eval_gradient)

    def diag(self, X: npt.ArrayLike) -> FloatArray:
        """Diagonal of ``k(X, X)``, shape (n_samples,)."""
        return self.kernel.diag(self._columns(X))

    def is_stationary(self) -> bool:
        """Whether the base kernel is stationary (slicing columns preserves it)."""
        return self.kernel.is_stationary()

    @property
    def requires_vector_input(self) -> bool:
        """Always True: columns are sliced from a feature matrix."""
        return True

    def __eq__(self, b: object) -> bool:
        if type(self) is not type(b):
            return False
        assert isinstance(b, GroupKernel)
        return (
            self.kernel == b.kernel
            and np.array_equal(np.asarray(self.dims), np.asarray(b.dims))
            and self.name == b.name
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like every sklearn kernel

    def __repr__(self) -> str:
        label = "" if self.name is None else f"{self.name!r}: "
        return f"GroupKernel({label}{self.kernel!r} on dims {[int(d) for d in self.dims]})"


#: Alias: a kernel acting on a subspace of the features.
SubspaceKernel = GroupKernel


class AdditiveKernel(Kernel):
    """Sum of several kernels, with the gradient filled into one preallocated array.

    Equivalent to ``kernels[0] + kernels[1] + ...`` but faster to optimise: nested binary sums
    copy the growing gradient array once per term. A term ``ConstantKernel * k`` is evaluated
    without building the product's intermediate gradient. Hyperparameters of term ``i`` carry
    the prefix ``k{i}__``.

    Parameters
    ----------
    kernels : sequence of Kernel
        The terms, for example one ``ConstantKernel * GroupKernel(...)`` per feature group.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.gaussian_process.kernels import RBF, Matern
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> k = AdditiveKernel([RBF(1.0), Matern(2.0)])
    >>> bool(np.allclose(k(X), RBF(1.0)(X) + Matern(2.0)(X)))
    True
    """

    def __init__(self, kernels: Sequence[Kernel]) -> None:
        self.kernels = kernels

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters; with ``deep`` also each term (``k{i}``) and its parameters."""
        params: dict[str, Any] = {"kernels": self.kernels}
        if deep:
            for i, k in enumerate(self.kernels):
                params[f"k{i}"] = k
                params.update((f"k{i}__{key}", v) for key, v in k.get_params().items())
        return params

    @property
    def hyperparameters(self) -> list[Hyperparameter]:
        """Hyperparameters of every term, prefixed ``k{i}__``."""
        return [
            h for i, k in enumerate(self.kernels) for h in _prefixed(f"k{i}__", k.hyperparameters)
        ]

    @property
    def theta(self) -> FloatArray:
        """Log-transformed free hyperparameters of all terms, in order."""
        return np.concatenate([np.asarray(k.theta, dtype=float).ravel() for k in self.kernels])

    @theta.setter
    def theta(self, theta: FloatArray) -> None:
        theta = np.asarray(theta, dtype=float)
        i = 0
        for k in self.kernels:
            n = k.n_dims
            k.theta = theta[i : i + n]
            i += n
        if i != theta.size:
            raise ValueError(f"theta has {theta.size} entries; expected {i}")

    @property
    def bounds(self) -> FloatArray:
        """Log-transformed bounds of :attr:`theta`, shape (n_dims, 2)."""
        return np.vstack([np.asarray(k.bounds, dtype=float).reshape(-1, 2) for k in self.kernels])

    def __call__(
        self, X: npt.ArrayLike, Y: npt.ArrayLike | None = None, eval_gradient: bool = False
    ) -> Any:
        """Sum of the terms' kernel matrices and, optionally, the stacked gradient.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features)
        Y : array-like of shape (n_samples_Y, n_features), default=None
        eval_gradient : bool, default=False
            Only when ``Y`` is None.

        Returns
        -------
        K : ndarray of shape (n_samples_X, n_samples_Y)
        K_gradient : ndarray of shape (n_samples_X, n_samples_X, n_dims), optional
        """
        if not eval_gradient:
            return functools.reduce(operator.add, (k(X, Y) for k in self.kernels))
        if Y is not None:
            raise ValueError("Gradient can only be evaluated when Y is None.")
        X = np.asarray(X, dtype=float)
        n = X.shape[0]
        dims = [k.n_dims for k in self.kernels]
        K = np.zeros((n, n))
        grad = np.empty((n, n, sum(dims)))
        j = 0
        for k, p in zip(self.kernels, dims, strict=True):
            if (
                isinstance(k, Product)
                and isinstance(k.k1, ConstantKernel)
                and not k.k1.hyperparameter_constant_value.fixed
            ):
                c = float(k.k1.constant_value)
                Kb, dKb = k.k2(X, eval_gradient=True)
                Kc = c * Kb
                grad[:, :, j] = Kc  # d(c K)/d log c
                np.multiply(dKb, c, out=grad[:, :, j + 1 : j + p])
            else:
                Kc, dK = k(X, eval_gradient=True)
                grad[:, :, j : j + p] = dK
            K += Kc
            j += p
        return K, grad

    def diag(self, X: npt.ArrayLike) -> FloatArray:
        """Diagonal of ``k(X, X)``, shape (n_samples,)."""
        return functools.reduce(operator.add, (k.diag(X) for k in self.kernels))

    def is_stationary(self) -> bool:
        """True if every term is stationary."""
        return all(k.is_stationary() for k in self.kernels)

    @property
    def requires_vector_input(self) -> bool:
        """True if any term needs fixed-length feature vectors."""
        return any(k.requires_vector_input for k in self.kernels)

    def __eq__(self, b: object) -> bool:
        if type(self) is not type(b):
            return False
        assert isinstance(b, AdditiveKernel)
        return len(self.kernels) == len(b.kernels) and all(
            k1 == k2 for k1, k2 in zip(self.kernels, b.kernels, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return " + ".join(repr(k) for k in self.kernels)


class CoregionalizationKernel(Kernel):
    """Intrinsic coregionalisation kernel over two tasks (source 0, target 1).

    One column of ``X`` (``task_column``) holds the task index, 0 for the source carrier and 1 for
    the target carrier; the other columns are the features. The covariance is

    ``k((x, t), (x', t')) = k_x(x, x') * B[t, t']``, with
    ``B = [[1, rho * s], [rho * s, s**2]]``,

    where ``rho = correlation`` (the inter-task correlation) and ``s = target_scale`` (target
    amplitude relative to the source, whose amplitude is carried by ``k_x``). Both are positive
    hyperparameters optimised in log space, so ``rho`` lies in ``correlation_bounds`` within
    (0, 1): anti-correlated carriers are not modelled, which suits Li and Na barriers of the same
    framework.

    Parameters
    ----------
    kernel : Kernel
        Kernel on the features (every column except the task column), for example
        ``ConstantKernel() * Matern(np.ones(d), nu=2.5)``. Do not include a ``WhiteKernel``;
        add one outside: ``CoregionalizationKernel(k) + WhiteKernel()``.
    task_column : int, default=-1
        Column of ``X`` holding the task index (0 or 1).
    correlation : float, default=0.5
        Initial inter-task correlation ``rho``.
    correlation_bounds : (float, float) or "fixed", default=(1e-3, 0.999)
        Bounds on ``rho``.
    target_scale : float, default=1.0
        Initial target-task amplitude ``s`` (a standard-deviation ratio).
    target_scale_bounds : (float, float) or "fixed", default=(0.1, 10.0)
        Bounds on ``s``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.gaussian_process.kernels import RBF
    >>> X = np.array([[0.0, 0], [0.0, 1]])  # same x, source then target
    >>> K = CoregionalizationKernel(RBF(1.0), correlation=0.8)(X)
    >>> float(K[0, 1])
    0.8
    """

    def __init__(
        self,
        kernel: Kernel,
        task_column: int = -1,
        correlation: float = 0.5,
        correlation_bounds: Bounds = (1e-3, 0.999),
        target_scale: float = 1.0,
        target_scale_bounds: Bounds = (0.1, 10.0),
    ) -> None:
        self.kernel = kernel
        self.task_column = task_column
        self.correlation = correlation
        self.correlation_bounds = correlation_bounds
        self.target_scale = target_scale
        self.target_scale_bounds = target_scale_bounds

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this kernel; with ``deep`` also the feature kernel's as ``kernel__*``."""
        params: dict[str, Any] = {
            "kernel": self.kernel,
            "task_column": self.task_column,
            "correlation": self.correlation,
            "correlation_bounds": self.correlation_bounds,
            "target_scale": self.target_scale,
            "target_scale_bounds": self.target_scale_bounds,
        }
        if deep:
            params.update(("kernel__" + k, v) for k, v in self.kernel.get_params().items())
        return params

    @property
    def hyperparameter_correlation(self) -> Hyperparameter:
        """Inter-task correlation ``rho``."""
        return Hyperparameter("correlation", "numeric", self.correlation_bounds)

    @property
    def hyperparameter_target_scale(self) -> Hyperparameter:
        """Target-task amplitude ``s``."""
        return Hyperparameter("target_scale", "numeric", self.target_scale_bounds)

    @property
    def hyperparameters(self) -> list[Hyperparameter]:
        """Feature-kernel hyperparameters (``kernel__*``), then correlation and target_scale."""
        return [
            *_prefixed("kernel__", self.kernel.hyperparameters),
            self.hyperparameter_correlation,
            self.hyperparameter_target_scale,
        ]

    @property
    def theta(self) -> FloatArray:
        """Log-transformed free hyperparameters, in the order of :attr:`hyperparameters`."""
        parts = [np.asarray(self.kernel.theta, dtype=float).ravel()]
        if not self.hyperparameter_correlation.fixed:
            parts.append(np.log([self.correlation]))
        if not self.hyperparameter_target_scale.fixed:
            parts.append(np.log([self.target_scale]))
        return np.concatenate(parts)

    @theta.setter
    def theta(self, theta: FloatArray) -> None:
        theta = np.asarray(theta, dtype=float)
        n_k = self.kernel.n_dims
        self.kernel.theta = theta[:n_k]
        i = n_k
        if not self.hyperparameter_correlation.fixed:
            self.correlation = float(np.exp(theta[i]))
            i += 1
        if not self.hyperparameter_target_scale.fixed:
            self.target_scale = float(np.exp(theta[i]))
            i += 1
        if i != theta.size:
            raise ValueError(f"theta has {theta.size} entries; expected {i}")

    @property
    def bounds(self) -> FloatArray:
        """Log-transformed bounds of :attr:`theta`, shape (n_dims, 2)."""
        parts = [np.asarray(self.kernel.bounds, dtype=float).reshape(-1, 2)]
        parts.extend(
            np.log(np.asarray(h.bounds, dtype=float).reshape(-1, 2))
            for h in (self.hyperparameter_correlation, self.hyperparameter_target_scale)
            if not h.fixed
        )
        return np.vstack(parts)

    @property
    def task_covariance(self) -> FloatArray:
        """The 2 x 2 task covariance ``B`` (source index 0, target index 1)."""
        rho, s = self.correlation, self.target_scale
        return np.array([[1.0, rho * s], [rho * s, s * s]])

    def _split(self, X: npt.ArrayLike) -> tuple[FloatArray, npt.NDArray[np.intp]]:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        col = self.task_column % X.shape[1]
        task = X[:, col]
        if not np.all(np.isin(task, (0.0, 1.0))):
            raise ValueError(
                f"task column {self.task_column} must hold 0 (source) or 1 (target); "
                f"found {sorted(set(np.unique(task).tolist()))[:5]}"
            )
        return np.delete(X, col, axis=1), task.astype(np.intp)

    def __call__(
        self, X: npt.ArrayLike, Y: npt.ArrayLike | None = None, eval_gradient: bool = False
    ) -> Any:
        """Kernel matrix and, optionally, its gradient with respect to :attr:`theta`.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features + 1)
            Features with the task column.
        Y : array-like of shape (n_samples_Y, n_features + 1), default=None
            Right argument; ``None`` means ``X``.
        eval_gradient : bool, default=False
            Also return the gradient (only when ``Y`` is None).

        Returns
        -------
        K : ndarray of shape (n_samples_X, n_samples_Y)
        K_gradient : ndarray of shape (n_samples_X, n_samples_X, n_dims), optional
        """
        Xf, tx = self._split(X)
        if Y is None:
            Yf, ty = Xf, tx
        else:
            if eval_gradient:
                raise ValueError("Gradient can only be evaluated when Y is None.")
            Yf, ty = self._split(Y)
        B = self.task_covariance
        Bt = B[tx[:, None], ty[None, :]]
        if not eval_gradient:
            return self.kernel(Xf, None if Y is None else Yf) * Bt
        Kx, dKx = self.kernel(Xf, eval_gradient=True)
        grads = [dKx * Bt[:, :, None]]
        rho, s = self.correlation, self.target_scale
        cross = tx[:, None] != ty[None, :]
        if not self.hyperparameter_correlation.fixed:
            # d B / d log(rho): rho * s off the diagonal blocks, 0 within a task.
            grads.append((Kx * np.where(cross, rho * s, 0.0))[:, :, None])
        if not self.hyperparameter_target_scale.fixed:
            # d B / d log(s): rho * s across tasks, 2 s^2 within the target task.
            both_target = (tx[:, None] == 1) & (ty[None, :] == 1)
            dB = np.where(cross, rho * s, np.where(both_target, 2.0 * s * s, 0.0))
            grads.append((Kx * dB)[:, :, None])
        return Kx * Bt, np.concatenate(grads, axis=2)

    def diag(self, X: npt.ArrayLike) -> FloatArray:
        """Diagonal of ``k(X, X)``, shape (n_samples,)."""
        Xf, t = self._split(X)
        return self.kernel.diag(Xf) * np.diag(self.task_covariance)[t]

    def is_stationary(self) -> bool:
        """False: the covariance depends on the task indices, not only on ``x - x'``."""
        return False

    @property
    def requires_vector_input(self) -> bool:
        """Always True."""
        return True

    def __eq__(self, b: object) -> bool:
        if type(self) is not type(b):
            return False
        assert isinstance(b, CoregionalizationKernel)
        pa, pb = self.get_params(deep=False), b.get_params(deep=False)
        return all(np.all(pa[k] == pb[k]) for k in pa)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"CoregionalizationKernel({self.kernel!r}, correlation={self.correlation:.3g}, "
            f"target_scale={self.target_scale:.3g}, task_column={self.task_column})"
        )


# ---------------------------------------------------------------------------- factories


def _check_kind(kind: str) -> None:
    if kind not in BASE_KERNELS:
        raise ConfigError(f"unknown base kernel {kind=}; expected one of {list(BASE_KERNELS)}")


def ard_kernel(
    n_dims: int,
    kind: BaseKernelName = "matern52",
    *,
    length_scale: float | None = None,
    length_scale_bounds: Bounds = DEFAULT_LENGTH_SCALE_BOUNDS,
) -> Kernel:
    """Unit-amplitude stationary kernel with one length scale per dimension (ARD).

    Parameters
    ----------
    n_dims : int
        Number of feature columns the kernel sees.
    kind : {"matern52", "matern32", "rbf"}, default="matern52"
        Matern nu=5/2, Matern nu=3/2 or squared exponential.
    length_scale : float or None, default=None
        Initial length scale of every dimension; None uses ``sqrt(n_dims)``, the typical
        distance between standardised feature vectors.
    length_scale_bounds : (float, float) or "fixed", default=(1e-2, 1e2)
        Bounds on each length scale (features are standardised).

    Returns
    -------
    Kernel
        ``Matern(length_scale=[l] * n_dims, nu=...)`` or ``RBF(length_scale=[l] * n_dims)``.

    Raises
    ------
    ConfigError
        If ``kind`` is unknown or ``n_dims < 1``.
    """
    _check_kind(kind)
    if n_dims < 1:
        raise ConfigError(f"ard_kernel needs n_dims >= 1, got {n_dims}")
    ls = np.full(n_dims, math.sqrt(n_dims) if length_scale is None else float(length_scale))
    if kind == "rbf":
        return RBF(length_scale=ls, length_scale_bounds=length_scale_bounds)
    nu = 2.5 if kind == "matern52" else 1.5
    return Matern(length_scale=ls, length_scale_bounds=length_scale_bounds, nu=nu)


def ordinary_kernel(
    n_features: int,
    kind: BaseKernelName = "matern52",
    *,
    amplitude_bounds: Bounds = DEFAULT_AMPLITUDE_BOUNDS,
    length_scale_bounds: Bounds = DEFAULT_LENGTH_SCALE_BOUNDS,
    noise_level: float = DEFAULT_NOISE_LEVEL,
    noise_bounds: Bounds = DEFAULT_NOISE_BOUNDS,
) -> Kernel:
    """Kernel of ordinary BO (oBO): ``ConstantKernel * ARD(all columns) + WhiteKernel``.

    Parameters
    ----------
    n_features : int
        Number of feature columns.
    kind : {"matern52", "matern32", "rbf"}, default="matern52"
        Base kernel (see :func:`ard_kernel`).
    amplitude_bounds, length_scale_bounds, noise_bounds : (float, float) or "fixed"
        Bounds on the signal variance, the length scales and the noise variance, in
        standardised target units.
    noise_level : float, default=1e-2
        Initial noise variance (standardised units).

    Returns
    -------
    Kernel
    """
    signal = ConstantKernel(1.0, amplitude_bounds) * ard_kernel(
        n_features, kind, length_scale_bounds=length_scale_bounds
    )
    return signal + WhiteKernel(noise_level, noise_bounds)


def additive_kernel(
    groups: Mapping[str, Sequence[int]],
    kind: BaseKernelName = "matern52",
    *,
    amplitude_bounds: Bounds = DEFAULT_AMPLITUDE_BOUNDS,
    length_scale_bounds: Bounds = DEFAULT_LENGTH_SCALE_BOUNDS,
    noise_level: float = DEFAULT_NOISE_LEVEL,
    noise_bounds: Bounds = DEFAULT_NOISE_BOUNDS,
) -> Kernel:
    """Kernel of additive BO (aBO): one scaled ARD kernel per feature group, plus noise.

    ``sum_g ConstantKernel_g * GroupKernel(ARD, groups[g]) + WhiteKernel``, the sum held in one
    :class:`AdditiveKernel` (term ``i`` is group ``i`` in the order of ``groups``). Columns in
    no group are ignored.

    Parameters
    ----------
    groups : mapping of str to sequence of int
        Group name -> column indices, for example ``{"A": [0, ..., 7], "M": [8, ..., 15]}``.
    kind : {"matern52", "matern32", "rbf"}, default="matern52"
        Base kernel of every group.
    amplitude_bounds, length_scale_bounds, noise_bounds, noise_level
        As in :func:`ordinary_kernel`; each group's amplitude starts at ``1 / len(groups)``.

    Returns
    -------
    Kernel

    Raises
    ------
    ConfigError
        If ``groups`` is empty or a group has no column.

    Examples
    --------
    >>> k = additive_kernel({"A": [0, 1], "M": [2, 3]})
    >>> k.n_dims  # 2 amplitudes + 4 length scales + 1 noise level
    7
    """
    if not groups:
        raise ConfigError("additive_kernel needs at least one feature group")
    empty = [name for name, cols in groups.items() if len(cols) == 0]
    if empty:
        raise ConfigError(f"feature groups {empty} have no columns")
    parts = [
        ConstantKernel(1.0 / len(groups), amplitude_bounds)
        * GroupKernel(
            ard_kernel(len(cols), kind, length_scale_bounds=length_scale_bounds),
            dims=[int(c) for c in cols],
            name=name,
        )
        for name, cols in groups.items()
    ]
    return AdditiveKernel(parts) + WhiteKernel(noise_level, noise_bounds)


def split_noise(kernel: Kernel) -> tuple[Kernel, float]:
    """Split a kernel into its signal part and its white-noise variance.

    ``WhiteKernel`` terms are removed from the top-level sums only (``k + White`` and nested
    sums); noise anywhere else stays part of the signal.

    Parameters
    ----------
    kernel : Kernel
        For example ``ConstantKernel() * Matern() + WhiteKernel(0.01)``.

    Returns
    -------
    signal : Kernel
        The kernel without its white-noise terms (shares sub-kernels with ``kernel``).
    noise_level : float
        Sum of the removed noise variances.

    Raises
    ------
    ValueError
        If the kernel is pure white noise.
    """

    def strip(k: Kernel) -> tuple[Kernel | None, float]:
        if isinstance(k, WhiteKernel):
            return None, float(k.noise_level)
        if isinstance(k, Sum):
            a, na = strip(k.k1)
            b, nb = strip(k.k2)
            if a is None or b is None:
                return (b if a is None else a), na + nb
            return (k if na + nb == 0 else Sum(a, b)), na + nb
        return k, 0.0

    signal, noise = strip(kernel)
    if signal is None:
        raise ValueError(f"kernel {kernel!r} is pure white noise; it has no signal part")
    return signal, noise


# -------------------------------------------------------------------- cross covariance


def cross_covariance(kernel: Kernel, X: npt.ArrayLike, Y: npt.ArrayLike) -> FloatArray:
    """``kernel(X, Y)`` for large ``X``, faster for tavbo's standard kernels.

    Squared distances come from one matrix product (``|a|^2 + |b|^2 - 2 a.b``) instead of
    ``scipy.spatial.distance.cdist``, and the Matern/RBF formula runs in place. Covers sums,
    :class:`AdditiveKernel`, ``ConstantKernel * k``, :class:`GroupKernel`, ``WhiteKernel`` (zero
    between distinct inputs) and RBF/Matern with nu in 0.5, 1.5, 2.5, inf; any other kernel is
    evaluated by itself. Results agree with ``kernel(X, Y)`` to about 1e-12; prefer
    ``kernel(X)`` for the training covariance, whose diagonal must be exact.

    Parameters
    ----------
    kernel : Kernel
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features)

    Returns
    -------
    ndarray of shape (n_samples_X, n_samples_Y)
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    out = np.zeros((X.shape[0], Y.shape[0]))
    # The blocks are small matrix products: BLAS threads only add hand-off cost (and, on a busy
    # machine, a great deal of it).
    with _blas_controller().limit(limits=1, user_api="blas"):
        _accumulate(kernel, X, Y, 1.0, out)
    return out


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def _accumulate(
    kernel: Kernel, X: FloatArray, Y: FloatArray, scale: float, out: FloatArray
) -> None:
    """``out += scale * kernel(X, Y)``, recursing into sums, scalings and column groups."""
    if isinstance(kernel, AdditiveKernel):
        for k in kernel.kernels:
            _accumulate(k, X, Y, scale, out)
    elif isinstance(kernel, Sum):
        _accumulate(kernel.k1, X, Y, scale, out)
        _accumulate(kernel.k2, X, Y, scale, out)
    elif isinstance(kernel, Product) and isinstance(kernel.k1, ConstantKernel):
        _accumulate(kernel.k2, X, Y, scale * float(kernel.k1.constant_value), out)
    elif isinstance(kernel, GroupKernel):
        idx = np.asarray(kernel.dims, dtype=np.intp)
        _accumulate(kernel.kernel, X[:, idx], Y[:, idx], scale, out)
    elif isinstance(kernel, WhiteKernel):
        return  # zero between distinct inputs, as sklearn's WhiteKernel(X, Y)
    elif type(kernel) in (RBF, Matern) and getattr(kernel, "nu", math.inf) in _NU_FACTOR:
        _add_stationary(kernel, X, Y, scale, out)
    else:
        out += scale * np.asarray(kernel(X, Y), dtype=float)


#: Distance factor f of each supported nu: the kernel is a function of t = f * r.
_NU_FACTOR = {0.5: 1.0, 1.5: math.sqrt(3.0), 2.5: math.sqrt(5.0), math.inf: math.sqrt(0.5)}
#: Entries of one block of rows evaluated at once (512 kB of float64): every pass of the
#: formula then stays in cache, three times faster than whole chunks.
_BLOCK_ENTRIES = 1 << 16


def _add_stationary(
    kernel: RBF, X: FloatArray, Y: FloatArray, scale: float, out: FloatArray
) -> None:
    """``out += scale * k(X, Y)`` for RBF/Matern, in cache-sized blocks of rows."""
    if scale <= 0.0:
        return
    nu = getattr(kernel, "nu", math.inf)
    w = _NU_FACTOR[nu] / np.asarray(kernel.length_scale, dtype=float)
    A, B = X * w, Y * w
    # t^2 = |a|^2 + |b|^2 - 2 a.b as one matrix product of augmented inputs.
    left = np.hstack([A, np.einsum("ij,ij->i", A, A)[:, None], np.ones((A.shape[0], 1))])
    right = np.hstack([-2.0 * B, np.ones((B.shape[0], 1)), np.einsum("ij,ij->i", B, B)[:, None]])
    right_t = np.ascontiguousarray(right.T)
    log_scale = math.log(scale)
    rows = max(16, _BLOCK_ENTRIES // max(1, B.shape[0]))
    for start in range(0, A.shape[0], rows):
        block = slice(start, start + rows)
        t2 = left[block] @ right_t
        np.maximum(t2, 0.0, out=t2)
        out[block] += _stationary_from_t2(t2, nu, log_scale)


def _stationary_from_t2(t2: FloatArray, nu: float, log_scale: float) -> FloatArray:
    """``exp(log_scale) * k`` from squared scaled distances ``t2``, overwriting ``t2``."""
    if nu == math.inf:  # exp(-r^2 / 2) = exp(-t^2)
        np.subtract(log_scale, t2, out=t2)
        return np.exp(t2, out=t2)
    poly = t2 * (1.0 / 3.0) if nu == 2.5 else None
    t = np.sqrt(t2, out=t2)
    if nu == 0.5:
        np.subtract(log_scale, t, out=t)
        return np.exp(t, out=t)
    if poly is None:  # nu == 1.5: (1 + t) exp(-t)
        poly = t + 1.0
    else:  # nu == 2.5: (1 + t + t^2 / 3) exp(-t)
        poly += t
        poly += 1.0
    np.subtract(log_scale, t, out=t)
    poly *= np.exp(t, out=t)
    return poly
