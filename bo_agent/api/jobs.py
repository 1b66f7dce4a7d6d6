"""Pending and failed evaluations as jobs: Firework, queue job, state, time in state, reason.

A campaign's pending or failed candidate points at its workflow (``fw_id``). The Firework shown
is the workflow's first one that is not COMPLETED (the step holding the evaluation up), with its
state and how long it has been in it (from FireWorks' ``updated_on``); the queue job id is the
``reservation_id`` of its last launch (offline queue jobs, ``qlaunch -r``). On Slurm, ``squeue``
gives the job's state and the scheduler's reason for waiting (``%r``, e.g. ``Priority``,
``Resources``); elsewhere the reason is empty. Read-only: only ``find`` on the LaunchPad.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from bo_agent.campaign.state import CandidateRecord, Status

if TYPE_CHECKING:
    from fireworks import LaunchPad

__all__ = ["JobRow", "job_rows", "squeue_reasons"]

logger = logging.getLogger(__name__)

#: Firework states in the order a stuck workflow is explained by them.
_BLOCKING = ("FIZZLED", "RUNNING", "RESERVED", "READY", "PAUSED", "WAITING", "DEFUSED")


@dataclass(frozen=True)
class JobRow:
    """One pending or failed evaluation and where its workflow stands."""

    campaign: str
    candidate_id: str
    status: str  # the candidate's: pending or failed
    fw_id: int | None  # the evaluation's workflow, as ``tavbo status`` names it
    firework: int | None  # the Firework of that workflow holding the evaluation up
    fw_name: str | None
    state: str | None  # that Firework's FireWorks state
    seconds_in_state: float | None
    queue_job_id: str | None
    queue_state: str | None  # squeue's state (Slurm), if the job is still in the queue
    queue_reason: str | None  # squeue's reason for waiting (Slurm)
    error: str | None
    decision: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return asdict(self)


def job_rows(lp: LaunchPad, campaign: str | None = None) -> list[JobRow]:
    """Every pending and failed candidate (of ``campaign``, or all), pending first."""
    query: dict[str, Any] = {"status__in": [Status.pending.value, Status.failed.value]}
    if campaign is not None:
        query["campaign"] = campaign
    records = sorted(
        CandidateRecord.objects(**query),
        key=lambda r: (r.status != Status.pending.value, r.campaign, r.fw_id or 0),
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    partial = [_firework_of(lp, r, now) for r in records]
    reasons = squeue_reasons([p["queue_job_id"] for p in partial if p["queue_job_id"]])
    rows = []
    for rec, p in zip(records, partial, strict=True):
        queue_state, reason = reasons.get(p["queue_job_id"] or "", (None, None))
        rows.append(
            JobRow(
                campaign=rec.campaign,
                candidate_id=rec.candidate_id,
                status=rec.status,
                fw_id=rec.fw_id,
                firework=p["fw_id"],
                fw_name=p["fw_name"],
                state=p["state"],
                seconds_in_state=p["seconds"],
                queue_job_id=p["queue_job_id"],
                queue_state=queue_state,
                queue_reason=reason,
                error=rec.error or p["error"],
                decision=rec.decision_seq,
            )
        )
    return rows


def _firework_of(lp: LaunchPad, rec: CandidateRecord, now: dt.datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"fw_id": rec.fw_id, "fw_name": None, "state": None, "seconds": None}
    out |= {"queue_job_id": None, "error": None}
    if rec.fw_id is None:
        return out
    wf = lp.workflows.find_one({"nodes": rec.fw_id}, {"nodes": 1})
    ids = list(wf["nodes"]) if wf else [rec.fw_id]
    fws = list(
        lp.fireworks.find(
            {"fw_id": {"$in": ids}},
            {"fw_id": 1, "name": 1, "state": 1, "updated_on": 1, "launches": 1},
        )
    )
    if not fws:
        return out
    fws.sort(
        key=lambda f: (
            _BLOCKING.index(f["state"]) if f["state"] in _BLOCKING else len(_BLOCKING),
            f["fw_id"],
        )
    )
    fw = fws[0]
    updated = fw.get("updated_on")
    if isinstance(updated, str):
        updated = dt.datetime.fromisoformat(updated)
    out |= {"fw_id": fw["fw_id"], "fw_name": fw.get("name"), "state": fw["state"]}
    if isinstance(updated, dt.datetime):
        out["seconds"] = max((now - updated.replace(tzinfo=None)).total_seconds(), 0.0)
    launches = fw.get("launches") or []
    if launches:
        launch = lp.launches.find_one(
            {"launch_id": launches[-1]}, {"state_history": 1, "action": 1}
        )
        history = (launch or {}).get("state_history") or []
        job = next((h["reservation_id"] for h in history if "reservation_id" in h), None)
        out["queue_job_id"] = None if job is None else str(job)
        if fw["state"] == "FIZZLED":
            stored = ((launch or {}).get("action") or {}).get("stored_data") or {}
            trace = (stored.get("_exception") or {}).get("_stacktrace")
            out["error"] = str(trace).strip().splitlines()[-1] if trace else None
    return out


def squeue_reasons(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """``{job id: (state, reason)}`` from Slurm's ``squeue`` for jobs still in the queue.

    Empty when Slurm is not here, the list is empty or ``squeue`` fails (logged).
    """
    if not job_ids or shutil.which("squeue") is None:
        return {}
    try:
        out = subprocess.run(
            ["squeue", "-h", "-o", "%i|%T|%r", "-j", ",".join(sorted(set(job_ids)))],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("squeue failed (%s); queue reasons not shown", exc)
        return {}
    reasons = {}
    for line in out.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3:
            reasons[parts[0]] = (parts[1], parts[2])
    return reasons
