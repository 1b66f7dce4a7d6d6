"""Kernels over feature groups: one group's columns, and a fast sum of per-group terms.

- :class:`GroupKernel` (alias :data:`SubspaceKernel`) applies a base kernel to a subset of the
  feature columns (one descriptor group, for example the M site).
- :class:`AdditiveKernel` sums kernels with one preallocated gradient array, the form of the
  additive (aBO) kernel built by :func:`bo_agent.gp.kernels.additive_kernel`.

Both are scikit-learn kernels (log-space ``theta``, ``bounds``, analytic gradients); import them
from :mod:`bo_agent.gp.kernels`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.gaussian_process.kernels import ConstantKernel, Hyperparameter, Kernel, Product

__all__ = ["AdditiveKernel", "Bounds", "GroupKernel", "SubspaceKernel"]

#: Bounds of one hyperparameter (sklearn's form): (low, high), or "fixed".
Bounds = tuple[float, float] | Literal["fixed"]

FloatArray = npt.NDArray[np.float64]


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
