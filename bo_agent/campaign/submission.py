"""Put a reserved candidate on the LaunchPad: submit its workflow, or never leave it pending.

:class:`Submitter` is a mixin of :class:`~bo_agent.campaign.agent.CampaignAgent` (a concept apart
from deciding: what happens between a reservation and a workflow on the LaunchPad, and when
that fails).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bo_agent.campaign.state import CandidateRecord, Decision, Failure, Status, mark_failed, utcnow
from workflows.errors import CalculationError, CompositionError, StructureError

if TYPE_CHECKING:
    from fireworks import LaunchPad

    from bo_agent.campaign.sync import RoundReport
    from bo_agent.config import CampaignConfig

__all__ = ["Submitter"]


class Submitter:
    """Submission of reserved candidates (mixed into the campaign agent)."""

    lp: LaunchPad
    config: CampaignConfig
    space: Any
    queue: Any

    @property
    def name(self) -> str:  # pragma: no cover - provided by the agent
        raise NotImplementedError

    def _checkpoint(self) -> None:  # pragma: no cover - provided by the agent
        raise NotImplementedError

    def _submit(self, candidate_id: str, seq: int | None, report: RoundReport) -> None:
        from workflows.flows.submit import submit_evaluation

        sub = submit_evaluation(
            self.lp,
            self.space.get(candidate_id),
            self.config.engine,
            campaign=self.name,
            decision=seq,
            space=self.space,
            on_duplicate="return",
            resources=self.queue.resources if self.queue is not None else None,
            **self.config.engine_settings,
        )
        CandidateRecord.objects(campaign=self.name, candidate_id=candidate_id).update_one(
            set__fw_id=sub.fw_id, set__submitted=utcnow()
        )
        if seq is not None:
            Decision.objects(campaign=self.name, seq=seq).update_one(set__fw_id=sub.fw_id)
        report.submitted.append((candidate_id, sub.fw_id))

    def _submit_or_release(self, candidate_id: str, seq: int | None, report: RoundReport) -> None:
        """Submit a reserved candidate; never leave it pending without a workflow.

        An error of this composition (its structure, its calculation set-up) fails the
        candidate with the message and the campaign goes on; any other error (a missing file,
        the database) returns it to ``new`` and stops the run with that error.
        """
        try:
            self._submit(candidate_id, seq, report)
        except (StructureError, CompositionError, CalculationError) as exc:
            msg = f"submission failed: {' '.join(str(exc).split())}"[:2000]
            mark_failed(Failure.run, msg, campaign=self.name, candidate_id=candidate_id)
            report.failed.append((candidate_id, msg))
        except BaseException:
            CandidateRecord.objects(
                campaign=self.name, candidate_id=candidate_id, status=Status.pending.value,
                fw_id=None,
            ).update_one(set__status=Status.new.value, unset__decision_seq=True)  # fmt: skip
            if seq is not None:
                Decision.objects(campaign=self.name, seq=seq).update_one(
                    set__extra__submission="failed: candidate returned to new"
                )
            self._checkpoint()
            raise
