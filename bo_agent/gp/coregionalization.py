"""Intrinsic coregionalisation kernel: a multi-task GP over two carriers (source and target).

:class:`CoregionalizationKernel` multiplies a kernel on the features by a 2 x 2 task covariance;
:class:`bo_agent.gp.transfer.TransferGP` uses it in ``mode="multitask"``. Import it from
:mod:`bo_agent.gp.kernels`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sklearn.gaussian_process.kernels import Hyperparameter, Kernel

from bo_agent.gp.group_kernels import _prefixed

if TYPE_CHECKING:
    from bo_agent.gp.group_kernels import Bounds

__all__ = ["CoregionalizationKernel"]

FloatArray = npt.NDArray[np.float64]


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
