"""Choose the next q candidates from a finite pool: fit once, score all, condition on each pick.

:func:`propose` is the one entry point. Every candidate that is neither observed, pending nor
failed is scored (the pool is never truncated). A batch is built greedily: the model is fitted
once per round, pending candidates from earlier rounds are folded in by kriging believer
(treated as observed at their posterior mean, hyperparameters unchanged), and each pick is
conditioned on the same way before the next is scored. Kriging believer leaves the posterior
mean unchanged and shrinks the variance near the picks, so variance-seeking acquisitions
(``ei``, ``lcb``) spread a batch out; for ``ei`` and ``pi`` the incumbent also drops to a
believed pick's mean. Thompson sampling (``ts``) instead draws one joint posterior sample per
batch slot (parallel Thompson sampling) from the posterior conditioned on the pending
candidates. For a model average (:class:`bo_agent.gp.mixture.ModelAverage`) ``ei``, ``pi``,
``lcb`` and ``below`` are the mean of the members' scores (the acquisition integrated over
hyperparameters), and each pick is conditioned on in every member. Ties (probabilities
saturated at 1, say) go to the lower posterior mean, then to a random one of those, never to
the first in pool order. ``random`` is uniform over the
remaining pool and needs no model.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from bo_agent.decide.acquisition import AcquisitionContext, canonical_name, get_acquisition
from bo_agent.errors import NoCandidatesError
from workflows.errors import ConfigError, TavboWarning

if TYPE_CHECKING:
    from bo_agent.gp.posterior import PoolPosterior

__all__ = ["Proposal", "SupportsPoolPosterior", "propose"]

logger = logging.getLogger(__name__)

IndexLike = npt.ArrayLike


class SupportsPoolPosterior(Protocol):
    """What :func:`propose` needs from a model: :class:`~bo_agent.gp.models.GPModel` and
    :class:`~bo_agent.gp.models.TransferGP` qualify.
    """

    def fit(self, features: Any, targets: Any, /, **kwargs: Any) -> Any:
        """Fit on observations."""

    def pool_posterior(self, features: Any, /) -> PoolPosterior:
        """Posterior over a candidate pool."""


@dataclass(frozen=True)
class Proposal:
    """One proposed candidate, as recorded in the decision log.

    Parameters
    ----------
    index : int
        Row of the candidate in ``X_pool``.
    value : float
        Acquisition value when picked (after conditioning on pending candidates and earlier
        picks); NaN for random search.
    rank : int
        Position in the batch, 0 for the first pick.
    mean : float
        Posterior mean of E_b when picked, eV (NaN for random search).
    std : float
        Posterior standard deviation of E_b when picked, eV, given pending candidates and
        earlier picks (NaN for random search).
    acquisition : str
        Canonical acquisition name.
    """

    index: int
    value: float
    rank: int
    mean: float
    std: float
    acquisition: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _indices(idx: IndexLike | None, n_pool: int, name: str) -> npt.NDArray[np.intp]:
    arr = np.asarray([] if idx is None else idx)
    if arr.size == 0:
        return np.zeros(0, dtype=np.intp)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer row indices; got dtype {arr.dtype}")
    arr = arr.astype(np.intp).ravel()
    bad = arr[(arr < 0) | (arr >= n_pool)]
    if bad.size:
        raise ValueError(f"{name} holds rows {bad[:5].tolist()} outside the pool of {n_pool}")
    return arr


def _argmax_lowest_mean(
    scores: npt.NDArray[np.float64], mean: npt.NDArray[np.float64], rng: np.random.Generator
) -> int:
    """Index of the best score; ties (e.g. probabilities saturated at 1) go to the lower mean,
    then to a random one of those (``rng`` is drawn from only then).

    Not to the lower index: a GP whose length scales collapse predicts the same mean and
    variance for every unseen candidate, and the search would then walk the composition space
    in the order the space file lists it (measured: 5 % of oBO decisions on the CHGNet Na set
    were such ties).
    """
    ties = np.flatnonzero(scores == scores.max())
    lowest = ties[mean[ties] == mean[ties].min()]
    if lowest.size == 1:
        return int(lowest[0])
    return int(rng.choice(lowest))


def propose(
    model: SupportsPoolPosterior | None,
    X_pool: npt.ArrayLike,  # noqa: N803  (sklearn's name for a feature matrix)
    observed_idx: IndexLike,
    y: npt.ArrayLike,
    *,
    pending_idx: IndexLike | None = None,
    failed_idx: IndexLike | None = None,
    acquisition: str = "ei",
    q: int = 1,
    random_state: int | None = None,
    refit: bool = True,
    fit_params: Mapping[str, Any] | None = None,
    xi: float = 0.0,
    kappa: float = 2.0,
    threshold: float | None = None,
    incumbent: str = "observed",
    stall_level: float = 0.0,
    feasibility: npt.ArrayLike | None = None,
) -> list[Proposal]:
    """Propose ``q`` distinct candidates to evaluate next.

    Parameters
    ----------
    model : GPModel, TransferGP or None
        Surrogate; None only for ``acquisition="random"``.
    X_pool : array-like of shape (n_candidates, n_features)
        Descriptors of the whole pool (standardised, as the model expects).
    observed_idx : array-like of int, shape (n_observed,)
        Rows of ``X_pool`` with a finished result, in the order of ``y``.
    y : array-like of shape (n_observed,)
        Observed E_b, eV.
    pending_idx : array-like of int or None, default=None
        Rows being computed now: excluded, and conditioned on by kriging believer.
    failed_idx : array-like of int or None, default=None
        Rows whose calculation failed: excluded.
    acquisition : str, default="ei"
        One of :data:`bo_agent.decide.acquisition.ACQUISITIONS` or an alias.
    q : int, default=1
        Batch size; shrinks, with a :class:`~workflows.errors.TavboWarning`, to the number of
        candidates left.
    random_state : int or None, default=None
        Seed for ``random`` and ``ts``; the same seed and inputs give the same proposals.
    refit : bool, default=True
        Fit ``model`` on ``(X_pool[observed_idx], y)`` first (once for the whole batch). With
        False the model must already be fitted.
    fit_params : mapping or None, default=None
        Extra keyword arguments of ``model.fit``, e.g. ``{"X_source": ..., "y_source": ...}``
        for :class:`~bo_agent.gp.models.TransferGP`.
    xi : float, default=0.0
        Improvement margin of ``ei`` and ``pi``, eV.
    kappa : float, default=2.0
        Exploration weight of ``lcb``.
    threshold : float or None, default=None
        Level tau of ``below``, eV (required for it).
    incumbent : {"observed", "posterior"}, default="observed"
        What ``ei`` and ``pi`` improve on: the lowest observed value, or the lowest posterior
        mean at an observed row (a noisy low result then does not set the bar).
    stall_level : float, default=0.0
        Stall guard: when the best ``ei`` score is below this (eV), the pick is the
        argmax of a joint posterior sample instead (Thompson sampling, acquisition
        ``ts-stall``); 0 turns it off.
    feasibility : array-like of shape (n_pool,) or None, default=None
        Probability that evaluating each pool row gives a trusted result
        (:func:`~bo_agent.gp.feasibility.trusted_probability`); ``ei``, ``pi`` and ``below``
        scores are multiplied by it (constrained BO with an unknown constraint).

    Returns
    -------
    list of Proposal
        In pick order (``rank`` 0, 1, ...).

    Raises
    ------
    NoCandidatesError
        If every candidate is observed, pending or failed.
    ConfigError
        For an unknown acquisition, ``q < 1``, ``below`` without ``threshold`` or a missing
        model.

    Examples
    --------
    >>> import numpy as np
    >>> from bo_agent.gp.models import GPModel
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3))
    >>> obs = np.arange(10)
    >>> y = X[obs, 0] ** 2
    >>> batch = propose(GPModel(n_restarts=0, random_state=0), X, obs, y, pending_idx=[10], q=2)
    >>> [p.rank for p in batch], all(p.index > 10 for p in batch)
    ([0, 1], True)
    """
    name = canonical_name(acquisition)
    if q < 1:
        raise ConfigError(f"batch size q must be >= 1, got {q}")
    if name == "below" and threshold is None:
        raise ConfigError("acquisition 'below' needs threshold (eV)")
    pool = np.asarray(X_pool, dtype=float)
    if pool.ndim != 2:
        raise ValueError(f"X_pool must be 2-D (n_candidates, n_features); got shape {pool.shape}")
    n_pool = pool.shape[0]
    observed = _indices(observed_idx, n_pool, "observed_idx")
    pending = _indices(pending_idx, n_pool, "pending_idx")
    failed = _indices(failed_idx, n_pool, "failed_idx")
    y_obs = np.asarray(y, dtype=float).reshape(-1)
    if y_obs.size != observed.size:
        raise ValueError(f"y has {y_obs.size} values for {observed.size} observed rows")

    taken = np.zeros(n_pool, dtype=bool)
    taken[observed] = taken[pending] = taken[failed] = True
    available = np.flatnonzero(~taken)
    if available.size == 0:
        raise NoCandidatesError(
            f"no candidate left in the pool of {n_pool}: {np.unique(observed).size} observed, "
            f"{np.unique(pending).size} pending, {np.unique(failed).size} failed"
        )
    if q > available.size:
        warnings.warn(
            f"batch of q={q} shrinks to {available.size}: only {available.size} candidates left",
            TavboWarning,
            stacklevel=2,
        )
        q = int(available.size)

    rng = np.random.default_rng(random_state)
    if name == "random":
        picks = rng.choice(available, size=q, replace=False)
        nan = float("nan")
        return [Proposal(int(i), nan, r, nan, nan, name) for r, i in enumerate(picks)]

    if model is None:
        raise ConfigError(f"acquisition {name!r} needs a model")
    if refit:
        model.fit(pool[observed], y_obs, **dict(fit_params or {}))

    # Pool posterior over the candidates and the pending rows (kriging believer on the latter).
    believe = np.setdiff1d(pending, observed)
    rows = np.concatenate([available, believe])
    post = model.pool_posterior(pool[rows])
    n_avail = available.size
    for j in range(n_avail, rows.size):
        post.condition(j)

    fn = get_acquisition(name)
    best_f = float(y_obs.min()) if y_obs.size else float(post.mean[:n_avail].min())
    if incumbent == "posterior" and y_obs.size and name in ("ei", "pi"):
        best_f = float(np.min(model.predict(pool[observed])))  # type: ignore[attr-defined]
    samples = post.sample(q, rng)[:, :n_avail] if name == "ts" else None
    weight = None
    if feasibility is not None:
        if name not in ("ei", "pi", "below"):
            raise ConfigError(f"feasibility weights ei, pi or below, not {name!r}")
        weight = np.asarray(feasibility, dtype=float).reshape(-1)
        if weight.size != n_pool:
            raise ValueError(f"feasibility has {weight.size} values for a pool of {n_pool}")
        weight = weight[available]
    chosen = np.zeros(n_avail, dtype=bool)
    proposals: list[Proposal] = []
    for r in range(q):
        mean, std = post.mean[:n_avail], post.std[:n_avail]
        context = AcquisitionContext(
            best_f=best_f,
            xi=xi,
            kappa=kappa,
            threshold=threshold,
            sample=None if samples is None else samples[r],
            random_state=rng,
        )
        members = getattr(post, "members", None)  # a model average: the acquisition averaged
        if members is None or name not in ("ei", "pi", "below", "lcb"):
            raw = fn(mean, std, context)
        else:
            raw = np.mean([fn(m.mean[:n_avail], m.std[:n_avail], context) for m in members], 0)
        if weight is not None:
            raw = raw * weight
        scores = np.where(chosen, -np.inf, raw)
        picked_by = name
        if stall_level > 0 and name == "ei" and scores.max() < stall_level:
            sample = post.sample(1, rng)[0, :n_avail]
            scores = np.where(chosen, -np.inf, -sample)
            picked_by = "ts-stall"
        k = _argmax_lowest_mean(scores, mean, rng)
        chosen[k] = True
        proposals.append(
            Proposal(
                index=int(available[k]),
                value=float(scores[k]),
                rank=r,
                mean=float(mean[k]),
                std=float(std[k]),
                acquisition=picked_by,
            )
        )
        logger.debug("pick %d: row %d (%s=%.4g)", r, available[k], name, scores[k])
        if r + 1 < q and samples is None:
            post.condition(k)
            best_f = min(best_f, float(mean[k]))
    return proposals
