"""Offline oracle replay of a campaign on a fully known data set (candidate ID -> E_b, eV).

:func:`replay` runs the loop of :class:`~bo_agent.campaign.agent.CampaignAgent` without a LaunchPad:
each round it calls :func:`bo_agent.decide.strategy.decide`, the function the live agent calls, with
the same arguments, and answers every proposal from the data set instead of running a workflow. The
bookkeeping is the agent's, so a replay proposes exactly the candidates, in exactly the order, of a
live campaign with the same configuration and seed that runs its workflows in-process (``tavbo
run``):

- decision numbers: a round decides with ``seq`` = the number of decisions taken so far, and
  every proposal then takes one number (``Campaign.n_decisions``);
- slots: ``min(max_pending, budget - used)`` per round (``used`` = done + failed); every
  proposal of a round is evaluated before the next round, which is what the agent's run loop
  does when it executes its workflows itself;
- observations, pending and failed IDs are passed in pool order (the order of the campaign's
  candidate table), not in evaluation order: the GP's training matrix is then row for row the
  live agent's;
- a proposed ID that the data set lacks fails and counts against the budget: by default as a
  result the engine could not trust (a data set's failed compositions are flagged records; with
  ``failed_value: worst`` they enter the GP), or, with ``missing="run"``, as a run failure (a
  FIZZLED firework: left out of the GP);
- the campaign stops on the budget, an exhausted pool or the threshold goal's stopping rule
  (``Decision.stop_reason``).

A source data set for transfer is passed as a mapping in the order of the source campaign's
candidate table (space order), as :func:`bo_agent.campaign.agent.load_observations` returns it.

Transfer modes ``hp`` and ``gp`` fit the same source GP at every decision. With 108-159 source
results that fit (above ``GPModel.restart_limit``) uses only a fixed-seed restart and no subset,
so it is a pure function of the data; :func:`replay` memoises such fits (:func:`memoised_fits`),
which makes a transfer replay about as cheap as one without transfer and changes no proposal
(checked by ``tests/bo_agent/benchmark/test_replay.py`` against a campaign on the LaunchPad).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from bo_agent.config import CampaignConfig
from bo_agent.decide.strategy import Pool, decide
from bo_agent.gp.models import GPModel

__all__ = ["ReplayStep", "ReplayTrace", "memoised_fits", "replay"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayStep:
    """One evaluation of a replayed campaign.

    Attributes
    ----------
    t : int
        Evaluation number, 1 for the first (done plus failed so far).
    candidate_id : str
    e_b : float or None
        Barrier from the data set, eV; None if the data set lacks it (a failed evaluation).
    strategy : str
        ``Decision.strategy``: ``initial-random``, ``random``, ``abo``, ``obo+gp``, ...
    seq : int
        Decision number, as ``tavbo_decisions.seq`` of a live campaign.
    rank : int
        Position in its round's batch.
    acquisition : str
        Canonical acquisition name (``random`` for random picks).
    value, mean, std : float
        Acquisition value and posterior mean and standard deviation (eV) when picked; NaN for
        random picks.
    decide_seconds : float
        CPU seconds of the :func:`~bo_agent.decide.strategy.decide` call of this round.
    """

    t: int
    candidate_id: str
    e_b: float | None
    strategy: str
    seq: int
    rank: int
    acquisition: str
    value: float
    mean: float
    std: float
    decide_seconds: float


@dataclass
class ReplayTrace:
    """Every evaluation of a replay, in evaluation order, and why it stopped."""

    steps: list[ReplayStep] = field(default_factory=list)
    stop_reason: str | None = None
    seed: int = 0
    label: str = ""

    @property
    def ids(self) -> list[str]:
        """Candidate IDs in evaluation order."""
        return [s.candidate_id for s in self.steps]

    @property
    def e_b(self) -> list[float | None]:
        """E_b (eV) in evaluation order; None for failed evaluations."""
        return [s.e_b for s in self.steps]

    @property
    def strategies(self) -> list[str]:
        """Decision strategy of each evaluation."""
        return [s.strategy for s in self.steps]

    @property
    def decide_seconds(self) -> float:
        """CPU seconds spent in ``decide`` (each round counted once)."""
        seen: dict[int, float] = {}
        for s in self.steps:
            seen.setdefault(s.seq - s.rank, s.decide_seconds)
        return float(sum(seen.values()))

    def records(self) -> list[dict[str, Any]]:
        """One flat dict per step (for CSV)."""
        return [asdict(s) for s in self.steps]


def replay(
    pool: Pool,
    config: CampaignConfig,
    data: Mapping[str, float],
    *,
    budget: int | None = None,
    q: int | None = None,
    source_observations: Mapping[str, float] | None = None,
    until_any: Collection[str] = (),
    until_all: Collection[str] = (),
    memoise: bool = True,
    missing: Literal["untrusted", "run"] = "untrusted",
) -> ReplayTrace:
    """Replay a campaign on a known data set with the live agent's decisions.

    Parameters
    ----------
    pool : Pool
        From :func:`bo_agent.decide.strategy.build_pool` (with ``source_carrier`` for transfer).
    config : CampaignConfig
        Model, acquisition, goal, seed, ``n_initial``; ``budget`` and ``max_pending`` are the
        defaults of the arguments below.
    data : mapping of str to float
        Known E_b (eV) by candidate ID; pool IDs missing from it fail when proposed.
    budget : int, optional
        Maximum number of evaluations (done plus failed), default ``config.budget``.
    q : int, optional
        Proposals per round (the agent's ``max_pending``), default ``config.max_pending``;
        1 is sequential BO, as in the report.
    source_observations : mapping of str to float, optional
        Source-carrier E_b by source ID (transfer), in source-campaign order.
    until_any : collection of str, default=()
        Stop after the round in which any of these IDs was evaluated (for "optimum found"
        curves: later evaluations cannot change them).
    until_all : collection of str, default=()
        Stop after the round in which the last of these IDs was evaluated (for recall curves).
    memoise : bool, default=True
        Memoise deterministic GP fits (:func:`memoised_fits`): the transfer source fit.
    missing : {"untrusted", "run"}, default="untrusted"
        What a missing answer stands for: a flagged result the engine could not trust (a
        benchmark data set's failed compositions; ``failed_value: worst`` puts it in the GP) or
        a run failure (a fizzled workflow; never in the GP).

    Returns
    -------
    ReplayTrace
        ``stop_reason`` says why it ended (``budget``, ``found``, or the decision's reason).

    Examples
    --------
    >>> from bo_agent.decide.strategy import build_pool
    >>> from workflows.space.compositions import default_space
    >>> pool = build_pool(default_space(), "Na")
    >>> data = {cid: 0.1 * i for i, cid in enumerate(pool.ids)}
    >>> cfg = CampaignConfig(model="random", seed=1)
    >>> trace = replay(pool, cfg, data, budget=3)
    >>> len(trace.ids), trace.stop_reason
    (3, 'budget of 3 evaluations used')
    """
    budget = config.budget if budget is None else int(budget)
    q = config.max_pending if q is None else int(q)
    if q < 1 or budget < 1:
        raise ValueError(f"q and budget must be >= 1; got {q=}, {budget=}")
    order = {cid: i for i, cid in enumerate(pool.ids)}
    any_of = set(until_any)
    all_of = set(until_all)
    done: dict[str, float] = {}
    failed: list[str] = []
    trace = ReplayTrace(seed=config.seed)
    seq = 0
    ctx = memoised_fits() if memoise else contextlib.nullcontext()
    with ctx:
        while True:
            used = len(done) + len(failed)
            if used >= budget:
                trace.stop_reason = f"budget of {budget} evaluations used"
                break
            if used >= len(pool.ids):
                trace.stop_reason = "every composition is evaluated, pending or failed"
                break
            observations = {cid: done[cid] for cid in sorted(done, key=order.__getitem__)}
            start = time.process_time()
            decision = decide(
                pool,
                config,
                observations,
                pending=(),
                failed=sorted(failed, key=order.__getitem__),
                # a data set's failed compositions are flagged results, not run failures
                untrusted=sorted(failed, key=order.__getitem__) if missing == "untrusted" else (),
                n=min(q, budget - used),
                seq=seq,
                source_observations=source_observations,
                history=list(done),  # evaluation order
            )
            seconds = time.process_time() - start
            if decision.stop_reason:
                trace.stop_reason = decision.stop_reason
                break
            for candidate_id, prop in decision.proposals:
                e_b = data.get(candidate_id)
                if e_b is None:
                    failed.append(candidate_id)
                else:
                    done[candidate_id] = float(e_b)
                trace.steps.append(
                    ReplayStep(
                        t=len(trace.steps) + 1,
                        candidate_id=candidate_id,
                        e_b=None if e_b is None else float(e_b),
                        strategy=decision.strategy_of(prop),
                        seq=seq,
                        rank=prop.rank,
                        acquisition=prop.acquisition,
                        value=prop.value,
                        mean=prop.mean,
                        std=prop.std,
                        decide_seconds=seconds,
                    )
                )
                seq += 1
            if (any_of and any_of.intersection(done)) or (all_of and all_of.issubset(done)):
                trace.stop_reason = "found"
                break
    return trace


# ---------------------------------------------------------------------------- memoised fits


def _fit_is_deterministic(model: GPModel, n: int) -> bool:
    """Whether ``model.fit`` on ``n`` observations ignores ``random_state``.

    The seed draws only the optimiser's restart points up to ``restart_limit`` observations
    (above it the one restart has a fixed seed) and the hyperparameter subset (above
    ``max_hyperparameter_samples``).
    """
    if not model.optimize_hyperparameters or n < 2:
        return True
    restarts = model.n_restarts > 0 and n <= model.restart_limit
    subset = bool(model.max_hyperparameter_samples) and n > model.max_hyperparameter_samples
    return not restarts and not subset


def _fit_key(model: GPModel, features: Any, y: Any) -> str | None:
    """Content key of a memoisable fit, or None (a callable mean, a kernel object, a warm
    start or a seed that matters make a fit not memoisable)."""
    if (
        model.mean_function is not None
        or not isinstance(model.kernel, str)
        or model.warm_start
        or model.chunk_size is not None
    ):
        return None
    x = np.ascontiguousarray(features, dtype=float)
    y = np.ascontiguousarray(y, dtype=float).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.size or not _fit_is_deterministic(model, y.size):
        return None
    params = model.get_params(deep=False)
    params.pop("random_state")
    groups = params.pop("groups")
    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr(sorted(params.items())).encode())
    digest.update(repr(None if groups is None else sorted(groups.items())).encode())
    digest.update(repr(x.shape).encode())
    digest.update(x.tobytes())
    digest.update(y.tobytes())
    return digest.hexdigest()


_MEMO: OrderedDict[str, dict[str, Any]] = OrderedDict()
_MEMO_SIZE = 16


@contextlib.contextmanager
def memoised_fits() -> Iterator[None]:
    """Within the block, a :class:`~bo_agent.gp.models.GPModel` fit whose result cannot depend
    on its seed is taken from an in-process cache when the same fit (parameters, X, y) ran
    before.

    Such fits are the source GPs of transfer modes ``hp`` and ``gp`` (more source results than
    ``restart_limit``, so no seeded restart). The fitted attributes are deep-copied in and out
    of the cache, so a model never shares mutable state with another. Nested use is harmless.
    """
    original = GPModel.fit
    if getattr(original, "_tavbo_memoised", False):
        yield
        return

    def fit(self: GPModel, features: Any, y: Any) -> GPModel:
        key = _fit_key(self, features, y)
        if key is None:
            return original(self, features, y)
        state = _MEMO.get(key)
        if state is not None:
            _MEMO.move_to_end(key)
            self.__dict__.update(copy.deepcopy(state))
            return self
        original(self, features, y)
        params = self.get_params(deep=False)  # the rest of the instance is fitted state
        _MEMO[key] = copy.deepcopy({k: v for k, v in vars(self).items() if k not in params})
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
        return self

    fit._tavbo_memoised = True  # type: ignore[attr-defined]
    fit.__doc__ = original.__doc__
    GPModel.fit = fit  # type: ignore[method-assign]
    try:
        yield
    finally:
        GPModel.fit = original  # type: ignore[method-assign]
