"""Other BO codes on the same benchmark: PHYSBO and BayBE (optional, ``pip install tavbo[peers]``).

Each peer searches the same target pool as tavbo's strategies (the same standardised descriptors
as tavbo's GP), is answered from the same data set, starts from the same ``n_initial`` random
compositions as tavbo's trial with the same seed (:func:`initial_ids`), and is seeded with that
seed; after that it runs with the settings its developers recommend for a small discrete pool:

- PHYSBO (``physbo.search.discrete.Policy``): exact GP (``num_rand_basis=0``: random features
  are meant for pools of 10^4 and more), expected improvement (``score="EI"``, tavbo's
  default), hyperparameters relearnt every 20 probes (``interval=20``, the tutorial's value).
  PHYSBO maximises, so it sees ``-E_b``.
- BayBE (``baybe.Campaign``): its default recommender (a BoTorch GP surrogate with BayBE's
  kernel and priors, and its default acquisition), the pool as a discrete search space of the
  descriptor columns that vary over it, target ``E_b`` minimised, ``baybe.utils.random.
  set_random_seed(seed)``, and ``allow_recommending_already_measured=False`` (BayBE's default
  lets it recommend a measured candidate again; for a deterministic calculation that wastes an
  evaluation: 0.1-0.4 per trial did so on the panel before this was set).

**Failed evaluations, like for like.** The pool holds every composition, as tavbo's does; one
whose result the engine cannot trust (a data set's ``failed`` compositions: no E_b) costs the
peer one evaluation, as it costs tavbo, and is never proposed again. What the peer learns from
it is what a user of that peer would do, following its documentation:

- BayBE excludes it from the search space: its guide ("Getting recommendations", *Dynamic
  exclusion*) recommends ``Campaign.toggle_discrete_candidates(..., exclude=True)`` for
  configurations found to be infeasible during a campaign. It is not added as a measurement
  (BayBE drops a row with a missing target from the surrogate anyway: "incomplete
  measurements"), so its GP sees only trusted results, as tavbo's does with
  ``failed_value: none``.
- PHYSBO has no notion of a failed evaluation (its docs and API: ``Policy.write`` takes a value
  for every action, and only ``write`` removes an action from the candidates), so a user writes
  a penalty value; the usual one, and tavbo's ``failed_value: worst``, is the worst E_b seen so
  far (the lowest ``-E_b``). If every initial point fails there is no value yet: further
  compositions are drawn at random (seeded) until one succeeds.

``<peer>@trusted-pool`` is the earlier comparison, kept for reference: the pool holds only the
compositions whose result is trusted, an oracle no user has (a third of the Na pool fails on
reference v2), so the peer never spends an evaluation on a failure.

Both break ties between equal acquisition values by the lower candidate index. With few
observations PHYSBO's marginal likelihood often drives its length scale to the lower bound
(1e-6): every unseen candidate then has the same EI, and PHYSBO walks the pool in the order it
was given. In the space's own order that reaches the near-optimal Na-Ca-Se-F at evaluation 11
(144 of 200 trials on the CHGNet set did exactly this), a lead that comes from how the space file
is sorted, not from the model. So each trial hands the peer the pool rows in a random order drawn
from the trial's seed (:func:`pool_order`), as if the user had listed the candidates in any
other order; tavbo breaks its own ties at random for the same reason.

Neither has a threshold ("every E_b < tau") acquisition, so peers run in the optimum benchmark
only. Both packages are imported only when a peer runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import warnings
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from bo_agent.benchmark.replay import ReplayStep, ReplayTrace, replay
from bo_agent.config import CampaignConfig
from bo_agent.decide.strategy import Pool
from workflows.errors import ConfigError

__all__ = ["PEER_SETTINGS", "check_peer", "initial_ids", "pool_order", "run_peer"]

logger = logging.getLogger(__name__)

#: Settings of each peer (see the module docstring).
PEER_SETTINGS: dict[str, dict[str, Any]] = {
    "physbo": {"score": "EI", "interval": 20, "num_rand_basis": 0},
    "baybe": {"recommender": "default (TwoPhaseMetaRecommender -> BotorchRecommender)"},
}


def check_peer(name: str) -> None:
    """Raise unless peer ``name`` is known and installed.

    Raises
    ------
    ConfigError
        For an unknown peer, or one whose package is not installed (the message says what to
        install).
    """
    if name not in PEER_SETTINGS:
        raise ConfigError(f"unknown peer {name!r}; expected one of {sorted(PEER_SETTINGS)}")
    if importlib.util.find_spec(name) is None:
        raise ConfigError(
            f"peer {name!r} needs the {name} package: pip install 'tavbo[peers]' (or pip install "
            f"{name}), or leave it out of the strategies"
        )


def initial_ids(pool: Pool, data: Mapping[str, float], seed: int, n_initial: int) -> list[str]:
    """The ``n_initial`` random compositions tavbo's trial with ``seed`` starts from."""
    config = CampaignConfig(model="random", seed=seed, n_initial=n_initial)
    return replay(pool, config, data, budget=n_initial, memoise=False).ids


