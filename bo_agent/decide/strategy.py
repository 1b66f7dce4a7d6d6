"""One decision of a campaign, as a pure function of the data: pool + results -> proposals.

This is the only place that turns a :class:`~bo_agent.config.CampaignConfig` into a model and an
acquisition. The live agent (:mod:`bo_agent.campaign.agent`) and the offline replay
(:mod:`bo_agent.benchmark.replay`) both call :func:`decide`, so a replay proposes exactly what a
campaign on the LaunchPad would.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bo_agent.config import CampaignConfig
from bo_agent.decide.acquisition import evaluations_since_hit, expected_undiscovered
from bo_agent.decide.neighbourhood import local_region
from bo_agent.decide.proposals import Proposal, propose
from bo_agent.decide.selection import fit_by_hyperprior, model_for, select_model
from bo_agent.errors import AgentError
from bo_agent.features.descriptors import compute_descriptors
from bo_agent.features.elements import element_columns
from bo_agent.features.scaling import standardise
from bo_agent.features.table import check_grouping
from bo_agent.gp.feasibility import trusted_probability
from bo_agent.gp.models import GPModel
from bo_agent.gp.target_transform import TargetScale
from bo_agent.gp.transfer import TransferGP
from workflows.errors import TavboWarning
from workflows.space.compositions import Candidate, CompositionSpace

__all__ = [
    "Decision",
    "Pool",
    "build_pool",
    "decide",
    "decision_seed",
    "make_model",
]


@dataclass(frozen=True)
class Pool:
    """The target candidates of a campaign and the features the GP sees.

    Attributes
    ----------
    ids : tuple of str
        Target-carrier candidate IDs, in space order; row i of ``X`` is ``ids[i]``.
    X : ndarray of shape (n_candidates, n_features)
        Standardised descriptors (over the whole space). With a ``source_carrier`` the A-site
        columns are those of the source-carrier analogue ("carrier descriptors swapped"), so a
        source GP can be evaluated on target rows.
    groups : dict of str to list of int
        Column groups for the additive kernel.
    source_ids : tuple of str
        Source-carrier analogue of each target ID (empty without transfer).
    """

    ids: tuple[str, ...]
    X: np.ndarray
    groups: dict[str, list[int]]
    source_ids: tuple[str, ...] = ()
    _row: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._row.update({cid: i for i, cid in enumerate(self.ids)})

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """Row indices of these IDs (unknown IDs raise AgentError)."""
        try:
            return np.array([self._row[i] for i in ids], dtype=np.intp)
        except KeyError as exc:
            raise AgentError(
                f"composition {exc.args[0]!r} is not in this campaign's pool"
            ) from None

    def source_row_of(self, source_id: str) -> int | None:
        """Row whose source-carrier analogue is ``source_id`` (None if absent)."""
        try:
            return self.source_ids.index(source_id)
        except ValueError:
            return None


def _swap(candidate: Candidate, carrier: str, space: CompositionSpace) -> str:
    analogue = f"{carrier}-{candidate.m}-{candidate.x}-{candidate.z}"
    if analogue not in space:
        raise AgentError(
            f"transfer needs the {carrier} analogue of {candidate.id}, which is not in the space"
        )
    return analogue


def build_pool(
    space: CompositionSpace,
    carrier: str,
    groups_by: str = "kind",
    source_carrier: str | None = None,
) -> Pool:
    """Descriptors of the ``carrier`` candidates of ``space``, standardised over all of it.

    ``groups_by`` is ``site`` or ``kind``; ``kind+element`` adds element-identity columns,
    one group per site and per framework (:mod:`bo_agent.features.elements`).
    """
    check_grouping(groups_by)
    base, _, extra = groups_by.partition("+")
    table = standardise(compute_descriptors(space))
    if extra == "element":
        table = table.join(element_columns(space.candidates))
    targets = space.filter(A=carrier)
    if not targets:
        raise AgentError(f"no composition with carrier {carrier!r} in space {space.name!r}")
    ids = tuple(c.id for c in targets)
    source_ids: tuple[str, ...] = ()
    rows_from = ids
    if source_carrier is not None:
        source_ids = tuple(_swap(c, source_carrier, space) for c in targets)
        rows_from = source_ids
    sub = table.subset(list(rows_from))
    groups = sub.groups(base)  # type: ignore[arg-type]
    return Pool(ids=ids, X=np.asarray(sub.values), groups=groups, source_ids=source_ids)


def _source_name(config: CampaignConfig) -> str:
    if config.source_data:
        return f"source data {config.source_data!r}"
    return f"source campaign {config.source_campaign!r}"


def decision_seed(seed: int, seq: int) -> int:
    """Seed of decision number ``seq``: reproducible across restarts and replays."""
    return int(np.random.SeedSequence([seed, seq]).generate_state(1)[0])


def make_model(config: CampaignConfig, pool: Pool, random_state: int) -> GPModel | TransferGP:
    """The configured GP: oBO (one kernel) or aBO (sum over groups), maybe with transfer.

    ``model: auto`` chooses its model at each decision (:func:`select_model`); here it gives
    aBO.
    """
    if config.model == "random":
        raise AgentError("random search has no model")
    model = "abo" if config.model == "auto" else config.model
    return model_for(model, config.transfer, config, pool.groups, random_state)


@dataclass
class Decision:
    """What :func:`decide` returns: picks, the model summary, and whether to stop."""

    proposals: list[tuple[str, Proposal]]
    strategy: str
    model: dict[str, Any] = field(default_factory=dict)
    expected_undiscovered: float | None = None
    stop_reason: str | None = None

    def strategy_of(self, proposal: Proposal) -> str:
        """What made this pick: a batch's local step is ``local-random`` among model picks."""
        return "local-random" if proposal.acquisition == "random-local" else self.strategy


