"""Build and submit the FireWorks workflow that evaluates one composition with one engine.

The workflow is the engine's flow (``get_maker(engine).make(structure, candidate.id)``) followed by
:func:`workflows.results.ingest.record_barrier`, which takes the engine flow's output reference and
writes the :class:`~workflows.results.documents.BarrierDocument`. It is converted with jobflow's
``flow_to_workflow(flow, metadata=...)`` and ``store=None`` (each worker's own JobStore is used).

Workflow metadata (query with ``lp.get_wf_ids({"metadata.campaign": ...})``): ``kind``
(``"tavbo-barrier"``), ``campaign``, ``candidate_id``, ``formula``, ``A``, ``M``, ``X``,
``Z``, ``engine``, ``decision``, ``tavbo_version``.

Queue resources: with ``resources`` (a :class:`~workflows.hpc.resources.QueueResources`), or else
the ``resources.yaml`` named by ``TAVBO_RESOURCES_FILE``, every job gets its ``_category`` and
``_queueadapter`` (:func:`workflows.hpc.resources.apply_resources`) before the conversion; queue
jobs launched in reservation mode (:func:`workflows.hpc.offline.qlaunch`) then use them. Without
either, jobs carry no queue settings (the queue adapter's defaults apply).

Deduplication happens here, before ``add_wf`` (FireWorks' ``_dupefinder`` acts only at checkout
and never matches jobflow fireworks): a composition is never submitted twice for one (campaign,
engine) if it has a result document or a workflow in any state other than ARCHIVED. A FIZZLED
or DEFUSED one blocks too unless ``retry_failed=True`` (a failure is a result the agent
records). With ``on_duplicate="raise"`` (default) a duplicate raises
:class:`~workflows.errors.SubmissionError`; with ``"return"`` the existing submission is returned
(``Submission.new`` is False). The check and the ``add_wf`` are not one atomic operation: on a
shared MongoDB, let one process (the agent holding the campaign) submit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from typing import TYPE_CHECKING, Any, Literal

from workflows.engines import check_engine, get_maker
from workflows.errors import ConfigError, SubmissionError
from workflows.hpc.job_requests import apply_resources
from workflows.hpc.resources import QueueResources
from workflows.launchpad.tavbo_launchpad import BARRIERS_COLLECTION
from workflows.results.ingest import RECORD_JOB_NAME, WORKFLOW_KIND, record_barrier
from workflows.settings import WorkflowSettings
from workflows.space.compositions import Candidate, default_space

if TYPE_CHECKING:
    from fireworks import LaunchPad, Workflow
    from jobflow import Flow
    from pymatgen.core import Structure

    from workflows.engines.base import BarrierMaker
    from workflows.space.compositions import CompositionSpace

__all__ = [
    "ACTIVE_STATES",
    "FAILED_STATES",
    "Submission",
    "build_flow",
    "build_workflow",
    "default_resources",
    "find_submissions",
    "submit_evaluation",
    "workflow_metadata",
]

logger = logging.getLogger(__name__)

#: Workflow states that count as "evaluated or running" for deduplication.
ACTIVE_STATES = frozenset({"READY", "WAITING", "RESERVED", "RUNNING", "PAUSED", "COMPLETED"})
#: Workflow states of a failed evaluation (block resubmission unless ``retry_failed``).
FAILED_STATES = frozenset({"FIZZLED", "DEFUSED"})


@dataclass(frozen=True)
class Submission:
    """One evaluation workflow in the LaunchPad (or only its result document).

    Attributes
    ----------
    candidate_id, engine, campaign : str
    fw_id : int or None
        Lowest fw_id of the workflow (any fw_id names the workflow for ``lpad``); None when
        only a result document exists.
    state : str
        Workflow state, or ``"RECORDED"`` for a document without a workflow.
    new : bool
        Whether this call added the workflow.
    """

    candidate_id: str
    engine: str
    campaign: str
    fw_id: int | None
    state: str
    new: bool


def _version() -> str:
    try:
        return importlib_metadata.version("tavbo")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def _candidate(candidate: Candidate | str, space: CompositionSpace | None) -> Candidate:
    if isinstance(candidate, Candidate):
        return candidate
    return (space or default_space()).get(candidate)


def _resolve_maker(
    engine: str | None, maker: BarrierMaker | None, engine_settings: dict[str, Any]
) -> BarrierMaker:
    if maker is None:
        if engine is None:
            raise ConfigError("give an engine name or a configured maker")
        return get_maker(engine, **engine_settings)
    if engine is not None and engine != maker.engine:
        raise ConfigError(f"maker is for engine {maker.engine!r}, not {engine!r}")
    if engine_settings:
        raise ConfigError("give engine settings or a configured maker, not both")
    return maker


def workflow_metadata(
    candidate: Candidate, engine: str, campaign: str, decision: int | str | None = None
) -> dict[str, Any]:
    """The metadata dict every evaluation workflow carries."""
    return {
        "kind": WORKFLOW_KIND,
        "campaign": campaign,
        "candidate_id": candidate.id,
        "formula": candidate.formula,
        **candidate.sites,
        "engine": engine,
        "decision": decision,
        "tavbo_version": _version(),
    }


def build_flow(
    candidate: Candidate,
    engine: str | None = None,
    *,
    campaign: str = "default",
    decision: int | str | None = None,
    maker: BarrierMaker | None = None,
    structure: Structure | None = None,
    **engine_settings: Any,
) -> Flow:
    """Engine flow + final ``record barrier`` job; the flow's output is the BarrierResult.

    Parameters
    ----------
    candidate : Candidate
    engine : str, optional
        Registry name; may be omitted when ``maker`` is given.
    maker : BarrierMaker, optional
        A configured maker (else ``get_maker(engine, **engine_settings)``).
    structure : Structure, optional
        Starting structure (else :func:`workflows.structures.tavorite.make_structure`, unless the
        maker says ``needs_structure = False``).
    """
    from jobflow import Flow

    maker = _resolve_maker(engine, maker, engine_settings)
    if structure is None and getattr(maker, "needs_structure", True):
        from workflows.structures.tavorite import make_structure

        structure = make_structure(candidate)
    engine_flow = maker.make(structure, candidate.id)
    record = record_barrier(
        engine_flow.output, campaign=campaign, candidate=candidate.as_dict(), decision=decision
    )
    record.name = RECORD_JOB_NAME
    return Flow([engine_flow, record], output=record.output, name=f"{candidate.id} {maker.engine}")


def build_workflow(
    candidate: Candidate,
    engine: str | None = None,
    *,
    campaign: str = "default",
    decision: int | str | None = None,
    maker: BarrierMaker | None = None,
    structure: Structure | None = None,
    resources: QueueResources | None = None,
    **engine_settings: Any,
) -> Workflow:
    """:func:`build_flow` as a FireWorks Workflow tagged with :func:`workflow_metadata`.

    With ``resources``, each job gets its queue category and request
    (:func:`~workflows.hpc.resources.apply_resources`) before ``flow_to_workflow``, so that they
    land in the Fireworks' specs (``_category``, ``_queueadapter``).
    """
    from jobflow.managers.fireworks import flow_to_workflow

    maker = _resolve_maker(engine, maker, engine_settings)
    flow = build_flow(
        candidate, campaign=campaign, decision=decision, maker=maker, structure=structure
    )
    if resources is not None:
        apply_resources(flow, resources)
    meta = workflow_metadata(candidate, maker.engine, campaign, decision)
    return flow_to_workflow(flow, metadata=meta, name=f"{candidate.id} {maker.engine} [{campaign}]")


def default_resources(settings: WorkflowSettings | None = None) -> QueueResources | None:
    """The queue resources of ``TAVBO_RESOURCES_FILE`` (``settings.resources_file``), or None.

    Raises
    ------
    ConfigError
        If the file cannot be read or holds unknown settings.
    """
    path = (settings or WorkflowSettings()).resources_file
    return QueueResources.from_file(path.expanduser()) if path is not None else None


def find_submissions(
    lp: LaunchPad, candidate_id: str, engine: str, campaign: str = "default"
) -> list[Submission]:
    """Existing workflows of one (campaign, composition, engine), by fw_id (never by date:
    mongomock cannot sort ``created_on``), plus a ``RECORDED`` entry for a lone document."""
    query = {
        "metadata.campaign": campaign,
        "metadata.candidate_id": candidate_id,
        "metadata.engine": engine,
    }
    found = [
        Submission(candidate_id, engine, campaign, min(wf["nodes"]), wf["state"], new=False)
        for wf in lp.workflows.find(query, {"nodes": 1, "state": 1})
    ]
    found.sort(key=lambda s: s.fw_id or 0)
    doc_key = {"campaign": campaign, "candidate_id": candidate_id, "engine": engine}
    has_doc = lp.db[BARRIERS_COLLECTION].find_one(doc_key, {"_id": 1}) is not None
    if has_doc and not any(s.state == "COMPLETED" for s in found):
        found.append(Submission(candidate_id, engine, campaign, None, "RECORDED", new=False))
    return found


def submit_evaluation(
    lp: LaunchPad,
    candidate: Candidate | str,
    engine: str,
    *,
    campaign: str = "default",
    decision: int | str | None = None,
    maker: BarrierMaker | None = None,
    structure: Structure | None = None,
    space: CompositionSpace | None = None,
    on_duplicate: Literal["raise", "return"] = "raise",
    retry_failed: bool = False,
    resources: QueueResources | None = None,
    **engine_settings: Any,
) -> Submission:
    """Add the evaluation workflow of ``candidate`` unless it is a duplicate (see module doc).

    Parameters
    ----------
    lp : LaunchPad
        Where to submit (on the embedded store the add is checkpointed).
    candidate : Candidate or str
        The composition or its ID (looked up in ``space``, default: the packaged space).
    engine : str
        Engine name (``get_maker(engine, **engine_settings)`` unless ``maker`` is given).
    campaign : str, default="default"
    decision : int or str, optional
        Agent decision id, stored in the metadata and the result document.
    on_duplicate : {"raise", "return"}, default="raise"
    retry_failed : bool, default=False
        Submit again when the only earlier workflows FIZZLED or were DEFUSED.
    resources : QueueResources, optional
        Per-job queue category and request (:func:`~workflows.hpc.resources.apply_resources`);
        default: the ``resources.yaml`` of ``TAVBO_RESOURCES_FILE`` if set, else none.

    Returns
    -------
    Submission

    Raises
    ------
    SubmissionError
        Duplicate with ``on_duplicate="raise"``.
    UnknownCompositionError, ConfigError
        Unknown ID, engine or engine settings; unreadable resources file.
    """
    if on_duplicate not in ("raise", "return"):
        raise ConfigError(f"invalid {on_duplicate=}; valid options are ['raise', 'return']")
    cand = _candidate(candidate, space)
    check_engine(engine)
    blocking = [
        s
        for s in find_submissions(lp, cand.id, engine, campaign)
        if s.state in ACTIVE_STATES
        or s.state == "RECORDED"
        or (s.state in FAILED_STATES and not retry_failed)
    ]
    if blocking:
        done = [s for s in blocking if s.state in ("COMPLETED", "RECORDED")]
        existing = (done or [s for s in blocking if s.state not in FAILED_STATES] or blocking)[0]
        if on_duplicate == "return":
            return existing
        hint = (
            " (pass retry_failed=True to submit it again)"
            if existing.state in FAILED_STATES
            else ""
        )
        where = f"workflow fw_id={existing.fw_id}" if existing.fw_id else "a result document"
        raise SubmissionError(
            f"{cand.id} is already submitted for engine {engine!r} in campaign {campaign!r}: "
            f"{where}, state {existing.state}{hint}"
        )
    wf = build_workflow(
        cand,
        engine,
        campaign=campaign,
        decision=decision,
        maker=maker,
        structure=structure,
        resources=resources if resources is not None else default_resources(),
        **engine_settings,
    )
    id_map = lp.add_wf(wf)
    fw_id = min(id_map.values())
    logger.info("submitted %s with %s (%s): fw_id %d", cand.id, engine, campaign, fw_id)
    state = lp.workflows.find_one({"nodes": fw_id}, {"state": 1})["state"]
    return Submission(cand.id, engine, campaign, fw_id, state, new=True)
