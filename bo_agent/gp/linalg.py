"""Linear-algebra settings shared by tavbo's GP modules.

- :data:`JITTER`: added to the diagonal of every training covariance (sklearn's ``alpha``).
- :func:`worker_threads`: threads for chunked predictions over large pools.
- :func:`_blas_limit`: single-threaded BLAS for all but very large problems. Multi-threaded
  OpenBLAS makes a 40 x 40 solve some 300 times slower when the cores are busy, as they are next
  to running calculations.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from threadpoolctl import ThreadpoolController

__all__ = ["JITTER", "worker_threads"]

#: Jitter added to the training covariance diagonal (sklearn's ``alpha``), standardised units.
JITTER = 1e-8
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


def worker_threads() -> int:
    """Threads for chunked predictions over large pools: the usable cores, at most 2 (the
    agent shares its node with calculations)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover  (macOS)
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()
