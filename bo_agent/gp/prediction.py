"""Predictions of a fitted GP, chunk by chunk: posterior mean and std, the pool posterior.

A mixin of :class:`~bo_agent.gp.models.GPModel` (fitting lives there). Predicting over 100,000
candidates must not build a 100,000 x n_train matrix at once: rows go through in chunks whose
cross-covariance is solved in place (BLAS ``dtrsm``), so memory stays one block.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.linalg import solve_triangular
from scipy.linalg.blas import dtrsm
from sklearn.utils.validation import check_array, check_is_fitted

from bo_agent.gp.kernels import cross_covariance
from bo_agent.gp.linalg import _blas_limit, worker_threads
from bo_agent.gp.posterior import PoolPosterior

__all__ = ["ChunkedPrediction"]

FloatArray = npt.NDArray[np.float64]

#: Target size of one chunk of cross-covariance, in float64 entries (32 MB).
_CHUNK_ENTRIES = 1 << 22
#: Predictions over at least this many (candidate x observation) pairs use worker threads.
_PARALLEL_PAIRS = 10_000_000


class ChunkedPrediction:
    """predict / pool_posterior over the fitted attributes of a GP (mixed into GPModel)."""

    chunk_size: int | None
    n_features_in_: int
    L_: FloatArray
    _L_fortran: FloatArray
    X_train_: FloatArray
    alpha_: FloatArray
    signal_kernel_: Any
    y_offset_: float
    y_scale_: float

    def _prior_mean(self, X: FloatArray) -> FloatArray:  # pragma: no cover - GPModel has it
        raise NotImplementedError

    def _chunk_rows(self) -> int:
        if self.chunk_size is not None:
            return max(1, int(self.chunk_size))
        return max(256, _CHUNK_ENTRIES // max(1, self.L_.shape[0]))

    def _latent_chunks(
        self, X: FloatArray, *, with_var: bool, vt_out: FloatArray | None = None
    ) -> Iterator[tuple[slice, FloatArray, FloatArray | None, FloatArray | None]]:
        """Yield (rows, mean_z, var_z, Vt) per chunk; ``Vt = K(X_chunk, X_train) L^-T``.

        ``Vt`` has shape (n_chunk, n_train), C-contiguous; the triangular solve overwrites the
        cross-covariance in place (BLAS ``dtrsm``), so a chunk costs one block of memory. Large
        problems (:data:`_PARALLEL_PAIRS` candidate x observation pairs and more) compute
        chunks in :func:`worker_threads` threads: numpy and single-threaded BLAS release the
        GIL, so two cores halve the wall time (the results are the same, chunk by chunk), and
        evaluate the kernel formula in single precision (:func:`~bo_agent.gp.kernels.
        cross_covariance`; 1e-7 relative) and ``Vt`` in float32 as a product with ``L^-T``
        instead of a triangular solve (~3 times faster in BLAS; the variance sums its squares
        in float64; ``tests/bo_agent/gp/test_prediction.py`` bounds the error and checks the
        proposals). With ``vt_out`` of shape (n_candidates, n_train) and :meth:`vt_dtype`,
        each chunk's ``Vt`` is written straight into its rows (no copy of the 200 MB of a
        100,000 x 500 pool).
        """
        rows = self._chunk_rows()
        slices = [
            slice(start, min(start + rows, X.shape[0])) for start in range(0, X.shape[0], rows)
        ]
        large = X.shape[0] * self.L_.shape[0] >= _PARALLEL_PAIRS
        threads = worker_threads() if large else 1

        def out(sl: slice) -> FloatArray | None:
            return None if vt_out is None else vt_out[sl]

        if threads <= 1 or len(slices) <= 1:
            for sl in slices:
                yield (sl, *self._latent_chunk(X[sl], with_var, large, out(sl)))
            return
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [
                pool.submit(self._latent_chunk, X[sl], with_var, large, out(sl)) for sl in slices
            ]
            for sl, future in zip(slices, futures, strict=True):
                yield (sl, *future.result())

    def _latent_chunk(
        self,
        Xc: FloatArray,
        with_var: bool,
        single_precision: bool = False,
        vt_out: FloatArray | None = None,
    ) -> tuple[FloatArray, FloatArray | None, FloatArray | None]:
        """(mean_z, var_z, Vt) of one chunk of rows (see :meth:`_latent_chunks`)."""
        n = self.L_.shape[0]
        if n == 0:
            mean = np.zeros(Xc.shape[0])
            var = self.signal_kernel_.diag(Xc) if with_var else None
            return mean, var, (np.zeros((Xc.shape[0], 0)) if with_var else None)
        Kc = cross_covariance(
            self.signal_kernel_, Xc, self.X_train_, single_precision=single_precision
        )
        if single_precision:  # float32 Kc: the product in float32, the result in float64
            mean = (Kc @ self.alpha_.astype(np.float32)).astype(np.float64)
        else:
            mean = Kc @ self.alpha_
        if not with_var:
            return mean, None, None
        if single_precision:  # large problems: a float32 product, ~3x faster than the solve
            Vt = np.matmul(Kc, self._l_inverse_t(), out=vt_out)
        else:  # solve L V = Kc.T in place: Kc.T is the Fortran-ordered view BLAS works on
            Vt = dtrsm(1.0, self._L_fortran, Kc.T, lower=1, overwrite_b=1).T
            if vt_out is not None:
                vt_out[...] = Vt
                Vt = vt_out
        var = self.signal_kernel_.diag(Xc) - np.einsum("ij,ij->i", Vt, Vt, dtype=np.float64)
        return mean, np.maximum(var, 0.0), Vt

    def vt_dtype(self, n_rows: int) -> type[np.floating[Any]]:
        """dtype of ``Vt`` for a prediction over ``n_rows`` candidates: float32 on the large
        path (:meth:`_latent_chunks`), float64 otherwise."""
        large = n_rows * self.L_.shape[0] >= _PARALLEL_PAIRS
        return np.float32 if large else np.float64

    def _l_inverse_t(self) -> npt.NDArray[np.float32]:
        """``L^-T`` of the fitted Cholesky factor in float32, computed once per fit."""
        cached = getattr(self, "_l_inv_t", None)
        if cached is None or cached[0] is not self.L_:
            inv = solve_triangular(self.L_, np.eye(self.L_.shape[0]), lower=True)
            cached = (self.L_, np.ascontiguousarray(inv.T, dtype=np.float32))
            self._l_inv_t = cached
        return cached[1]

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
