"""Campaign administration: list, delete and rename campaigns (``tavbo campaign ...``).

A campaign is its record, its candidate table, its decisions, its workflows on the LaunchPad
(``metadata.campaign``) and its results (``BarrierDocument.campaign``). Deleting or renaming
touches all of them and is refused while an agent holds the campaign's lease (by the database
server's clock); rename also while evaluations are in flight (their jobs write results under the
old name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bo_agent.campaign.state import Campaign, CandidateRecord, Decision, Status, server_now
from workflows.errors import ConfigError, LockError
from workflows.launchpad.lost_runs import LOST_RUNS_COLLECTION
from workflows.launchpad.tavbo_launchpad import BARRIERS_COLLECTION

if TYPE_CHECKING:
    from fireworks import LaunchPad

__all__ = ["CampaignInfo", "delete_campaign", "list_campaigns", "rename_campaign"]


@dataclass(frozen=True)
class CampaignInfo:
    """One line of ``tavbo campaign list``."""

    name: str
    status: str
    carrier: str
    engine: str
    budget: int
    counts: dict[str, int]
    lease_owner: str | None
    created: str

    def as_dict(self) -> dict[str, Any]:
        """Flat record for tables and JSON."""
        return {
            "name": self.name,
            "status": self.status,
            "carrier": self.carrier,
            "engine": self.engine,
            "budget": self.budget,
            **self.counts,
            "agent": self.lease_owner or "",
            "created": self.created,
        }


def list_campaigns() -> list[CampaignInfo]:
    """Every campaign with its candidate counts, oldest first."""
    out = []
    for camp in Campaign.objects.order_by("created"):
        counts = {s.value: 0 for s in Status}
        for rec in CandidateRecord.objects(campaign=camp.name).only("status"):
            counts[rec.status] += 1
        cfg = camp.config or {}
        out.append(
            CampaignInfo(
                name=camp.name,
                status=camp.status,
                carrier=str(cfg.get("carrier", "")),
                engine=str(cfg.get("engine", "")),
                budget=int(cfg.get("budget", 0)),
                counts=counts,
                lease_owner=camp.lease_owner,
                created=camp.created.isoformat(sep=" ") if camp.created else "",
            )
        )
    return out


def _existing(name: str) -> Campaign:
    camp = Campaign.objects(name=name).first()
    if camp is None:
        names = [c.name for c in Campaign.objects.only("name")]
        raise ConfigError(f"no campaign {name!r}; campaigns here: {', '.join(names) or 'none'}")
    return camp


def _refuse_if_running(camp: Campaign, action: str) -> None:
    if camp.lease_owner and camp.lease_expires and camp.lease_expires > server_now():
        raise LockError(
            f"cannot {action} campaign {camp.name!r}: agent {camp.lease_owner} runs it (lease "
            f"until {camp.lease_expires:%Y-%m-%d %H:%M:%S} UTC); stop that agent first"
        )


def delete_campaign(lp: LaunchPad, name: str) -> dict[str, int]:
    """Remove a campaign: its workflows (all their fireworks and launches), candidates,
    decisions, results and lost-run records; returns what was removed, by kind.

    Raises
    ------
    ConfigError
        No such campaign.
    LockError
        An agent runs it.
    """
    camp = _existing(name)
    _refuse_if_running(camp, "delete")
    fw_ids = [
        min(wf["nodes"]) for wf in lp.workflows.find({"metadata.campaign": name}, {"nodes": 1})
    ]
    nodes = [n for wf in lp.workflows.find({"metadata.campaign": name}, {"nodes": 1})
             for n in wf["nodes"]]  # fmt: skip
    for fw_id in fw_ids:
        lp.delete_wf(fw_id, delete_launch_dirs=False)
    removed = {
        "workflows": len(fw_ids),
        "candidates": CandidateRecord.objects(campaign=name).delete(),
        "decisions": Decision.objects(campaign=name).delete(),
        "results": lp.db[BARRIERS_COLLECTION].delete_many({"campaign": name}).deleted_count,
    }
    lp.db[LOST_RUNS_COLLECTION].delete_many({"fw_id": {"$in": nodes}})
    camp.delete()
    _checkpoint(lp)
    return removed


def rename_campaign(lp: LaunchPad, old: str, new: str) -> None:
    """Rename a campaign everywhere it is named (record, candidates, decisions, workflows'
    metadata, results).

    Raises
    ------
    ConfigError
        No campaign ``old``, or ``new`` is taken.
    LockError
        An agent runs it, or evaluations are in flight.
    """
    camp = _existing(old)
    if not new.strip():
        raise ConfigError("the new campaign name is empty")
    if Campaign.objects(name=new).first() is not None:
        raise ConfigError(f"campaign {new!r} exists already; delete it or choose another name")
    _refuse_if_running(camp, "rename")
    pending = CandidateRecord.objects(campaign=old, status=Status.pending.value).count()
    if pending:
        raise LockError(
            f"cannot rename campaign {old!r}: {pending} evaluation(s) in flight would record "
            "their results under the old name; rename it when none is pending"
        )
    lp.workflows.update_many({"metadata.campaign": old}, {"$set": {"metadata.campaign": new}})
    lp.db[BARRIERS_COLLECTION].update_many({"campaign": old}, {"$set": {"campaign": new}})
    CandidateRecord.objects(campaign=old).update(set__campaign=new)
    Decision.objects(campaign=old).update(set__campaign=new)
    camp.update(set__name=new, set__config__name=new)
    _checkpoint(lp)


def _checkpoint(lp: Any) -> None:
    checkpoint = getattr(lp, "checkpoint", None)
    if checkpoint is not None:
        checkpoint()