def _random_picks(
    pool: Pool, taken: set[str], n: int, rng: np.random.Generator, strategy: str
) -> Decision:
    free = [i for i, cid in enumerate(pool.ids) if cid not in taken]
    picks = rng.permutation(free)[:n] if free else []
    proposals = [
        (pool.ids[int(i)], Proposal(int(i), float("nan"), r, float("nan"), float("nan"), "random"))
        for r, i in enumerate(picks)
    ]
    return Decision(proposals=proposals, strategy=strategy)


def _local_step(
    pool: Pool,
    config: CampaignConfig,
    observations: Mapping[str, float],
    taken: set[str],
    started: int,
    n: int,
    rng: np.random.Generator,
) -> Decision | None:
    """The picks of this batch that are local steps, or None if none is.

    Every ``local_every``-th pick of the model (counted over the campaign, so a batch can hold
    some) is uniform among the free neighbours of the best result instead. The model is left
    out on purpose: where it is confidently wrong (an interaction it reads as an average), its
    acquisition ranks the right neighbour low too. SMAC interleaves random configurations with
    its model's picks for the same reason, and searches the one-exchange neighbourhood of its
    incumbent (Hutter, Hoos & Leyton-Brown 2011).
    """
    if not config.local_every or config.goal != "minimum":
        return None
    k = sum(1 for t in _turns(config, started, n) if t > 0 and t % config.local_every == 0)
    region = local_region(pool.ids, observations, taken) if k else None
    if region is None:
        return None
    centre, free = region
    picks = [free[int(i)] for i in rng.choice(len(free), size=min(k, len(free)), replace=False)]
    nan = math.nan
    proposals = [
        (cid, Proposal(int(pool.rows([cid])[0]), nan, r, nan, nan, "random-local"))
        for r, cid in enumerate(picks)
    ]
    local = {"local": {"centre": centre, "free": len(free)}}
    return Decision(proposals, "local-random", model=local)


def _turns(config: CampaignConfig, started: int, n: int) -> range:
    """The model's turns of a batch of ``n`` picks: 1 for its first pick of the campaign."""
    first = started - config.n_initial + 1
    return range(first, first + n)


def _in_ev(proposal: Proposal, scale: TargetScale) -> Proposal:
    """The proposal with its predicted mean and std in eV (the GP may model log E_b)."""
    mean, std = scale.to_ev(proposal.mean, proposal.std)
    return replace(proposal, mean=mean, std=std)


