"""Re-apply ``resources.yaml`` to a campaign's Fireworks that have not started yet.

The queue request of every job is frozen into its Firework at submission (``spec._queueadapter``,
:mod:`workflows.hpc.job_requests`), so correcting ``resources.yaml`` alone changes nothing for
workflows already in the LaunchPad. :func:`reapply_resources` rewrites the request of each
Firework of the campaign that is WAITING, READY or RESERVED in a queue job that has not started:
its ``_queueadapter``, and the per-category requests its job hands on to jobs it creates at run
time (jobflow's ``config_updates``). Queued jobs are cancelled (``scancel``/``qdel``) and their
Fireworks made READY again, to be submitted with the new request (``tavbo reapply`` does it at
once when it has a queue adapter; the agent's next round otherwise). Running and finished
Fireworks are left alone.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflows.hpc.offline_store import OFFLINE_FILE
from workflows.hpc.queue_faults import clear_faults
from workflows.hpc.queue_status import cancel_job

if TYPE_CHECKING:
    from fireworks import LaunchPad

    from workflows.hpc.resources import Category, QueueResources

__all__ = ["ReapplyReport", "reapply_resources"]

logger = logging.getLogger(__name__)

_NOT_STARTED = ("WAITING", "READY", "RESERVED")
_CATEGORY = "manager_config->_category"
_REQUEST = "manager_config->_queueadapter"


@dataclass
class ReapplyReport:
    """What :func:`reapply_resources` changed, by fw_id.

    Attributes
    ----------
    updated : list of int
        Fireworks whose request was rewritten.
    cancelled : dict
        Queue job cancelled, by fw_id (those Fireworks are READY again, to be resubmitted).
    running : list of int
        Reserved Fireworks whose job had already started (left alone).
    """

    updated: list[int] = field(default_factory=list)
    cancelled: dict[int, str] = field(default_factory=dict)
    running: list[int] = field(default_factory=list)


def _n_images(job: dict[str, Any], resources: QueueResources) -> int:
    bound = (job.get("function") or {}).get("@bound") or {}
    for key in ("n_images", "num_images", "nimages"):
        value = bound.get(key) if isinstance(bound, dict) else None
        if isinstance(value, int) and value >= 1:
            return value
    meta = job.get("metadata") or {}
    value = meta.get("n_images")
    return value if isinstance(value, int) and value >= 1 else resources.n_images


def _rewrite_spec(spec: dict[str, Any], resources: QueueResources, name: str) -> dict[str, Any]:
    category: Category = spec.get("_category") or resources.category_of_name(name)
    tasks = spec.get("_tasks") or []
    job = next((t["job"] for t in tasks if isinstance(t.get("job"), dict)), None)
    n_images = _n_images(job, resources) if job is not None else resources.n_images
    request = resources.queueadapter(category, n_images if category == "neb" else None)
    updates: dict[str, Any] = {"spec._category": category, "spec._queueadapter": request}
    if job is not None:
        index = tasks.index(next(t for t in tasks if t.get("job") is job))
        manager = (job.get("config") or {}).get("manager_config") or {}
        if "_queueadapter" in manager:
            updates[f"spec._tasks.{index}.job.config.manager_config._queueadapter"] = request
        for i, upd in enumerate(job.get("config_updates") or []):
            mods = (upd.get("config") or {}).get("_set") or {}
            cat = mods.get(_CATEGORY)
            if cat is None or _REQUEST not in mods:
                continue
            new = resources.queueadapter(cat, n_images if cat == "neb" else None)
            job["config_updates"][i]["config"]["_set"][_REQUEST] = new  # key holds "->"
        if job.get("config_updates"):
            updates[f"spec._tasks.{index}.job.config_updates"] = job["config_updates"]
    return updates


def _started(launch: dict[str, Any]) -> bool:
    try:
        data = json.loads((Path(launch["launch_dir"]) / OFFLINE_FILE).read_text())
    except (OSError, ValueError, KeyError):
        return False
    return "started_on" in data


def reapply_resources(
    lp: LaunchPad, campaign: str, resources: QueueResources, *, q_type: str = "SLURM"
) -> ReapplyReport:
    """Give the campaign's not-yet-running Fireworks the requests of ``resources``.

    Parameters
    ----------
    lp : LaunchPad
        The campaign's LaunchPad (no agent may hold an embedded one meanwhile).
    campaign : str
        Workflows with ``metadata.campaign == campaign``.
    resources : QueueResources
        The corrected ``resources.yaml``.
    q_type : str, default="SLURM"
        ``SLURM`` or ``PBS``: how queued jobs are cancelled.

    Returns
    -------
    ReapplyReport
    """
    report = ReapplyReport()
    ids = sorted(
        {
            n
            for wf in lp.workflows.find({"metadata.campaign": campaign}, {"nodes": 1})
            for n in wf["nodes"]
        }
    )
    for doc in lp.fireworks.find(
        {"fw_id": {"$in": ids}, "state": {"$in": list(_NOT_STARTED)}},
        {"fw_id": 1, "state": 1, "spec": 1, "name": 1, "launches": 1},
    ):
        fw_id = doc["fw_id"]
        if doc["state"] == "RESERVED" and doc.get("launches"):
            launch = lp.launches.find_one({"launch_id": doc["launches"][-1]}) or {}
            if _started(launch):
                report.running.append(fw_id)
                continue
            history = launch.get("state_history", [])
            job_id = next((h["reservation_id"] for h in history if "reservation_id" in h), None)
            if job_id is not None:
                cancel_job(q_type, str(job_id))
                report.cancelled[fw_id] = str(job_id)
            lp.cancel_reservation(launch["launch_id"])
        updates = _rewrite_spec(doc["spec"], resources, doc.get("name", ""))
        lp.fireworks.update_one({"fw_id": fw_id}, {"$set": updates})
        report.updated.append(fw_id)
    clear_faults(lp, report.updated)
    if report.updated:
        logger.info(
            "new requests for fw_ids %s (cancelled jobs %s)", report.updated, report.cancelled
        )
    checkpoint = getattr(lp, "checkpoint", None)
    if callable(checkpoint):
        checkpoint()
    return report
