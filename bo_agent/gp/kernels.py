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

This module holds the factories, :func:`split_noise` and :func:`cross_covariance`; the kernel
classes live in :mod:`bo_agent.gp.group_kernels` and :mod:`bo_agent.gp.coregionalization`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from sklearn.gaussian_process.kernels import (
    RBF,
    ConstantKernel,
    Kernel,
    Matern,
    Product,
    Sum,
    WhiteKernel,
)
from threadpoolctl import ThreadpoolController

from bo_agent.gp.group_kernels import AdditiveKernel, Bounds, GroupKernel
from workflows.errors import ConfigError

__all__ = [
    "BASE_KERNELS",
    "BaseKernelName",
    "additive_kernel",
    "ard_kernel",
    "cross_covariance",
    "ordinary_kernel",
    "split_noise",
    "stationary_kernel",
]

FloatArray = npt.NDArray[np.float64]

BaseKernelName = Literal["matern52", "matern32", "rbf"]
#: Names accepted by :func:`ard_kernel` (and the ``base`` option of the GP models).
BASE_KERNELS: tuple[str, ...] = ("matern52", "matern32", "rbf")

#: Defaults shared by the kernel factories; targets are standardised, features standardised.
DEFAULT_LENGTH_SCALE_BOUNDS: tuple[float, float] = (1e-2, 1e2)
DEFAULT_AMPLITUDE_BOUNDS: tuple[float, float] = (1e-2, 1e2)
#: Initial noise variance: a tenth of the standardised target variance. From 1e-2 the first
#: L-BFGS-B steps on the 159 CHGNet barriers of one carrier (oBO, no restarts) collapse the
#: length scales into a white-noise fit (log-likelihood -223 instead of -182 on Na, -226
#: instead of -150 on Li); see docs/benchmarks.md.
DEFAULT_NOISE_LEVEL = 1e-1
DEFAULT_NOISE_BOUNDS: tuple[float, float] = (1e-6, 1.0)


# ---------------------------------------------------------------------------- factories


def _check_kind(kind: str) -> None:
    if kind not in BASE_KERNELS:
        raise ConfigError(f"unknown base kernel {kind=}; expected one of {list(BASE_KERNELS)}")


def stationary_kernel(
    n_dims: int,
    kind: BaseKernelName = "matern52",
    *,
    ard: bool = True,
    length_scale: float | None = None,
    length_scale_bounds: Bounds = DEFAULT_LENGTH_SCALE_BOUNDS,
) -> Kernel:
    """Unit-amplitude stationary kernel over ``n_dims`` columns.

    Parameters
    ----------
    n_dims : int
        Number of feature columns the kernel sees.
    kind : {"matern52", "matern32", "rbf"}, default="matern52"
        Matern nu=5/2, Matern nu=3/2 or squared exponential.
    ard : bool, default=True
        One length scale per column (automatic relevance determination), or one length scale
        shared by all columns (isotropic: 1 hyperparameter instead of ``n_dims``, which is
        what 5-20 observations can determine; see docs/benchmarks.md).
    length_scale : float or None, default=None
        Initial length scale (of every dimension); None uses ``sqrt(n_dims)``, the typical
        distance between standardised feature vectors.
    length_scale_bounds : (float, float) or "fixed", default=(1e-2, 1e2)
        Bounds on each length scale (features are standardised).

    Returns
    -------
    Kernel
        ``Matern(length_scale=..., nu=...)`` or ``RBF(length_scale=...)``, with an array of
        ``n_dims`` length scales (ARD) or a scalar one.

    Raises
    ------
    ConfigError
        If ``kind`` is unknown or ``n_dims < 1``.
    """
    _check_kind(kind)
    if n_dims < 1:
        raise ConfigError(f"a kernel needs n_dims >= 1, got {n_dims}")
    start = math.sqrt(n_dims) if length_scale is None else float(length_scale)
    ls: float | np.ndarray = np.full(n_dims, start) if ard else start
    if kind == "rbf":
        return RBF(length_scale=ls, length_scale_bounds=length_scale_bounds)
    nu = 2.5 if kind == "matern52" else 1.5
    return Matern(length_scale=ls, length_scale_bounds=length_scale_bounds, nu=nu)


def ard_kernel(
    n_dims: int,
    kind: BaseKernelName = "matern52",
    *,
    length_scale: float | None = None,
    length_scale_bounds: Bounds = DEFAULT_LENGTH_SCALE_BOUNDS,
) -> Kernel:
    """:func:`stationary_kernel` with one length scale per dimension (ARD)."""
    return stationary_kernel(
        n_dims, kind, ard=True, length_scale=length_scale, length_scale_bounds=length_scale_bounds
    )


