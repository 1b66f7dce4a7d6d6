"""Acquisition functions for minimising E_b over a discrete pool: (mean, std, context) -> scores.

Every function takes the posterior mean and standard deviation of E_b (eV) for the candidates,
shape (n_candidates,), and an :class:`AcquisitionContext`; it returns scores of the same shape
where **larger is better** (the next candidate is the argmax), for a **minimisation** problem.

========== ============================================================ =======================
name       score                                                        context
========== ============================================================ =======================
``ei``     expected improvement below ``best_f - xi``                   ``best_f``, ``xi``
``pi``     probability of improvement, ``P(f < best_f - xi)``           ``best_f``, ``xi``
``lcb``    ``-(mean - kappa * std)`` (alias ``ucb``: the usual UCB of   ``kappa``
           ``-f``)
``ts``     minus one joint posterior sample (alias ``thompson``)        ``sample``
``below``  ``P(f < threshold)``: level-set goal "every E_b < tau"       ``threshold``
``random`` uniform random scores                                        ``random_state``
========== ============================================================ =======================

:func:`expected_undiscovered` sums ``P(f < tau)`` over candidates not yet evaluated; a campaign
with the threshold goal stops when it drops below a level (:func:`should_stop`) and, since the GP
alone is overconfident there, no new hit came in the last ``stop_patience`` evaluations
(:func:`evaluations_since_hit`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from workflows.errors import ConfigError

__all__ = [
    "ACQUISITIONS",
    "ALIASES",
    "AcquisitionContext",
    "AcquisitionFunction",
    "AcquisitionName",
    "canonical_name",
    "evaluations_since_hit",
    "expected_improvement",
    "expected_undiscovered",
    "get_acquisition",
    "lower_confidence_bound",
    "probability_below",
    "probability_of_improvement",
    "random_scores",
    "should_stop",
    "thompson_sampling",
]

FloatArray = npt.NDArray[np.float64]

AcquisitionName = Literal["ei", "pi", "lcb", "ucb", "ts", "thompson", "below", "random"]

_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class AcquisitionContext:
    """What an acquisition needs besides the posterior mean and standard deviation.

    Parameters
    ----------
    best_f : float or None, default=None
        Incumbent: the lowest E_b observed so far, eV (``ei``, ``pi``).
    xi : float, default=0.0
        Improvement margin, eV: improvement counts below ``best_f - xi`` (``ei``, ``pi``).
    kappa : float, default=2.0
        Exploration weight of ``lcb``.
    threshold : float or None, default=None
        Target level tau, eV (``below``).
    sample : ndarray of shape (n_candidates,) or None, default=None
        One joint posterior sample of E_b (``ts``); without it ``ts`` draws independently from
        the marginals, seeded by ``random_state``.
    random_state : int, Generator or None, default=None
        Seed for ``random`` and for ``ts`` without a sample.
    """

    best_f: float | None = None
    xi: float = 0.0
    kappa: float = 2.0
    threshold: float | None = None
    sample: FloatArray | None = None
    random_state: int | np.random.Generator | None = None


AcquisitionFunction = Callable[[FloatArray, FloatArray, AcquisitionContext], FloatArray]


def _check(mean: npt.ArrayLike, std: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    m = np.asarray(mean, dtype=float)
    s = np.asarray(std, dtype=float)
    if m.shape != s.shape:
        raise ValueError(f"mean {m.shape} and std {s.shape} must have the same shape")
    if np.any(s < 0) or not np.all(np.isfinite(s)):
        raise ValueError("std must be finite and non-negative")
    return m, s


def _need(value: float | None, what: str, name: str) -> float:
    if value is None:
        raise ConfigError(f"acquisition {name!r} needs context.{what}")
    return float(value)


def _normal_cdf_below(level: float | FloatArray, mean: FloatArray, std: FloatArray) -> FloatArray:
    """``P(f < level)`` for ``f ~ N(mean, std**2)``; a step function where ``std == 0``."""
    diff = level - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, diff / np.where(std > 0, std, 1.0), 0.0)
    return np.where(std > 0, ndtr(z), (diff > 0).astype(float))


def expected_improvement(
    mean: FloatArray, std: FloatArray, context: AcquisitionContext
) -> FloatArray:
    """Expected improvement ``E[max(best_f - xi - f, 0)]``, eV.

    Parameters
    ----------
    mean, std : ndarray of shape (n_candidates,)
        Posterior mean and standard deviation of E_b, eV.
    context : AcquisitionContext
        Uses ``best_f`` (required) and ``xi``.

    Returns
    -------
    ndarray of shape (n_candidates,)
        Non-negative; increases with ``std`` and decreases with ``mean``.
    """
    m, s = _check(mean, std)
    imp = _need(context.best_f, "best_f", "ei") - context.xi - m
    safe = np.where(s > 0, s, 1.0)
    z = imp / safe
    ei = imp * ndtr(z) + safe * np.exp(-0.5 * z * z) / _SQRT_2PI
    return np.where(s > 0, np.maximum(ei, 0.0), np.maximum(imp, 0.0))


def probability_of_improvement(
    mean: FloatArray, std: FloatArray, context: AcquisitionContext
) -> FloatArray:
    """Probability of improvement ``P(f < best_f - xi)``.

    Parameters
    ----------
    mean, std : ndarray of shape (n_candidates,)
    context : AcquisitionContext
        Uses ``best_f`` (required) and ``xi``.

    Returns
    -------
    ndarray of shape (n_candidates,), values in [0, 1]
    """
    m, s = _check(mean, std)
    return _normal_cdf_below(_need(context.best_f, "best_f", "pi") - context.xi, m, s)


def lower_confidence_bound(
    mean: FloatArray, std: FloatArray, context: AcquisitionContext
) -> FloatArray:
    """Negated lower confidence bound, ``kappa * std - mean`` (the UCB of ``-E_b``).

    Parameters
    ----------
    mean, std : ndarray of shape (n_candidates,)
    context : AcquisitionContext
        Uses ``kappa``.

    Returns
    -------
    ndarray of shape (n_candidates,), eV
    """
    m, s = _check(mean, std)
    return context.kappa * s - m


def thompson_sampling(mean: FloatArray, std: FloatArray, context: AcquisitionContext) -> FloatArray:
    """Minus a posterior sample of E_b: the argmax is the sample's minimiser.

    Pass a *joint* sample over the candidates in ``context.sample`` (from
    :meth:`bo_agent.gp.models.PoolPosterior.sample`). Without one, each candidate is drawn
    independently from ``N(mean, std**2)``, seeded by ``context.random_state``: a cheap
    approximation that ignores correlations and so over-explores.

    Parameters
    ----------
    mean, std : ndarray of shape (n_candidates,)
    context : AcquisitionContext
        Uses ``sample`` or ``random_state``.

    Returns
    -------
    ndarray of shape (n_candidates,), eV
    """
    m, s = _check(mean, std)
    if context.sample is not None:
        sample = np.asarray(context.sample, dtype=float)
        if sample.shape != m.shape:
            raise ValueError(f"context.sample has shape {sample.shape}; expected {m.shape}")
        return -sample
    rng = np.random.default_rng(context.random_state)
    return -(m + s * rng.standard_normal(m.shape))


def probability_below(mean: FloatArray, std: FloatArray, context: AcquisitionContext) -> FloatArray:
    """Probability that E_b lies below the threshold, ``P(f < tau)`` (level-set goal).

    Parameters
    ----------
    mean, std : ndarray of shape (n_candidates,)
    context : AcquisitionContext
        Uses ``threshold`` (required), eV.

    Returns
    -------
    ndarray of shape (n_candidates,), values in [0, 1]
    """
    m, s = _check(mean, std)
    return _normal_cdf_below(_need(context.threshold, "threshold", "below"), m, s)


def random_scores(mean: FloatArray, std: FloatArray, context: AcquisitionContext) -> FloatArray:
    """Uniform random scores in [0, 1), seeded by ``context.random_state`` (random search)."""
    m, _ = _check(mean, std)
    return np.random.default_rng(context.random_state).random(m.shape)


#: Canonical acquisition name -> function.
ACQUISITIONS: Mapping[str, AcquisitionFunction] = MappingProxyType(
    {
        "ei": expected_improvement,
        "pi": probability_of_improvement,
        "lcb": lower_confidence_bound,
        "ts": thompson_sampling,
        "below": probability_below,
        "random": random_scores,
    }
)
#: Accepted alternative names.
ALIASES: Mapping[str, str] = MappingProxyType({"ucb": "lcb", "thompson": "ts"})


def canonical_name(name: str) -> str:
    """The canonical registry name of an acquisition (resolving aliases).

    Raises
    ------
    ConfigError
        If the name is unknown; the message lists the allowed names.
    """
    key = ALIASES.get(name, name)
    if key not in ACQUISITIONS:
        allowed = sorted([*ACQUISITIONS, *ALIASES])
        raise ConfigError(f"unknown acquisition={name!r}; expected one of {allowed}")
    return key


def get_acquisition(name: str) -> AcquisitionFunction:
    """Look up an acquisition function by name (aliases accepted).

    Raises
    ------
    ConfigError
        If the name is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> ei = get_acquisition("ei")
    >>> scores = ei(np.array([0.2, 0.5]), np.array([0.1, 0.1]), AcquisitionContext(best_f=0.4))
    >>> int(np.argmax(scores))
    0
    """
    return ACQUISITIONS[canonical_name(name)]


def expected_undiscovered(
    mean: npt.ArrayLike,
    std: npt.ArrayLike,
    tau: float,
    evaluated_mask: npt.ArrayLike,
) -> float:
    """Expected number of candidates below ``tau`` among those not yet evaluated.

    ``sum(P(f_i < tau) for i not evaluated)``: the number of compounds with E_b < tau that the
    search can still expect to find.

    Parameters
    ----------
    mean, std : array-like of shape (n_candidates,)
        Posterior mean and standard deviation of E_b, eV, over the whole pool.
    tau : float
        Threshold, eV.
    evaluated_mask : array-like of bool, shape (n_candidates,)
        True for candidates to leave out (evaluated; also pending or failed ones, as the
        caller decides).

    Returns
    -------
    float

    Examples
    --------
    >>> expected_undiscovered([0.0, 0.0, 1.0], [1.0, 1.0, 1.0], 0.0, [True, False, False])
    0.6586552539314571
    """
    m, s = _check(mean, std)
    mask = np.asarray(evaluated_mask, dtype=bool)
    if mask.shape != m.shape:
        raise ValueError(f"evaluated_mask has shape {mask.shape}; expected {m.shape}")
    return float(np.sum(_normal_cdf_below(float(tau), m[~mask], s[~mask])))


def evaluations_since_hit(observations: Mapping[str, float], tau: float) -> int:
    """Evaluations after the last one with E_b < ``tau`` (all of them if none was below).

    ``observations`` in evaluation order, as the agent and the replay keep them.

    Examples
    --------
    >>> evaluations_since_hit({"a": 0.5, "b": 0.2, "c": 0.6, "d": 0.7}, 0.3)
    2
    """
    values = list(observations.values())
    hits = [i for i, v in enumerate(values) if v < tau]
    return len(values) - (hits[-1] + 1) if hits else len(values)


def should_stop(
    mean: npt.ArrayLike,
    std: npt.ArrayLike,
    tau: float,
    evaluated_mask: npt.ArrayLike,
    level: float = 0.5,
) -> bool:
    """Stopping rule for the threshold goal: ``expected_undiscovered(...) < level``.

    Parameters
    ----------
    mean, std, tau, evaluated_mask
        As in :func:`expected_undiscovered`.
    level : float, default=0.5
        Stop when fewer than this many below-threshold compounds are expected to remain.

    Returns
    -------
    bool
    """
    return expected_undiscovered(mean, std, tau, evaluated_mask) < level
