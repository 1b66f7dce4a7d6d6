"""Read-only summaries of a campaign: history, ranking, counts, pending and failed evaluations."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from bo_agent.campaign.state import Campaign, CandidateRecord, Decision, Status, finishing_order
from workflows.errors import ConfigError

__all__ = ["CampaignSummary", "HistoryRow", "campaign_names", "summarise"]


@dataclass(frozen=True)
class HistoryRow:
    """One finished evaluation in the order the agent asked for it."""

    iteration: int
    candidate_id: str
    e_b: float
    best: float
    strategy: str | None
    predicted_mean: float | None
    predicted_std: float | None
    wall_time: float | None


@dataclass
class CampaignSummary:
    """Everything ``tavbo status`` shows about one campaign."""

    name: str
    status: str
    stop_reason: str | None
    config: dict[str, Any]
    counts: dict[str, int]
    history: list[HistoryRow] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    lease_owner: str | None = None
    threshold: dict[str, Any] | None = None

    @property
    def ranked(self) -> list[HistoryRow]:
        """Finished evaluations, lowest E_b first."""
        return sorted(self.history, key=lambda r: (r.e_b, r.candidate_id))

    @property
    def mean_wall_time(self) -> float | None:
        """Mean seconds per finished evaluation (engine time), if recorded."""
        times = [r.wall_time for r in self.history if r.wall_time is not None]
        return sum(times) / len(times) if times else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        out = asdict(self)
        out["best"] = [asdict(r) for r in self.ranked[:10]]
        out["mean_wall_time"] = self.mean_wall_time
        return out


def campaign_names() -> list[str]:
    """Names of every campaign in the database."""
    return sorted(c.name for c in Campaign.objects.only("name"))


def summarise(name: str) -> CampaignSummary:
    """Summarise campaign ``name`` from the database.

    Raises
    ------
    ConfigError
        If no such campaign exists (naming the ones that do).
    """
    camp = Campaign.objects(name=name).first()
    if camp is None:
        raise ConfigError(f"no campaign {name!r}; campaigns here: {campaign_names() or 'none'}")
    records = list(CandidateRecord.objects(campaign=name))
    decisions = {d.seq: d for d in Decision.objects(campaign=name)}
    counts = {s.value: 0 for s in Status}
    for r in records:
        counts[r.status] += 1
    done = [r for r in records if r.status == Status.done.value and r.e_b is not None]
    done.sort(key=lambda r: (r.decision_seq if r.decision_seq is not None else 10**9, r.fw_id or 0))
    history, best = [], float("inf")
    for i, r in enumerate(done, start=1):
        best = min(best, r.e_b)
        d = decisions.get(r.decision_seq)
        history.append(
            HistoryRow(
                iteration=i,
                candidate_id=r.candidate_id,
                e_b=r.e_b,
                best=best,
                strategy=d.strategy if d else None,
                predicted_mean=d.predicted_mean if d else None,
                predicted_std=d.predicted_std if d else None,
                wall_time=r.wall_time,
            )
        )
    pending = [
        {"candidate_id": r.candidate_id, "fw_id": r.fw_id, "decision": r.decision_seq}
        for r in records
        if r.status == Status.pending.value
    ]
    failed = [
        {
            "candidate_id": r.candidate_id,
            "fw_id": r.fw_id,
            # untrusted: a finished result the engine could not trust; run: the run failed
            # (records from before the kind was stored count as run failures)
            "failure": r.failure or "run",
            "error": r.error,
        }
        for r in records
        if r.status == Status.failed.value
    ]
    config = json.loads(json.dumps(camp.to_mongo()["config"], default=str))
    return CampaignSummary(
        name=name,
        status=camp.status,
        stop_reason=camp.stop_reason,
        config=config,
        counts=counts,
        history=history,
        pending=pending,
        failed=failed,
        lease_owner=camp.lease_owner,
        threshold=_threshold_progress(config, done, decisions),
    )


def _threshold_progress(
    config: dict[str, Any], done: list[CandidateRecord], decisions: dict[int, Decision]
) -> dict[str, Any] | None:
    """Where a threshold campaign stands against its stopping rule (None for other goals)."""
    from bo_agent.decide.acquisition import evaluations_since_hit

    if config.get("goal") != "threshold":
        return None
    tau = float(config["tau"])
    values = {r.candidate_id: float(r.e_b) for r in finishing_order(done)}
    last = decisions[max(decisions)] if decisions else None
    return {
        "tau": tau,
        "found": sum(v < tau for v in values.values()),
        "expected_undiscovered": (last.extra or {}).get("expected_undiscovered") if last else None,
        "since_last_hit": evaluations_since_hit(values, tau),
        "stop_undiscovered": config.get("stop_undiscovered", _default("stop_undiscovered")),
        "stop_patience": config.get("stop_patience", _default("stop_patience")),
    }


def _default(name: str) -> Any:
    """A campaign field's default (campaigns stored before the field existed)."""
    from bo_agent.config import CampaignConfig

    return CampaignConfig.model_fields[name].default