def ordinary_kernel(
    n_features: int,
    kind: BaseKernelName = "matern52",
    *,
    ard: bool = True,
    amplitude_bounds: Bounds = DEFAULT_AMPLITUDE_BOUNDS,
    length_scale_bounds: Bounds = DEFAULT_LENGTH_SCALE_BOUNDS,
    noise_level: float = DEFAULT_NOISE_LEVEL,
    noise_bounds: Bounds = DEFAULT_NOISE_BOUNDS,
) -> Kernel:
    """Kernel of ordinary BO (oBO): ``ConstantKernel * k(all columns) + WhiteKernel``.

    Parameters
    ----------
    n_features : int
        Number of feature columns.
    kind : {"matern52", "matern32", "rbf"}, default="matern52"
        Base kernel (see :func:`stationary_kernel`).
    ard : bool, default=True
        One length scale per column, or one shared by all.
    amplitude_bounds, length_scale_bounds, noise_bounds : (float, float) or "fixed"
        Bounds on the signal variance, the length scales and the noise variance, in
        standardised target units.
    noise_level : float, default=0.1
        Initial noise variance (standardised units).

    Returns
    -------
    Kernel
    """
    signal = ConstantKernel(1.0, amplitude_bounds) * stationary_kernel(
        n_features, kind, ard=ard, length_scale_bounds=length_scale_bounds
    )
    return signal + WhiteKernel(noise_level, noise_bounds)


def additive_kernel(
    groups: Mapping[str, Sequence[int]],
    kind: BaseKernelName = "matern52",
    *,
    ard: bool = True,
    amplitude_bounds: Bounds = DEFAULT_AMPLITUDE_BOUNDS,
    length_scale_bounds: Bounds = DEFAULT_LENGTH_SCALE_BOUNDS,
    noise_level: float = DEFAULT_NOISE_LEVEL,
    noise_bounds: Bounds = DEFAULT_NOISE_BOUNDS,
) -> Kernel:
    """Kernel of additive BO (aBO): one scaled kernel per feature group, plus noise.

    ``sum_g ConstantKernel_g * GroupKernel(k, groups[g]) + WhiteKernel``, the sum held in one
    :class:`AdditiveKernel` (term ``i`` is group ``i`` in the order of ``groups``). Columns in
    no group are ignored.

    Parameters
    ----------
    groups : mapping of str to sequence of int
        Group name -> column indices, for example ``{"A": [0, ..., 7], "M": [8, ..., 15]}``.
    kind : {"matern52", "matern32", "rbf"}, default="matern52"
        Base kernel of every group.
    ard : bool, default=True
        One length scale per column, or one per group.
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
            stationary_kernel(len(cols), kind, ard=ard, length_scale_bounds=length_scale_bounds),
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


def cross_covariance(
    kernel: Kernel, X: npt.ArrayLike, Y: npt.ArrayLike, *, single_precision: bool = False
) -> FloatArray:
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
    single_precision : bool, default=False
        Evaluate the Matern/RBF formula (square root, exponential) and the sum over kernel
        terms in float32 (a float32 result): four times faster, values to about 1e-7 relative
        (squared distances stay float64). For very large pools only, where the formula is most
        of a proposal's cost.

    Returns
    -------
    ndarray of shape (n_samples_X, n_samples_Y)
        float64, or float32 with ``single_precision``.
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    out = np.zeros((X.shape[0], Y.shape[0]), dtype=np.float32 if single_precision else float)
    # The blocks are small matrix products: BLAS threads only add hand-off cost (and, on a busy
    # machine, a great deal of it).
    with _blas_controller().limit(limits=1, user_api="blas"):
        _accumulate(kernel, X, Y, 1.0, out, single_precision)
    return out


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def _accumulate(
    kernel: Kernel,
    X: FloatArray,
    Y: FloatArray,
    scale: float,
    out: FloatArray,
    single: bool = False,
) -> None:
    """``out += scale * kernel(X, Y)``, recursing into sums, scalings and column groups."""
    if isinstance(kernel, AdditiveKernel):
        for k in kernel.kernels:
            _accumulate(k, X, Y, scale, out, single)
    elif isinstance(kernel, Sum):
        _accumulate(kernel.k1, X, Y, scale, out, single)
        _accumulate(kernel.k2, X, Y, scale, out, single)
    elif isinstance(kernel, Product) and isinstance(kernel.k1, ConstantKernel):
        _accumulate(kernel.k2, X, Y, scale * float(kernel.k1.constant_value), out, single)
    elif isinstance(kernel, GroupKernel):
        idx = np.asarray(kernel.dims, dtype=np.intp)
        _accumulate(kernel.kernel, X[:, idx], Y[:, idx], scale, out, single)
    elif isinstance(kernel, WhiteKernel):
        return  # zero between distinct inputs, as sklearn's WhiteKernel(X, Y)
    elif type(kernel) in (RBF, Matern) and getattr(kernel, "nu", math.inf) in _NU_FACTOR:
        _add_stationary(kernel, X, Y, scale, out, single)
    else:
        out += scale * np.asarray(kernel(X, Y), dtype=float)


#: Distance factor f of each supported nu: the kernel is a function of t = f * r.
_NU_FACTOR = {0.5: 1.0, 1.5: math.sqrt(3.0), 2.5: math.sqrt(5.0), math.inf: math.sqrt(0.5)}
#: Entries of one block of rows evaluated at once (512 kB of float64): every pass of the
#: formula then stays in cache, three times faster than whole chunks.
_BLOCK_ENTRIES = 1 << 16


def _add_stationary(
    kernel: RBF, X: FloatArray, Y: FloatArray, scale: float, out: FloatArray, single: bool = False
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
        if single:  # clip after the cast: half the memory traffic
            t2 = t2.astype(np.float32)
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