def decide(
    pool: Pool,
    config: CampaignConfig,
    observations: Mapping[str, float],
    *,
    pending: Sequence[str] = (),
    failed: Sequence[str] = (),
    untrusted: Sequence[str] = (),
    n: int = 1,
    seq: int = 0,
    source_observations: Mapping[str, float] | None = None,
    history: Sequence[str] | None = None,
) -> Decision:
    """Choose up to ``n`` new candidates; deterministic for (config.seed, seq, data).

    Parameters
    ----------
    pool : Pool
        Target candidates and features.
    config : CampaignConfig
        Model, acquisition, goal, seeds.
    observations : mapping of str to float
        Finished E_b (eV) by candidate ID.
    pending, failed : sequence of str
        IDs being computed now (conditioned on as kriging believers) and IDs that failed
        (every failed ID stays out of the pool).
    untrusted : sequence of str
        The failed IDs whose evaluation finished with a result the engine could not trust
        (unconverged NEB, surviving dip, reconstructed framework): a verdict on the composition.
        When ``config.imputes_failures()`` (``failed_value``) only these enter the GP, at the
        highest E_b observed so far; a run failure (crash, walltime, queue refusal) never does.
    n : int, default=1
        How many to propose (fewer if the pool runs short).
    seq : int, default=0
        Number of the first decision (seeds the random choices).
    source_observations : mapping of str to float, optional
        Source-carrier E_b by source ID, for transfer.
    history : sequence of str, optional
        IDs of ``observations`` in the order they finished, for the threshold goal's
        ``stop_patience`` (default: the order of ``observations``).

    Returns
    -------
    Decision
        ``stop_reason`` is set (and ``proposals`` empty) when the threshold goal's stopping rule
        fires or the pool is exhausted.
    """
    seed = decision_seed(config.seed, seq)
    rng = np.random.default_rng(seed)
    taken = set(observations) | set(pending) | set(failed) | set(untrusted)
    if len(taken) >= len(pool.ids):
        return Decision([], "none", stop_reason="every composition is evaluated or failed")
    if config.model == "random":
        return _random_picks(pool, taken, n, rng, "random")
    started = len(observations) + len(pending)
    if config.initial_design == "evaluations":  # an untrusted result counts as one
        started += len(set(untrusted) - set(observations))
    if started < config.n_initial or len(observations) < 2:
        # The report's protocol: random initial points before the first GP.
        return _random_picks(pool, taken, n, rng, "initial-random")
    local = _local_step(pool, config, observations, taken, started, n, rng)
    if local is not None and len(local.proposals) == n:
        return local
    if local is not None:  # the rest of the batch is the model's, as if picked in turn
        rest = decide(
            pool, config.model_copy(update={"local_every": 0}), observations, pending=pending,
            failed=[*failed, *(c for c, _ in local.proposals)], untrusted=untrusted,
            n=n - len(local.proposals), seq=seq, source_observations=source_observations,
            history=history,
        )  # fmt: skip
        model_picks, local_picks = iter(rest.proposals), iter(local.proposals)
        turns = [next(local_picks if t % config.local_every == 0 else model_picks, None)
                 for t in _turns(config, started, n)]  # fmt: skip
        picks = [*(p for p in turns if p is not None), *model_picks, *local_picks]
        rest.proposals = [(c, replace(p, rank=r)) for r, (c, p) in enumerate(picks)]
        rest.model.update(local.model)
        return rest

    obs_ids = list(observations)
    scale = TargetScale(config.target_transform)
    y_ev = np.array([observations[i] for i in obs_ids], dtype=float)
    known = set(pool.ids)
    bad = [f for f in dict.fromkeys(untrusted) if f in known and f not in observations]
    if config.imputes_failures():  # an untrusted result teaches the GP "not here"
        obs_ids += bad
        y_ev = np.concatenate([y_ev, np.full(len(bad), y_ev.max())])
    y = scale.forward(y_ev)
    tau = scale.level(config.tau)
    model = make_model(config, pool, seed)
    fit_params: dict[str, Any] = {}
    if config.transfer != "none":
        src = source_observations or {}
        src_rows = [(pool.source_row_of(sid), e) for sid, e in src.items()]
        src_rows = [(r, e) for r, e in src_rows if r is not None]
        if len(src_rows) < 2:
            raise AgentError(
                f"transfer={config.transfer!r} needs source results; "
                f"{_source_name(config)} has {len(src_rows)} usable barriers"
            )
        fit_params = {
            "X_source": pool.X[[r for r, _ in src_rows]],
            "y_source": scale.forward(np.array([e for _, e in src_rows], dtype=float)),
        }
    source_kept = False  # whether model auto keeps the transfer source at this decision
    acquisition = config.acquisition_used()
    strategy = config.model + ("" if config.transfer == "none" else f"+{config.transfer}")
    if config.model == "auto":
        obs_rows = pool.rows(obs_ids)
        imputed = None
        if config.transfer != "none" and config.failed_value == "auto":
            # without the source the model learns from untrusted results, as it would with none
            imputed = (pool.X[pool.rows(bad)], np.full(len(bad), float(y.max())))
        picked = None
        if history is not None:  # the first n_initial results were random, not the model's picks
            initial = set(list(history)[: config.n_initial])
            picked = np.array([cid not in initial for cid in obs_ids], dtype=bool)
        chosen = select_model(
            config, pool.groups, pool.X[obs_rows], y, seed, fit_params, imputed, picked
        )
        model, strategy = chosen.model, f"auto:{chosen.name}"
        source_kept = chosen.keeps_source
    feasibility = None  # P(trusted result) over the pool, from the outcomes so far
    if bad and config.classifies_failures(source_kept):
        feasibility = trusted_probability(
            pool.X[pool.rows(list(observations))], pool.X[pool.rows(bad)], pool.X
        )
    prior_scores: dict[str, float] = {}
    fitted = config.model == "auto"
    if config.model != "auto" and len(config.gp_hyperpriors()) > 1:  # loo, cv, average, ...
        model, prior, prior_scores = fit_by_hyperprior(
            config.model, config.transfer, config, pool.groups, pool.X[pool.rows(obs_ids)], y,
            seed, fit_params, turn=started,
        )  # fmt: skip
        strategy, fitted = f"{strategy}/{prior}", True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TavboWarning)  # a shrinking batch is expected at the end
        proposals = propose(
            model,
            pool.X,
            pool.rows(obs_ids),
            y,
            pending_idx=pool.rows(list(pending)),
            failed_idx=pool.rows(list(dict.fromkeys([*failed, *untrusted]))),
            acquisition=acquisition,
            q=n,
            random_state=seed,
            fit_params=fit_params,
            xi=scale.margin(config.xi, float(y_ev.min())),
            kappa=config.kappa,
            threshold=tau,
            refit=not fitted,
            incumbent=config.incumbent,
            stall_level=scale.margin(config.stall_guard, float(y_ev.min())),
            feasibility=feasibility,
        )
    decision = Decision(
        proposals=[(pool.ids[p.index], _in_ev(p, scale)) for p in proposals],
        strategy=strategy,
        model=model.fitted_hyperparameters(),
    )
    if config.model == "auto":
        decision.model["selection"] = chosen.record()
    if prior_scores:  # which hyperprior the results bore out (out-of-sample log density)
        decision.model["hyperprior_scores"] = {k: round(v, 4) for k, v in prior_scores.items()}
    if feasibility is not None:  # the EI of each pick was weighted by this (failed_value)
        decision.model["p_trusted"] = {
            pool.ids[p.index]: round(float(feasibility[p.index]), 4) for p in proposals
        }
    if config.goal == "threshold":
        post = model.pool_posterior(pool.X)
        mask = np.zeros(len(pool.ids), dtype=bool)
        mask[pool.rows(sorted(taken))] = True
        decision.expected_undiscovered = expected_undiscovered(post.mean, post.std, tau, mask)
        ordered = {c: observations[c] for c in (history or observations) if c in observations}
        quiet = evaluations_since_hit(ordered, config.tau)
        if (
            decision.expected_undiscovered < config.stop_undiscovered
            and quiet >= config.stop_patience
        ):
            decision.stop_reason = (
                f"expected undiscovered compositions below {config.tau} eV: "
                f"{decision.expected_undiscovered:.2f} < {config.stop_undiscovered}, "
                f"and none found in the last {quiet} evaluations"
            )
            decision.proposals = []
    return decision