def pool_order(ids: Sequence[str], seed: int) -> np.ndarray:
    """Row order in which trial ``seed`` shows the pool ``ids`` to a peer.

    A seeded shuffle of the IDs sorted by name, so the peer's view depends on the trial seed
    and not on the order the space file lists the compositions in.
    """
    by_name = np.argsort(np.asarray(ids, dtype=str), kind="stable")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x9EE2]))
    return by_name[rng.permutation(len(ids))]


class _StopSignalError(Exception):  # control flow, not a failure
    """Raised inside a peer's loop once the trial's curve can no longer change."""


class _Recorder:
    """Collects a peer's evaluations as replay steps and says when to stop."""

    def __init__(
        self,
        data: Mapping[str, float],
        strategy: str,
        until_any: Collection[str],
        until_all: Collection[str],
        horizon: int,
    ) -> None:
        self.data = data
        self.strategy = strategy
        self.any = set(until_any)
        self.all = set(until_all)
        self.horizon = horizon
        self.trace = ReplayTrace()
        self.found: set[str] = set()

    def add(self, candidate_id: str, strategy: str | None = None) -> float | None:
        """Record one evaluation; its E_b, or None if it fails (no E_b in the data)."""
        value = self.data.get(candidate_id)
        e_b = None if value is None else float(value)
        nan = float("nan")
        t = len(self.trace.steps) + 1
        self.trace.steps.append(
            ReplayStep(t, candidate_id, e_b, strategy or self.strategy, t - 1, 0, self.strategy,
                       nan, nan, nan, nan)
        )  # fmt: skip
        self.found.add(candidate_id)
        return e_b

    def worst(self) -> float | None:
        """Highest E_b observed so far (None before the first trusted result)."""
        values = [s.e_b for s in self.trace.steps if s.e_b is not None]
        return max(values) if values else None

    def done(self) -> bool:
        if len(self.trace.steps) >= self.horizon:
            self.trace.stop_reason = f"budget of {self.horizon} evaluations used"
            return True
        if (self.any and self.any & self.found) or (self.all and self.all <= self.found):
            self.trace.stop_reason = "found"
            return True
        return False


def run_peer(
    name: str,
    pool: Pool,
    data: Mapping[str, float],
    *,
    seed: int,
    horizon: int,
    n_initial: int = 5,
    tau: float | None = None,
    until_any: Collection[str] = (),
    until_all: Collection[str] = (),
) -> ReplayTrace:
    """One trial of peer ``name`` (``physbo`` or ``baybe``) on ``pool``, answered from ``data``.

    Parameters
    ----------
    name : {"physbo", "baybe"}
    pool : Pool
        Target pool; an ID without an E_b in ``data`` fails when evaluated (it costs an
        evaluation; see the module docstring for what each peer does with it).
    data : mapping of str to float
        E_b (eV) by candidate ID.
    seed : int
        Seed of the trial (initial points and the peer's own random state).
    horizon : int
        Evaluations at most (initial ones included).
    n_initial : int, default=5
    tau : float or None
        Must be None: peers have no threshold acquisition.
    until_any, until_all : collection of str
        Early stop, as in :func:`bo_agent.benchmark.replay.replay`.

    Returns
    -------
    ReplayTrace
        Step strategy ``initial-random`` for the shared initial points, then the peer's name.

    Raises
    ------
    ConfigError
        If the peer is unknown or not installed, or ``tau`` is given.
    """
    check_peer(name)
    if tau is not None:
        raise ConfigError(f"peer {name!r} has no threshold acquisition; run it for the optimum")
    rec = _Recorder(data, name, until_any, until_all, horizon)
    rec.trace.seed = seed
    rec.trace.label = name
    for cid in initial_ids(pool, data, seed, min(n_initial, horizon)):
        rec.add(cid, "initial-random")
    if rec.done():
        return rec.trace
    # Single-threaded BLAS: the peers' small solves are hundreds of times slower with threads
    # on busy cores (see bo_agent.gp.models).
    order = pool_order(pool.ids, seed)
    shuffled = Pool(ids=tuple(pool.ids[i] for i in order), X=pool.X[order], groups=pool.groups)
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        threadpool_limits(1, user_api="blas"),
    ):
        warnings.simplefilter("ignore")
        try:
            if name == "physbo":
                _physbo(shuffled, rec, seed)
            else:
                _baybe(shuffled, rec, seed)
        except _StopSignalError:
            pass
    if rec.trace.stop_reason is None:
        rec.trace.stop_reason = "pool exhausted"
    return rec.trace


