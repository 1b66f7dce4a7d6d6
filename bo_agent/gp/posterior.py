"""GP posterior over a finite candidate pool: kriging-believer conditioning and joint samples.

:class:`PoolPosterior` is what ``model.pool_posterior(X_pool)`` hands the proposal layer
(:class:`~bo_agent.gp.models.GPModel` and :class:`~bo_agent.gp.transfer.TransferGP` both make one):
mean and standard deviation over the pool, cheap conditioning on pending candidates, and joint
posterior samples for Thompson sampling. It keeps ``L^-1 K(X_train, X_pool)`` when it fits in
memory (400 MB for 100,000 candidates and 500 observations).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt
from scipy.linalg import cho_solve, cholesky

from bo_agent.gp.kernels import cross_covariance
from bo_agent.gp.linalg import JITTER, _blas_limit

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sklearn.gaussian_process.kernels import Kernel

__all__ = ["FittedGP", "PoolPosterior", "RandomState"]

FloatArray = npt.NDArray[np.float64]
RandomState = int | np.random.Generator | None


class FittedGP(Protocol):
    """What a posterior needs of a fitted GP (:class:`~bo_agent.gp.models.GPModel` has it).

    A protocol rather than the class, so that the model module can import this one.
    """

    L_: FloatArray
    noise_level_: float
    signal_kernel_: Kernel
    y_offset_: float
    y_scale_: float

    def _prior_mean(self, X: FloatArray) -> FloatArray: ...

    def _latent_chunks(
        self, X: FloatArray, *, with_var: bool
    ) -> Iterator[tuple[slice, FloatArray, FloatArray | None, FloatArray | None]]: ...


class PoolPosterior:
    """GP posterior over a finite candidate pool, with kriging-believer conditioning.

    Built by ``model.pool_posterior(X_pool)``: one pass over the pool computes the posterior mean
    and variance (and keeps ``V = L^-1 K(X_train, X_pool)`` if it fits in the cache limit).
    :meth:`condition` then treats a pool candidate as observed at its current posterior mean
    (kriging believer) without touching hyperparameters: the mean is unchanged and the variance
    drops by a rank-1 update costing one pass over ``V``. :meth:`sample` draws joint samples.

    Parameters
    ----------
    model : FittedGP
        A fitted model.
    X : ndarray of shape (n_candidates, n_features)
        Candidate descriptors, as the model sees them.
    cache_limit_bytes : int, default=1 GiB
        Memory allowed for ``V`` (``8 * n_train * n_candidates`` bytes; half that on the
        large, float32 path).
    exact_sample_limit : int, default=2000
        Pools up to this size are sampled exactly (Cholesky of the joint covariance); larger
        ones exactly on a short list of this size (see :meth:`sample`).
    """

    def __init__(
        self,
        model: FittedGP,
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
        dtype = model.vt_dtype(n_pool) if hasattr(model, "vt_dtype") else np.float64
        self._Vt: FloatArray | None = np.empty((n_pool, n_train), dtype) if cache else None
        self._mean_z = np.empty(n_pool)
        self._var_z = np.empty(n_pool)
        with _blas_limit(n_pool * n_train):
            for sl, m, v, V in model._latent_chunks(X, with_var=True, vt_out=self._Vt):
                self._mean_z[sl] = m
                assert v is not None
                assert V is not None
                self._var_z[sl] = v  # V is already in self._Vt (when cached)
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
