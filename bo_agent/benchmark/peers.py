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

Failed evaluations (like for like). A peer searches the same pool as tavbo's strategies, the
compositions whose evaluation fails included (a third of the CHGNet Na pool on reference v2), and a
failed evaluation costs it one evaluation, as it costs tavbo. A user of either code then has no E_b
to give it, and neither code's documentation recommends imputing one: BayBE's single-target
surrogate refuses a missing target (NaN is allowed only for partial multi-target measurements), and
its documented tool is candidate control in discrete spaces (``Campaign.
toggle_discrete_candidates(..., exclude=True)``, and ``allow_recommending_already_*``); PHYSBO's
interactive mode (``bayes_search(simulator=None)`` returns the action, the user passes its value to
``write``) takes an action out of the candidate list when it proposes it, so a failure that is
never written is simply gone. So each peer does what its tools do: the failed composition leaves
the search space and nothing enters the model. Imputing the worst E_b seen (what tavbo's
``failed_value: worst`` does) is a modelling choice neither peer offers. PHYSBO's hyperparameters
are relearnt at every 20th of its own proposals (failed ones counted), as
``bayes_search(interval=20)`` does; before its first result it proposes at random
(``random_search``). BayBE runs with ``allow_recommending_already_measured=False``: its default
(True) re-proposed an initial composition in 1-18 of 50 trials per panel problem, a wasted
evaluation no user of a deterministic calculation would accept.

The peers given only the compositions whose result is trusted (an oracle no user has: the
benchmark's earlier comparison) stay available as ``<peer>@trusted-pool``
(:data:`bo_agent.benchmark.settings.PEER_VARIANTS`); the caller passes them the restricted pool.

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
    "baybe": {
        "recommender": "default (TwoPhaseMetaRecommender -> BotorchRecommender)",
        "allow_recommending_already_measured": False,
    },
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
        """Evaluate ``candidate_id``: its E_b, or None for a failed evaluation (not in the data;
        it counts toward the budget all the same)."""
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
        Target pool; an ID missing from ``data`` is a composition whose evaluation fails (it
        costs an evaluation and leaves the peer's search space).
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
        Step strategy ``initial-random`` for the shared initial points, then the peer's name;
        E_b None for a failed evaluation. No composition appears twice.

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
        if name == "physbo":
            _physbo(shuffled, rec, seed)
        else:
            _baybe(shuffled, rec, seed)
    if rec.trace.stop_reason is None:
        rec.trace.stop_reason = "pool exhausted"
    return rec.trace


def _physbo(pool: Pool, rec: _Recorder, seed: int) -> None:
    """PHYSBO in its interactive mode, so a failed evaluation can go unwritten."""
    import physbo

    row = {cid: i for i, cid in enumerate(pool.ids)}
    done = [(row[s.candidate_id], s.e_b) for s in rec.trace.steps]
    ok = [(a, -e) for a, e in done if e is not None]
    initial = (np.array([a for a, _ in ok]), np.array([f for _, f in ok])) if ok else None
    policy = physbo.search.discrete.Policy(test_X=pool.X, initial_data=initial)
    policy.set_seed(seed)
    policy.actions = np.setdiff1d(policy.actions, [a for a, e in done if e is None])
    settings = PEER_SETTINGS["physbo"]
    learned = bool(ok)  # PHYSBO needs one result before its GP can propose
    n = 0  # PHYSBO's own proposals, as bayes_search counts them for ``interval``
    while not rec.done() and len(policy.actions):
        if learned:
            every = settings["interval"]
            action = policy.bayes_search(
                max_num_probes=1,
                simulator=None,
                is_disp=False,
                score=settings["score"],
                interval=every if n % every == 0 else -1,
                num_rand_basis=settings["num_rand_basis"],
            )
            n += 1
        else:
            action = policy.random_search(max_num_probes=1, simulator=None, is_disp=False)
        a = int(np.atleast_1d(action)[0])
        e_b = rec.add(pool.ids[a])
        if e_b is not None:
            policy.write(np.array([a]), np.array([-e_b]))
            learned = True


def _baybe(pool: Pool, rec: _Recorder, seed: int) -> None:
    """BayBE's default campaign; a failed composition is excluded from its candidates."""
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
        allow_recommending_already_measured=PEER_SETTINGS["baybe"][
            "allow_recommending_already_measured"
        ],
    )
    set_random_seed(seed)
    lookup = {tuple(r): i for i, r in enumerate(frame.to_numpy())}
    rows = list(pool.rows([s.candidate_id for s in rec.trace.steps]))
    values = [s.e_b for s in rec.trace.steps]
    measured = frame.iloc[[r for r, e in zip(rows, values, strict=True) if e is not None]].copy()
    if len(measured):
        measured["E_b"] = [e for e in values if e is not None]
        campaign.add_measurements(measured)
    failed = [r for r, e in zip(rows, values, strict=True) if e is None]
    if failed:
        campaign.toggle_discrete_candidates(frame.iloc[failed], exclude=True)
    left = len(pool.ids) - len(rows)
    while left and not rec.done():
        pick = campaign.recommend(batch_size=1)
        left -= 1
        i = lookup[tuple(pick[cols].to_numpy()[0])]
        e_b = rec.add(pool.ids[i])
        if e_b is None:
            campaign.toggle_discrete_candidates(frame.iloc[[i]], exclude=True)
        else:
            pick["E_b"] = e_b
            campaign.add_measurements(pick)