def _physbo(pool: Pool, rec: _Recorder, seed: int) -> None:
    import physbo

    # Every evaluation so far failed: no value to impute yet, so draw at random until one
    # succeeds (rare: all n_initial points failing).
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xFA11]))
    while rec.worst() is None:
        rest = [c for c in pool.ids if c not in rec.found]
        if not rest:
            return
        rec.add(rest[int(rng.integers(len(rest)))], "random")
        if rec.done():
            raise _StopSignalError
    worst = rec.worst()
    row = {cid: i for i, cid in enumerate(pool.ids)}
    actions = np.array([row[s.candidate_id] for s in rec.trace.steps])
    fx = -np.array([worst if s.e_b is None else s.e_b for s in rec.trace.steps], dtype=float)
    policy = physbo.search.discrete.Policy(test_X=pool.X, initial_data=(actions, fx))
    policy.set_seed(seed)

    def simulator(action: Any) -> np.ndarray:
        values = []
        for a in np.atleast_1d(action):
            e_b = rec.add(pool.ids[int(a)])
            values.append(-(rec.worst() if e_b is None else e_b))  # a failure: the worst so far
        if rec.done():
            raise _StopSignalError
        return np.array(values)

    settings = PEER_SETTINGS["physbo"]
    policy.bayes_search(
        max_num_probes=rec.horizon - len(rec.trace.steps),
        simulator=simulator,
        is_disp=False,
        **settings,
    )


def _baybe(pool: Pool, rec: _Recorder, seed: int) -> None:
    import pandas as pd
    import torch
    from baybe import Campaign
    from baybe.parameters import NumericalDiscreteParameter
    from baybe.searchspace import SearchSpace
    from baybe.targets import NumericalTarget
    from baybe.utils.random import set_random_seed

    torch.set_num_threads(1)  # one benchmark worker per core
    keep = [j for j in range(pool.X.shape[1]) if np.ptp(pool.X[:, j]) > 1e-12]
    cols = [f"x{j}" for j in keep]
    frame = pd.DataFrame(np.round(pool.X[:, keep], 10), columns=cols)
    params = [NumericalDiscreteParameter(c, values=tuple(sorted(set(frame[c])))) for c in cols]
    campaign = Campaign(
        SearchSpace.from_dataframe(frame, params),
        NumericalTarget("E_b", minimize=True),
        allow_recommending_already_measured=False,
    )
    set_random_seed(seed)
    lookup = {tuple(r): i for i, r in enumerate(frame.to_numpy())}
    steps = rec.trace.steps
    ok = [s for s in steps if s.e_b is not None]
    failed = [s.candidate_id for s in steps if s.e_b is None]
    if ok:
        measured = frame.iloc[pool.rows([s.candidate_id for s in ok])].copy()
        measured["E_b"] = [s.e_b for s in ok]
        campaign.add_measurements(measured)
    if failed:  # infeasible: out of the search space (BayBE's dynamic exclusion)
        campaign.toggle_discrete_candidates(frame.iloc[pool.rows(failed)], exclude=True)
    while not rec.done() and len(rec.found) < len(pool.ids):
        pick = campaign.recommend(batch_size=1)
        i = lookup[tuple(pick[cols].to_numpy()[0])]
        e_b = rec.add(pool.ids[i])
        if e_b is None:
            campaign.toggle_discrete_candidates(pick[cols], exclude=True)
        else:
            pick["E_b"] = e_b
            campaign.add_measurements(pick)
