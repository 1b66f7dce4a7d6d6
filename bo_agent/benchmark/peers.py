"""Other BO codes on the same benchmark: PHYSBO and BayBE (optional, ``pip install tavbo[peers]``).

Each peer searches the same target pool (the same standardised descriptors as tavbo's GP), is
answered from the same data set, starts from the same ``n_initial`` random compositions as
tavbo's trial with the same seed (:func:`initial_ids`), and is seeded with that seed; after that
it runs with the settings its developers recommend for a small discrete pool:

- PHYSBO (``physbo.search.discrete.Policy``): exact GP (``num_rand_basis=0``: random features
  are meant for pools of 10^4 and more), expected improvement (``score="EI"``, tavbo's
  default), hyperparameters relearnt every 20 probes (``interval=20``, the tutorial's value).
  PHYSBO maximises, so it sees ``-E_b``.
- BayBE (``baybe.Campaign``): its default recommender (a BoTorch GP surrogate with BayBE's
  kernel and priors, and its default acquisition), the pool as a discrete search space of the
  descriptor columns that vary over it, target ``E_b`` minimised, ``baybe.utils.random.
  set_random_seed(seed)``.

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

    def add(self, candidate_id: str, strategy: str | None = None) -> float:
        e_b = float(self.data[candidate_id])
        nan = float("nan")
        t = len(self.trace.steps) + 1
        self.trace.steps.append(
            ReplayStep(t, candidate_id, e_b, strategy or self.strategy, t - 1, 0, self.strategy,
                       nan, nan, nan, nan)
        )  # fmt: skip
        self.found.add(candidate_id)
        return e_b

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
        Target pool (every ID must be in ``data``).
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

    row = {cid: i for i, cid in enumerate(pool.ids)}
    actions = np.array([row[s.candidate_id] for s in rec.trace.steps])
    fx = -np.array([s.e_b for s in rec.trace.steps], dtype=float)
    policy = physbo.search.discrete.Policy(test_X=pool.X, initial_data=(actions, fx))
    policy.set_seed(seed)

    def simulator(action: Any) -> np.ndarray:
        values = [-rec.add(pool.ids[int(a)]) for a in np.atleast_1d(action)]
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
        SearchSpace.from_dataframe(frame, params), NumericalTarget("E_b", minimize=True)
    )
    set_random_seed(seed)
    lookup = {tuple(r): i for i, r in enumerate(frame.to_numpy())}
    done = list(pool.rows([s.candidate_id for s in rec.trace.steps]))
    measured = frame.iloc[done].copy()
    measured["E_b"] = [s.e_b for s in rec.trace.steps]
    campaign.add_measurements(measured)
    while not rec.done():
        pick = campaign.recommend(batch_size=1)
        i = lookup[tuple(pick[cols].to_numpy()[0])]
        pick["E_b"] = rec.add(pool.ids[i])
        campaign.add_measurements(pick)
