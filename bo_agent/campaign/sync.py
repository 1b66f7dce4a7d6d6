"""Sync a campaign with its LaunchPad: finished, failed and lost evaluations -> candidate table.

The first step of every agent round (:meth:`~bo_agent.campaign.agent.CampaignAgent.step`): read
the state of each pending candidate's workflow, record E_b or the error, fail
evaluations whose worker process died more than ``max_reruns`` times (a crash loop). Each failure
says its kind (:class:`~bo_agent.campaign.state.Failure`): a finished result the engine could not
trust is ``untrusted``, everything else (fizzled, defused, crash loop) is a ``run`` failure.
:class:`LaunchpadSync` is a mixin of :class:`~bo_agent.campaign.agent.CampaignAgent`; it is its
own module because reading the LaunchPad is a concept apart from deciding and submitting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bo_agent.campaign.state import (
    CandidateRecord,
    Decision,
    Failure,
    Status,
    mark_failed,
    utcnow,
)
from workflows.physics.schemas import trust_issues

if TYPE_CHECKING:
    from fireworks import LaunchPad

    from bo_agent.config import CampaignConfig

__all__ = ["LaunchpadSync", "RoundReport"]

logger = logging.getLogger(__name__)


@dataclass
class RoundReport:
    """What one round did (for the progress display and the logs)."""

    finished: list[tuple[str, float]] = field(default_factory=list)  # (id, E_b)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, error)
    submitted: list[tuple[str, int | None]] = field(default_factory=list)  # (id, fw_id)
    rerun: list[str] = field(default_factory=list)
    stop_reason: str | None = None
    queued: list[tuple[int, str]] = field(default_factory=list)  # (fw_id, queue job id)
    queue_error: str | None = None


class LaunchpadSync:
    """Candidate-table updates from the LaunchPad (mixed into the campaign agent)."""

    lp: LaunchPad
    config: CampaignConfig

    @property
    def name(self) -> str:  # pragma: no cover - provided by the agent
        raise NotImplementedError

    def records(self, status: Status | None = None) -> list[CandidateRecord]:  # pragma: no cover
        raise NotImplementedError

    def _submit_or_release(
        self, candidate_id: str, seq: int | None, report: RoundReport
    ) -> None:  # pragma: no cover
        raise NotImplementedError

    def _workflow_state(self, rec: CandidateRecord) -> tuple[str | None, list[int]]:
        from workflows.flows.submit import find_submissions

        subs = [
            s
            for s in find_submissions(self.lp, rec.candidate_id, self.config.engine, self.name)
            if s.fw_id is not None
        ]
        if not subs:
            return None, []
        sub = subs[-1]
        wf = self.lp.workflows.find_one({"nodes": sub.fw_id}, {"nodes": 1, "state": 1})
        if rec.fw_id != sub.fw_id:
            CandidateRecord.objects(id=rec.id).update_one(set__fw_id=sub.fw_id)
            Decision.objects(campaign=self.name, seq=rec.decision_seq).update_one(
                set__fw_id=sub.fw_id
            )
        return str(wf["state"]), list(wf["nodes"])

    def sync(self, report: RoundReport | None = None) -> RoundReport:
        """Bring the candidate table up to date with the LaunchPad and the results."""
        from workflows.flows.evaluation import stored_barrier
        from workflows.results.ingest import failure_message, ingest_completed

        report = report or RoundReport()
        pending = self.records(Status.pending)
        if not pending:
            return report
        ingest_completed(self.lp, campaign=self.name, engine=self.config.engine)
        for rec in pending:
            state, nodes = self._workflow_state(rec)
            if state is None:  # reserved, but the agent died before the workflow was added
                self._submit_or_release(rec.candidate_id, rec.decision_seq, report)
            elif state not in ("COMPLETED", "FIZZLED", "DEFUSED") and self._crash_loop(
                rec, nodes, report
            ):
                continue
            elif state == "COMPLETED":
                doc = stored_barrier(self.lp, rec.candidate_id, self.config.engine, self.name)
                if doc is None:
                    continue  # unreadable for now; try again next round
                self._audit_committee(rec, doc)
                if msg := self._rejected(doc):
                    # a verdict on the composition, not on the run
                    mark_failed(Failure.untrusted, msg, id=rec.id)
                    report.failed.append((rec.candidate_id, msg))
                    continue
                CandidateRecord.objects(id=rec.id, status=Status.pending.value).update_one(
                    set__status=Status.done.value,
                    set__e_b=float(doc.e_b),
                    set__finished=utcnow(),
                    set__wall_time=getattr(getattr(doc, "provenance", None), "wall_time", None),
                )
                report.finished.append((rec.candidate_id, float(doc.e_b)))
            elif state in ("FIZZLED", "DEFUSED"):
                msg = failure_message(self.lp, nodes) if state == "FIZZLED" else "workflow defused"
                mark_failed(Failure.run, msg, id=rec.id)
                report.failed.append((rec.candidate_id, msg))
        return report

    def _audit_committee(self, rec: Any, doc: Any) -> None:
        """Copy a committee's verdict (both E_b, the flag) into the decision's audit record."""
        committee = dict(doc.extra or {}).get("committee")
        if committee and rec.decision_seq is not None:
            Decision.objects(campaign=self.name, seq=rec.decision_seq).update_one(
                set__extra__committee=committee
            )

    def _rejected(self, doc: Any) -> str | None:
        """Why a finished result must not enter the GP, or None.

        An unconverged NEB (unless ``unconverged: use``), a path that still dips below its
        endpoint or a reconstructed framework (unless ``untrusted: use``).
        """
        issues = trust_issues(doc.hops, dict(doc.extra or {}))
        if self.config.unconverged == "use":
            issues.pop("unconverged", None)
        if self.config.untrusted == "use":
            issues.pop("dipped", None)
            issues.pop("framework", None)
        if not issues:
            return None
        options = {"unconverged": "unconverged: use"}
        hint = " or ".join(sorted({options.get(k, "untrusted: use") for k in issues}))
        return (
            f"{'; '.join(issues.values())}: E_b {doc.e_b:.3f} eV kept in the barrier store but "
            f"not used (campaign option {hint} would)"
        )

    def handle_lost_runs(self, expiration_secs: float, report: RoundReport) -> None:
        """Re-queue evaluations whose rocket stopped pinging for ``expiration_secs``; each is
        recorded as a lost run, and :meth:`sync` fails a candidate once its runs died more than
        ``max_reruns`` times."""
        self.lp.recover_lost_runs(expiration_secs, include_offline=True)  # pings copied first

    def _crash_loop(self, rec: CandidateRecord, nodes: list[int], report: RoundReport) -> bool:
        """Count the launches of a pending candidate's workflow whose process died; fail it
        (workflow defused) once more died than the campaign allows. Returns whether it failed."""
        deaths = self.lp.lost_run_count(nodes)
        if deaths == (rec.attempts or 0):
            return False
        allowed = self.config.max_reruns if self.config.lostrun_action == "rerun" else 0
        if deaths <= allowed:
            CandidateRecord.objects(id=rec.id).update_one(set__attempts=deaths)
            report.rerun.append(rec.candidate_id)
            return False
        msg = (
            f"worker process died {deaths} time{'s' if deaths > 1 else ''} running fireworks "
            f"{sorted(nodes)} (killed, out of memory or walltime); max_reruns is "
            f"{self.config.max_reruns}"
        )
        self.lp.defuse_wf(nodes[0])
        mark_failed(Failure.run, msg, id=rec.id, set__attempts=deaths)
        report.failed.append((rec.candidate_id, msg))
        return True
