"""From finished workflows to :class:`~workflows.results.documents.BarrierDocument` results.

Two paths write the same document, both idempotent:

* :func:`record_barrier`, the last job of every evaluation workflow (appended by
  :mod:`workflows.flows.submit` after the engine flow, taking its output reference). It writes the
  document through the LaunchPad open in the worker process; if it cannot (a worker without
  database configuration), it logs a warning and still completes: the result is its job output
  and sits in the firework's ``stored_data`` (launches collection).
* :func:`ingest_completed` reads COMPLETED workflows and upserts what is missing: the recovery
  path for such workers, and the way to fill documents after a restore.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import CURRENT_JOB, Response, job

from workflows.errors import TavboError
from workflows.launchpad.opening import open_launchpad
from workflows.launchpad.tavbo_launchpad import BARRIERS_COLLECTION, current_launchpad
from workflows.physics.schemas import BarrierResult

if TYPE_CHECKING:
    from fireworks import LaunchPad

__all__ = [
    "RECORD_JOB_NAME",
    "STORED_KEY",
    "WORKFLOW_KIND",
    "IngestReport",
    "failure_message",
    "ingest_completed",
    "record_barrier",
    "result_of_workflow",
]

logger = logging.getLogger(__name__)

#: Name of the final job (and firework) of every evaluation workflow.
RECORD_JOB_NAME = "record barrier"
#: Key of the result in the final firework's ``stored_data``.
STORED_KEY = "tavbo_barrier"
#: ``metadata.kind`` of tavbo evaluation workflows.
WORKFLOW_KIND = "tavbo-barrier"


def _as_result(result: Any) -> BarrierResult:
    if isinstance(result, BarrierResult):
        return result
    if isinstance(result, dict):
        data = {k: v for k, v in result.items() if not k.startswith("@")}
        return BarrierResult.model_validate(data)
    raise TypeError(f"expected a BarrierResult, got {type(result).__name__}")


def _worker_launchpad() -> Any:
    """The LaunchPad to write results with in this process, or None."""
    lp = current_launchpad()
    if lp is not None:
        return lp
    from workflows.settings import WorkflowSettings

    settings = WorkflowSettings()
    launchpad_file = settings.launchpad_file
    if launchpad_file is None:
        from fireworks.fw_config import LAUNCHPAD_LOC

        launchpad_file = LAUNCHPAD_LOC  # the worker's own FireWorks configuration
    if launchpad_file is None:
        return None  # an embedded store is written only by its owner, which has it open
    return open_launchpad(settings, launchpad_file=launchpad_file)


@job
def record_barrier(
    result: Any,
    campaign: str,
    candidate: dict[str, Any],
    decision: int | str | None = None,
) -> Response:
    """Final job: upsert the BarrierDocument and output the engine's BarrierResult.

    Parameters
    ----------
    result : BarrierResult or dict
        Output reference of the engine flow (resolved by jobflow before this runs).
    campaign : str
        Campaign name.
    candidate : dict
        ``Candidate.as_dict()`` of the composition.
    decision : int or str, optional
        Agent decision that asked for it.
    """
    from workflows.results.documents import upsert_barrier

    res = _as_result(result)
    fw_id = (CURRENT_JOB.job.metadata or {}).get("fw_id") if CURRENT_JOB.job else None
    recorded = False
    try:
        lp = _worker_launchpad()
        if lp is None:
            logger.warning("no LaunchPad configured here: %s left for ingest", res.candidate_id)
        else:
            fw_ids = _workflow_nodes(lp, fw_id) if fw_id is not None else []
            upsert_barrier(  # the firework's completion, next, checkpoints the store
                res,
                campaign=campaign,
                candidate=candidate,
                decision=decision,
                fw_ids=fw_ids,
                checkpoint=False,
            )
            recorded = True
    except TavboError as exc:
        logger.warning("could not record %s (%s); ingest will", res.candidate_id, exc)
    return Response(
        output=res, stored_data={STORED_KEY: res.model_dump(mode="json"), "recorded": recorded}
    )


def _workflow_nodes(lp: LaunchPad, fw_id: int) -> list[int]:
    wf = lp.workflows.find_one({"nodes": fw_id}, {"nodes": 1})
    return sorted(wf["nodes"]) if wf else [fw_id]


@dataclass
class IngestReport:
    """What :func:`ingest_completed` did; keys are ``"campaign/candidate_id/engine"``."""

    ingested: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)


def result_of_workflow(lp: LaunchPad, nodes: list[int]) -> BarrierResult | None:
    """The BarrierResult of a COMPLETED evaluation workflow, or None if it cannot be found.

    Looks in the final firework's ``stored_data``, then in the LaunchPad's job store.
    """
    fw = lp.fireworks.find_one(
        {"fw_id": {"$in": nodes}, "name": RECORD_JOB_NAME, "state": "COMPLETED"},
        {"fw_id": 1, "launches": 1, "spec._tasks": 1},
    )
    if fw is None:
        return None
    launches = lp.launches.find(
        {"launch_id": {"$in": fw.get("launches", [])}, "state": "COMPLETED"},
        {"action.stored_data": 1, "launch_id": 1},
    )
    for launch in sorted(launches, key=lambda d: -d["launch_id"]):
        stored = ((launch.get("action") or {}).get("stored_data") or {}).get(STORED_KEY)
        if stored:
            return _as_result(stored)
    job_store = getattr(lp, "job_store", None)
    if job_store is not None:
        try:
            uuid = fw["spec"]["_tasks"][0]["job"]["uuid"]
            return _as_result(job_store.get_output(uuid, load=True))
        except (KeyError, IndexError, ValueError):
            return None
    return None


def failure_message(lp: LaunchPad, nodes: list[int]) -> str:
    """Last line of the error of the first firework among ``nodes`` to fizzle (or its state).

    The first to fizzle is the root cause: a job that runs after a fizzled parent (jobflow lets
    some do) then fails only because the parent's output is missing.
    """
    fizzled = {
        fw["fw_id"]: fw
        for fw in lp.fireworks.find(
            {"fw_id": {"$in": nodes}, "state": "FIZZLED"}, {"fw_id": 1, "name": 1, "launches": 1}
        )
    }
    if not fizzled:
        return "no fizzled firework"
    launch_ids = [lid for fw in fizzled.values() for lid in fw.get("launches", [])]
    launch = lp.launches.find_one(
        {"launch_id": {"$in": launch_ids}, "state": "FIZZLED"},
        {"fw_id": 1, "action.stored_data._exception._stacktrace": 1},
        sort=[("launch_id", 1)],
    )
    fw = fizzled.get((launch or {}).get("fw_id"), fizzled[min(fizzled)])
    trace = (((launch or {}).get("action") or {}).get("stored_data", {}).get("_exception", {})).get(
        "_stacktrace"
    ) or ""
    lines = [line for line in trace.strip().splitlines() if line.strip()]
    detail = lines[-1].strip() if lines else "no stack trace stored"
    return f"firework {fw['fw_id']} ({fw.get('name')}) FIZZLED: {detail}"


def ingest_completed(
    lp: LaunchPad,
    *,
    campaign: str | None = None,
    engine: str | None = None,
    overwrite: bool = False,
) -> IngestReport:
    """Upsert the result of every COMPLETED evaluation workflow that lacks its document.

    Parameters
    ----------
    lp : LaunchPad
        The open :class:`~workflows.launchpad.opening.TavboLaunchPad` (documents are written through
        the process's binding, which is this LaunchPad's client).
    campaign, engine : str, optional
        Restrict to these workflows.
    overwrite : bool, default=False
        Rewrite documents that exist.

    Returns
    -------
    IngestReport
        Keys ingested, already present, failed (FIZZLED/DEFUSED: message) and unreadable.
    """
    from workflows.results.documents import upsert_barrier

    query: dict[str, Any] = {"metadata.kind": WORKFLOW_KIND}
    if campaign is not None:
        query["metadata.campaign"] = campaign
    if engine is not None:
        query["metadata.engine"] = engine
    report = IngestReport()
    completed: set[str] = set()
    wfs = lp.workflows.find(query, {"nodes": 1, "state": 1, "metadata": 1})
    for wf in sorted(wfs, key=lambda d: min(d["nodes"])):  # by fw_id: mongomock cannot sort dates
        meta = wf["metadata"]
        key = f"{meta['campaign']}/{meta['candidate_id']}/{meta['engine']}"
        if wf["state"] in ("FIZZLED", "DEFUSED"):
            report.failed[key] = failure_message(lp, wf["nodes"])
            continue
        if wf["state"] != "COMPLETED":
            continue
        completed.add(key)
        doc_key = {k: meta[k] for k in ("campaign", "candidate_id", "engine")}
        if not overwrite and lp.db[BARRIERS_COLLECTION].find_one(doc_key, {"_id": 1}):
            report.present.append(key)
            continue
        result = result_of_workflow(lp, wf["nodes"])
        if result is None:
            report.unreadable[key] = "no stored result and no job-store output"
            continue
        candidate = {s: meta.get(s) for s in ("A", "M", "X", "Z")}
        candidate["formula"] = meta.get("formula")
        upsert_barrier(
            result,
            campaign=meta["campaign"],
            candidate=candidate if all(candidate[s] for s in "AMXZ") else None,
            decision=meta.get("decision"),
            fw_ids=sorted(wf["nodes"]),
            recorded_by="ingest",
            checkpoint=False,
        )
        report.ingested.append(key)
    report.failed = {k: v for k, v in report.failed.items() if k not in completed}  # retried
    checkpoint = getattr(lp, "checkpoint", None)
    if report.ingested and checkpoint is not None:
        checkpoint()
    return report
