"""Queue jobs that cannot run as asked: refused submissions and jobs held for good.

Two ways a request can be wrong for the cluster, neither of which clears by itself:

* the scheduler **refuses the submission** (``sbatch: error: invalid partition specified``): each
  refusal is counted per Firework (:func:`record_rejection`); after ``max_rejections`` the
  Firework is FIZZLED with the scheduler's message, so the evaluation fails instead of being
  retried every round with a new launch directory;
* the scheduler **accepts the job but holds it** for a reason that never clears
  (:func:`workflows.hpc.queue_status.never_clears`: ``PartitionConfig``, ...):
  :func:`watch_held` records the reason at once (``tavbo status`` shows it as a queue note) and,
  once the job has been held longer than ``timeout`` seconds, cancels it and FIZZLEs its
  Firework with the reason.

Notes live in the LaunchPad's database (collection ``tavbo_queue_faults``, one document per
Firework and kind), so they survive an agent restart and ``tavbo status`` can read them.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflows.hpc.queue_status import QueueJob, cancel_job, never_clears

if TYPE_CHECKING:
    from fireworks import LaunchPad

__all__ = [
    "COLLECTION",
    "HeldJobs",
    "clear_faults",
    "fizzle_firework",
    "queue_notes",
    "record_rejection",
    "watch_held",
]

logger = logging.getLogger(__name__)

COLLECTION = "tavbo_queue_faults"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _coll(lp: LaunchPad) -> Any:
    return lp.db[COLLECTION]


def _owner(lp: LaunchPad, fw_id: int) -> dict[str, Any]:
    wf = lp.workflows.find_one({"nodes": fw_id}, {"metadata": 1}) or {}
    meta = wf.get("metadata") or {}
    return {"campaign": meta.get("campaign"), "candidate_id": meta.get("candidate_id")}


def fizzle_firework(lp: LaunchPad, fw_id: int, message: str, launch_dir: str | Path) -> None:
    """Mark a READY or RESERVED Firework FIZZLED with ``message`` as its error.

    A RESERVED Firework's own launch is completed; a READY one is reserved first (a launch to
    hold the error, in ``launch_dir``). The agent then records the evaluation as failed with
    ``message`` (:func:`workflows.results.ingest.failure_message`).
    """
    from fireworks import FWAction, FWorker

    fw = lp.fireworks.find_one({"fw_id": fw_id}, {"state": 1, "launches": 1})
    if fw is None:
        return
    if fw["state"] == "READY":
        _, launch_id = lp.reserve_fw(FWorker(), str(launch_dir), fw_id=fw_id)
    elif fw["state"] == "RESERVED" and fw.get("launches"):
        launch_id = fw["launches"][-1]
    else:
        return
    action = FWAction(stored_data={"_exception": {"_stacktrace": message}})
    lp.complete_launch(launch_id, action, "FIZZLED")
    lp.offline_runs.update_many({"launch_id": launch_id}, {"$set": {"completed": True}})


def record_rejection(
    lp: LaunchPad,
    fw_id: int,
    message: str,
    *,
    max_rejections: int,
    launch_dir: str | Path,
) -> bool:
    """Count one refused submission of ``fw_id``; FIZZLE it at the ``max_rejections``-th.

    Returns
    -------
    bool
        True when the Firework was failed now.
    """
    coll = _coll(lp)
    key = {"fw_id": fw_id, "kind": "rejected", "resolved": {"$ne": True}}  # a rerun starts anew
    doc = coll.find_one(key) or {}
    count = int(doc.get("count", 0)) + 1
    if doc:
        coll.update_one({"_id": doc["_id"]}, {"$set": {"count": count, "message": message}})
    else:
        coll.insert_one(
            {"fw_id": fw_id, "kind": "rejected", "count": 1, "message": message, "since": _now()}
            | _owner(lp, fw_id)
        )
    if count < max_rejections:
        return False
    text = f"the scheduler refused the job {count} times: {message}"
    logger.error("fw_id %d: %s", fw_id, text)
    fizzle_firework(lp, fw_id, text, launch_dir)
    coll.update_many(key, {"$set": {"resolved": True}})
    return True


@dataclass
class HeldJobs:
    """What :func:`watch_held` found: held jobs by fw_id, and the fw_ids failed now."""

    held: dict[int, str] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)


def watch_held(
    lp: LaunchPad,
    reserved: dict[int, str],
    jobs: dict[str, QueueJob],
    *,
    timeout: float,
    q_type: str,
    launch_dir: str | Path,
) -> HeldJobs:
    """Note queue jobs held for a reason that never clears; fail them after ``timeout`` s.

    Parameters
    ----------
    lp : LaunchPad
    reserved : dict
        Queue job id of each RESERVED Firework to watch, by fw_id.
    jobs : dict
        The scheduler's view (:func:`workflows.hpc.queue_status.list_jobs`).
    timeout : float
        Seconds a job may stay held before its Firework is FIZZLED (the job cancelled).
    q_type : str
        ``SLURM`` or ``PBS`` (how to cancel).
    launch_dir : str or Path
        Where a launch created to hold the error points.
    """
    coll = _coll(lp)
    out = HeldJobs()
    now = _now()
    for fw_id, job_id in reserved.items():
        job = jobs.get(str(job_id))
        reason = never_clears(job) if job is not None else None
        key = {"fw_id": fw_id, "kind": "held"}
        if reason is None:
            coll.delete_many({**key, "resolved": {"$ne": True}})
            continue
        doc = coll.find_one({**key, "job_id": str(job_id)})
        if doc is None:
            coll.delete_many(key)
            doc = {**key, "job_id": str(job_id), "since": now, **_owner(lp, fw_id)}
            coll.insert_one(dict(doc))
        held_for = (now - doc["since"]).total_seconds()
        coll.update_one({**key, "job_id": str(job_id)}, {"$set": {"reason": reason, "time": now}})
        out.held[fw_id] = reason
        if held_for > timeout:
            message = (
                f"queue job {job_id} held by the scheduler ({reason}) for {held_for:.0f} s, "
                f"longer than the {timeout:g} s allowed: no node can run the request; fix "
                "resources.yaml (`tavbo reapply` fixes Fireworks not yet run)"
            )
            logger.error("fw_id %d: %s", fw_id, message)
            cancel_job(q_type, str(job_id))
            fizzle_firework(lp, fw_id, message, launch_dir)
            coll.update_one(
                {**key, "job_id": str(job_id)}, {"$set": {"resolved": True, "message": message}}
            )
            out.failed.append(fw_id)
    return out


def clear_faults(lp: LaunchPad, fw_ids: list[int]) -> None:
    """Forget the notes of ``fw_ids`` (their request was just changed)."""
    _coll(lp).delete_many({"fw_id": {"$in": list(fw_ids)}, "resolved": {"$ne": True}})


def queue_notes(lp: LaunchPad, campaign: str) -> dict[str, str]:
    """One line per candidate of ``campaign`` whose queue job is held or was refused."""
    notes: dict[str, str] = {}
    for doc in _coll(lp).find({"campaign": campaign, "resolved": {"$ne": True}}):
        since = doc.get("since")
        stamp = since.strftime("%H:%M:%S UTC") if isinstance(since, datetime.datetime) else "?"
        if doc["kind"] == "held":
            text = f"job {doc.get('job_id')} held: {doc.get('reason')} (since {stamp})"
        else:
            text = f"submission refused {doc.get('count')}x: {doc.get('message')}"
        cid = str(doc.get("candidate_id"))
        notes[cid] = f"{notes[cid]}; {text}" if cid in notes else text
    return notes
