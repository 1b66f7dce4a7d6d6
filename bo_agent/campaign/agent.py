"""The campaign agent: sync results from the LaunchPad, decide, reserve, submit; repeat.

One round (:meth:`CampaignAgent.step`):

1. renew the lease (only one agent runs a campaign at a time);
2. sync: for every pending candidate read its workflow's state; COMPLETED -> ``done`` with E_b
   (ingesting the result document if the worker could not write it; a result whose NEB did not
   converge is ``failed`` unless the campaign says ``unconverged: use``), FIZZLED/DEFUSED ->
   ``failed`` with the error, lost runs -> rerun or fail; a reserved candidate whose workflow
   never reached the LaunchPad (the agent died in between) is submitted now;
3. stop if the budget, the pool or the goal says so;
4. decide (:func:`bo_agent.decide.strategy.decide`, one fit per round, pending-aware), then for each
   pick: take a decision number, reserve the candidate (an atomic ``new -> pending``), write
   the :class:`~bo_agent.campaign.state.Decision`, submit the workflow, record its fw_id.

Every step is a single-document atomic update whose effect the next sync can see, so the agent
can be killed at any point: a composition is never submitted twice (reservation + the
workflow's metadata) and a finished result is never lost or counted twice (results are keyed by
candidate).

Queue mode (optional ``queue``, a :class:`bo_agent.campaign.queue.QueueDriver`): the round starts by
recovering offline queue jobs (their results and pings, before lost runs are judged) and ends
by submitting READY Fireworks of the campaign as queue jobs. Nothing else changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bo_agent.campaign.lease import LEASE_SECONDS, LeaseHeartbeat, acquire_lease, release_lease
from bo_agent.campaign.setup import check_engine_setup
from bo_agent.campaign.state import (
    Campaign,
    CandidateRecord,
    Decision,
    Failure,
    Status,
    agent_identity,
    effective_config,
    finishing_order,
    open_campaign,
    utcnow,
)
from bo_agent.campaign.submission import Submitter
from bo_agent.campaign.sync import LaunchpadSync, RoundReport
from bo_agent.config import CampaignConfig
from bo_agent.decide.strategy import Pool, build_pool, decide
from workflows.errors import ConfigError
from workflows.results.reference_data import read_barrier_values
from workflows.space.compositions import CompositionSpace, load_space

if TYPE_CHECKING:
    from fireworks import LaunchPad

    from bo_agent.campaign.queue import QueueDriver

__all__ = ["CampaignAgent", "load_observations"]

logger = logging.getLogger(__name__)


def load_observations(campaign: str) -> dict[str, float]:
    """E_b (eV) of every finished candidate of a campaign, by candidate ID."""
    return {
        r.candidate_id: r.e_b
        for r in CandidateRecord.objects(campaign=campaign, status=Status.done.value)
        if r.e_b is not None
    }


class CampaignAgent(Submitter, LaunchpadSync):
    """Runs one campaign against a LaunchPad (real MongoDB or the embedded owner).

    Parameters
    ----------
    config : CampaignConfig
        Used to create the campaign; when it exists already its stored configuration wins
        (a different budget or max_pending given now is applied, anything else must match).
    launchpad : LaunchPad
        An open :class:`~workflows.launchpad.opening.TavboLaunchPad`.
    identity : str, optional
        Lease holder name (default ``host:pid``).
    queue : QueueDriver, optional
        Queue mode: recover offline queue jobs and keep the campaign's Fireworks queued
        (:mod:`bo_agent.campaign.queue`); None (default): workers run them (``tavbo run``,
        ``rlaunch``).
    """

    def __init__(
        self,
        config: CampaignConfig,
        launchpad: LaunchPad,
        identity: str | None = None,
        *,
        read_only: bool = False,
        queue: QueueDriver | None = None,
    ) -> None:
        self.lp = launchpad
        self.identity = identity or agent_identity()
        self.lease_seconds = LEASE_SECONDS
        self.read_only = read_only
        if read_only:
            self.campaign = open_campaign(config, read_only=True)
            self.config = CampaignConfig(**self.campaign.config)
        else:  # everything is checked before the campaign record is written
            self.config = effective_config(config)
        self.space: CompositionSpace = load_space(self.config.space)
        self.pool: Pool = self._build_pool()
        self._source_data: dict[str, float] | None = None
        if not read_only:
            check_engine_setup(self.config, self.space)
            self.source_observations()  # a missing source file fails now, not in round 6
            self.campaign = open_campaign(config)
            self._ensure_candidate_table()
        self.queue = queue.for_campaign(self.name) if queue is not None else None

    @classmethod
    def view(cls, name: str, launchpad: LaunchPad) -> CampaignAgent:
        """A read-only agent of an existing campaign (for status and next proposals)."""
        camp = Campaign.objects(name=name).first()
        if camp is None:
            raise ConfigError(f"no campaign {name!r}")
        return cls(CampaignConfig(**camp.config), launchpad, "view", read_only=True)

    # ------------------------------------------------------------------ setup
    def _build_pool(self) -> Pool:
        carriers = sorted({c.carrier for c in self.space.candidates})
        if self.config.carrier not in carriers:
            raise ConfigError(
                f"carrier {self.config.carrier!r} is not in space {self.space.name!r} "
                f"(carriers: {', '.join(carriers)})"
            )
        return build_pool(
            self.space,
            self.config.carrier,
            self.config.groups,
            source_carrier=self._source_carrier(),
        )

    def _source_carrier(self) -> str | None:
        if self.config.transfer == "none":
            return None
        if self.config.source_carrier:
            return self.config.source_carrier
        if self.config.source_data:
            return self.config.carrier  # the fidelity ladder: same compositions, cheaper engine
        src = Campaign.objects(name=self.config.source_campaign).first()
        if src is None:
            raise ConfigError(f"source campaign {self.config.source_campaign!r} does not exist")
        return str(src.config["carrier"])

    def _ensure_candidate_table(self) -> None:
        known = {
            r.candidate_id for r in CandidateRecord.objects(campaign=self.name).only("candidate_id")
        }
        missing = [cid for cid in self.pool.ids if cid not in known]
        if missing:
            CandidateRecord.objects.insert(
                [
                    CandidateRecord(
                        campaign=self.name, candidate_id=cid, carrier=self.config.carrier
                    )
                    for cid in missing
                ]
            )

    @property
    def name(self) -> str:
        """Campaign name."""
        return str(self.config.name)

    # ------------------------------------------------------------------ lease
    def acquire_lease(self, seconds: float | None = None) -> None:
        """Take or renew the campaign lease (:func:`bo_agent.campaign.lease.acquire_lease`);
        the owner of the embedded store's lock takes it whoever held it."""
        acquire_lease(
            self.name,
            self.identity,
            self.lease_seconds if seconds is None else seconds,
            sole_owner=bool(getattr(self.lp, "owns_store", False)),
        )

    def release_lease(self) -> None:
        """Give the lease up (at a clean exit)."""
        release_lease(self.name, self.identity)

    # ------------------------------------------------------------------ state
    def records(self, status: Status | None = None) -> list[CandidateRecord]:
        """Candidate rows, optionally of one status."""
        query = {"campaign": self.name}
        if status is not None:
            query["status"] = status.value
        return list(CandidateRecord.objects(**query))

    def counts(self) -> dict[str, int]:
        """Number of candidates per status. Read as raw documents: building a mongoengine
        object per candidate made this most of a round's time over a 1,000-composition pool."""
        out = {s.value: 0 for s in Status}
        for doc in CandidateRecord.objects(campaign=self.name).only("status").as_pymongo():
            out[doc["status"]] += 1
        return out

    def used_budget(self, counts: dict[str, int] | None = None) -> int:
        """Evaluations that cost (or are costing) compute: done + pending + failed (from
        ``counts`` when the caller has them)."""
        c = counts or self.counts()
        return c["done"] + c["pending"] + c["failed"]

    # ------------------------------------------------------------------ decide and submit
    def _next_seq(self) -> int:
        camp = Campaign.objects(name=self.name).modify(inc__n_decisions=1, new=False)
        return int(camp.n_decisions)

    def stop_reason(self) -> str | None:
        """Why the campaign must not submit more (budget or pool), or None."""
        counts = self.counts()
        if self.used_budget(counts) >= self.config.budget:
            return f"budget of {self.config.budget} evaluations used"
        if counts["new"] == 0:
            return "every composition is evaluated, pending or failed"
        return None

    def source_observations(self) -> dict[str, float] | None:
        """E_b of the transfer source (None without transfer), by source-carrier ID.

        From the source campaign's finished candidates (re-read every round: that campaign may
        still be running), or the source-carrier results of ``source_data`` (read once).
        """
        cfg = self.config
        if cfg.transfer == "none":
            return None
        if cfg.source_campaign:
            return load_observations(cfg.source_campaign)
        if self._source_data is None:
            values = read_barrier_values(
                str(cfg.source_data),
                "source_data",
                unconverged=cfg.unconverged == "use",
                untrusted=cfg.untrusted == "use",
            ).values
            carrier = self._source_carrier()
            ids = (c.id for c in self.space.filter(A=carrier))
            self._source_data = {cid: values[cid] for cid in ids if cid in values}
        return self._source_data

    def plan(self, n: int) -> Any:
        """The decision the agent would take now for ``n`` slots (no side effects)."""
        recs = list(CandidateRecord.objects(campaign=self.name, status__ne=Status.new.value))
        obs = {r.candidate_id: r.e_b for r in recs if r.status == Status.done.value}
        # finishing order, for the threshold goal's stop_patience
        done = [r for r in recs if r.candidate_id in obs]
        history = [r.candidate_id for r in finishing_order(done)]
        pending = [r.candidate_id for r in recs if r.status == Status.pending.value]
        failed = [r.candidate_id for r in recs if r.status == Status.failed.value]
        # only a result the engine could not trust is a verdict on the composition; a run
        # failure, and a failure recorded before kinds were (no field), never enters the GP
        untrusted = [
            r.candidate_id
            for r in recs
            if r.status == Status.failed.value and r.failure == Failure.untrusted.value
        ]
        source = self.source_observations()
        self.campaign.reload()
        return decide(
            self.pool,
            self.config,
            obs,
            pending=pending,
            failed=failed,
            untrusted=untrusted,
            n=n,
            seq=int(self.campaign.n_decisions),
            source_observations=source,
            history=history,
        )

    def propose_and_submit(self, report: RoundReport) -> None:
        """Fill free slots (``max_pending`` minus pending, within budget) with new workflows."""
        counts = self.counts()
        slots = min(
            self.config.max_pending - counts["pending"],
            self.config.budget - self.used_budget(counts),
        )
        if slots <= 0:
            return
        decision = self.plan(slots)
        if decision.stop_reason:
            report.stop_reason = decision.stop_reason
            return
        n_obs = counts["done"]
        for candidate_id, prop in decision.proposals:
            seq = self._next_seq()
            reserved = CandidateRecord.objects(
                campaign=self.name, candidate_id=candidate_id, status=Status.new.value
            ).update_one(set__status=Status.pending.value, set__decision_seq=seq)
            if not reserved:
                continue
            Decision(
                campaign=self.name,
                seq=seq,
                candidate_id=candidate_id,
                strategy=decision.strategy_of(prop),
                acquisition=prop.acquisition,
                acquisition_value=_finite(prop.value),
                rank=prop.rank,
                predicted_mean=_finite(prop.mean),
                predicted_std=_finite(prop.std),
                n_observed=n_obs,
                n_pending=counts["pending"] + prop.rank,
                model=decision.model,
                extra={"expected_undiscovered": decision.expected_undiscovered},
            ).save()
            self._submit_or_release(candidate_id, seq, report)

    # ------------------------------------------------------------------ rounds
    def step(self, lostrun_expiration: float | None = None) -> RoundReport:
        """One round: lease, (queue: recover), lost runs, sync, stop check, propose and
        submit, (queue: fill)."""
        self.acquire_lease()
        report = RoundReport()
        if self.queue is not None:  # first: the jobs' pings decide which runs are lost
            self.queue.recover(self.lp)
        if lostrun_expiration is not None:
            self.handle_lost_runs(lostrun_expiration, report)
        self.sync(report)
        reason = self.stop_reason()
        if reason is None:
            self.propose_and_submit(report)
            reason = report.stop_reason
        if self.queue is not None:  # also after the stop: pending workflows need their jobs
            filled = self.queue.fill(self.lp)
            report.queued = [(q.fw_id, q.reservation_id) for q in filled.launched]
            report.queue_error = filled.error
        if reason is not None and not self.records(Status.pending):
            self.campaign.update(
                set__status="completed", set__stop_reason=reason, set__updated=utcnow()
            )
            report.stop_reason = reason
        else:
            self.campaign.update(set__updated=utcnow())
        self.campaign.reload()
        self._checkpoint()
        return report

    def _checkpoint(self) -> None:
        """Persist the embedded store (a no-op on MongoDB, where every write is durable)."""
        checkpoint = getattr(self.lp, "checkpoint", None)
        if checkpoint is not None:
            checkpoint()

    @property
    def completed(self) -> bool:
        """Whether the campaign has ended (budget, pool or goal) with nothing pending."""
        self.campaign.reload()
        return self.campaign.status == "completed"

    def run(
        self,
        *,
        execute: Callable[[int], Any] | None = None,
        sleep: Callable[[float], None] | None = None,
        on_round: Callable[[RoundReport], None] | None = None,
        max_rounds: int | None = None,
        lostrun_expiration: float | None = 4 * 3600.0,
    ) -> None:
        """Run rounds until the campaign completes.

        Parameters
        ----------
        execute : callable, optional
            Called with the fw_id of each pending workflow after a round (``tavbo run`` runs it
            in-process); without it the agent only polls (workers run the jobs).
        sleep : callable, optional
            Waits ``poll_interval`` between rounds when nothing was executed.
        on_round : callable, optional
            Receives every :class:`RoundReport` (progress display).
        max_rounds : int, optional
            Stop after this many rounds (tests).
        lostrun_expiration : float or None
            Seconds without a ping after which a RUNNING firework counts as lost.
        """
        import time

        sleep = sleep or time.sleep
        rounds = 0
        try:
            while not self.completed and (max_rounds is None or rounds < max_rounds):
                report = self.step(lostrun_expiration)
                rounds += 1
                if on_round is not None:
                    on_round(report)
                if self.completed:
                    break
                if execute is not None:
                    heartbeat = LeaseHeartbeat(self.acquire_lease, self.lease_seconds)
                    with heartbeat.running():  # an evaluation may outlast the lease
                        for rec in sorted(self.records(Status.pending), key=lambda r: r.fw_id or 0):
                            if rec.fw_id is not None:
                                execute(rec.fw_id)
                elif max_rounds is None or rounds < max_rounds:  # no wait after the last round
                    sleep(self.config.poll_interval)
        finally:
            self.release_lease()


def _finite(x: float) -> float | None:
    return None if x != x else float(x)  # NaN -> None
