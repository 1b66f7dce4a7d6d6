"""Benchmark metrics: turn traces (candidate IDs in evaluation order) into the figures' numbers.

Pure functions of traces and target sets, with no data set, GP or file behind them, so they can
be checked on hand-made traces. :func:`hit_times`, :func:`p_found_curve` and
:func:`median_evaluations` give the Fig.-2 analogue (optimum found); :func:`found_curve` gives
the Fig.-3 analogue (compositions below tau found); :func:`stop_summary` judges the threshold
goal's stopping rule from traces that the rule (or the budget) ended. A trace stopped early, once
its curve could no longer change, gives the same numbers as a full-length one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["found_curve", "hit_times", "median_evaluations", "p_found_curve", "stop_summary"]


def hit_times(traces: Sequence[Sequence[str]], targets: Iterable[str]) -> np.ndarray:
    """Evaluation number (1-based) at which each trace first evaluates one of ``targets``.

    Parameters
    ----------
    traces : sequence of sequence of str
        Candidate IDs of each trial in evaluation order.
    targets : iterable of str
        For example the ID(s) of the optimum (several if tied).

    Returns
    -------
    ndarray of float, shape (n_trials,)
        ``inf`` for a trace that never evaluates a target.

    Examples
    --------
    >>> hit_times([["a", "b", "c"], ["c", "d"]], {"b"}).tolist()
    [2.0, inf]
    """
    wanted = set(targets)
    out = np.full(len(traces), math.inf)
    for k, ids in enumerate(traces):
        for t, cid in enumerate(ids, start=1):
            if cid in wanted:
                out[k] = t
                break
    return out


def p_found_curve(hits: Sequence[float] | np.ndarray, horizon: int) -> np.ndarray:
    """P(found within t evaluations) for t = 1..horizon, from :func:`hit_times`.

    Returns
    -------
    ndarray of shape (horizon,)
        Entry ``t - 1`` is the fraction of trials with a hit time <= t.

    Examples
    --------
    >>> p_found_curve([2, 3, float("inf"), 3], 4).tolist()
    [0.0, 0.25, 0.75, 0.75]
    """
    h = np.asarray(hits, dtype=float)
    if h.size == 0:
        return np.full(horizon, math.nan)
    t = np.arange(1, horizon + 1)
    return (h[None, :] <= t[:, None]).mean(axis=1)


def median_evaluations(hits: Sequence[float] | np.ndarray) -> float:
    """Median number of evaluations to the target (``inf`` when at least half never hit it).

    Trials that never found the target count as ``inf`` (they were stopped at the horizon), so
    the median is exact as long as more than half of the trials found it.

    Examples
    --------
    >>> median_evaluations([3, 5, 7, float("inf")])
    6.0
    >>> median_evaluations([3, float("inf"), float("inf")])
    inf
    """
    h = np.sort(np.asarray(hits, dtype=float))
    if h.size == 0:
        return math.nan
    mid = h.size // 2
    if h.size % 2:
        return float(h[mid])
    lo, hi = h[mid - 1], h[mid]
    return math.inf if math.isinf(hi) else float((lo + hi) / 2)


def found_curve(
    traces: Sequence[Sequence[str]], targets: Iterable[str], horizon: int
) -> np.ndarray:
    """Number of ``targets`` found within t evaluations, t = 1..horizon, per trace.

    A trace shorter than ``horizon`` (stopped early once its count could no longer change) keeps
    its last count.

    Returns
    -------
    ndarray of shape (n_trials, horizon)
        Mean over axis 0 is the Fig.-3 curve; divided by ``len(targets)``, the recall.

    Examples
    --------
    >>> found_curve([["a", "x", "b"], ["x"]], {"a", "b"}, 4).tolist()
    [[1.0, 1.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0]]
    """
    wanted = set(targets)
    out = np.zeros((len(traces), horizon))
    for k, ids in enumerate(traces):
        hits = np.array([cid in wanted for cid in ids[:horizon]], dtype=float)
        counts = np.cumsum(hits) if hits.size else np.zeros(1)
        out[k, : hits.size] = counts[: hits.size]
        out[k, hits.size :] = counts[-1]
    return out


def stop_summary(
    traces: Sequence[Sequence[str]], targets: Iterable[str], fired: Sequence[bool]
) -> dict[str, float]:
    """How well a stopping rule ended threshold searches: cost at the stop and recall lost.

    Parameters
    ----------
    traces : sequence of sequence of str
        Candidate IDs of each trial, in evaluation order, up to its stop.
    targets : iterable of str
        The compositions below tau.
    fired : sequence of bool
        Whether the rule ended each trial (else its budget did).

    Returns
    -------
    dict
        ``trials``; ``p_fired`` (fraction ended by the rule); ``median_evals`` at the stop;
        ``mean_recall`` and ``p_all_found`` at the stop; ``median_overrun``: evaluations after
        the last target found, over the trials that found them all (NaN if none did).

    Examples
    --------
    >>> s = stop_summary([["a", "x", "b", "y"], ["a", "y"]], {"a", "b"}, [True, True])
    >>> s["median_evals"], s["mean_recall"], s["p_all_found"], s["median_overrun"]
    (3.0, 0.75, 0.5, 1.0)
    """
    wanted = set(targets)
    n = len(traces)
    if n == 0 or not wanted:
        nan = math.nan
        return {"trials": n, "p_fired": nan, "median_evals": nan, "mean_recall": nan,
                "p_all_found": nan, "median_overrun": nan}  # fmt: skip
    evals = np.array([len(ids) for ids in traces], dtype=float)
    found = np.array([len(wanted & set(ids)) for ids in traces], dtype=float)
    overruns = [
        len(ids) - max(t for t, cid in enumerate(ids, start=1) if cid in wanted)
        for ids, k in zip(traces, found, strict=True)
        if k == len(wanted)
    ]
    return {
        "trials": n,
        "p_fired": float(np.mean(np.asarray(fired, dtype=float))),
        "median_evals": float(np.median(evals)),
        "mean_recall": float(found.mean() / len(wanted)),
        "p_all_found": float(np.mean(found == len(wanted))),
        "median_overrun": float(np.median(overruns)) if overruns else math.nan,
    }
