"""Evaluate one composition end to end, in this process: submit, run the rockets, return E_b.

:func:`evaluate` is what ``tavbo evaluate`` runs. On the embedded store (the default) this
process owns the LaunchPad for the duration; an evaluation interrupted by SIGINT/SIGTERM is
checkpointed with its firework RUNNING, re-queued as a lost run at the next open, and finished
by running the same command again (deduplication returns the existing workflow).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflows.engines import check_engine, get_maker
from workflows.errors import CalculationError, ConfigError
from workflows.flows.submit import FAILED_STATES, submit_evaluation
from workflows.launchpad.opening import using_launchpad
from workflows.launchpad.tavbo_launchpad import BARRIERS_COLLECTION
from workflows.results.ingest import failure_message, ingest_completed
from workflows.settings import WorkflowSettings
from workflows.space.compositions import default_space, load_space

if TYPE_CHECKING:
    from fireworks import FWorker, LaunchPad

    from workflows.launchpad.tavbo_launchpad import TavboLaunchPad
    from workflows.physics.schemas import BarrierResult
    from workflows.results.documents import BarrierDocument

__all__ = ["evaluate", "run_workflow", "stored_barrier"]

logger = logging.getLogger(__name__)


def stored_barrier(
    lp: LaunchPad, candidate_id: str, engine: str, campaign: str = "default"
) -> BarrierDocument | None:
    """The result document of (campaign, composition, engine) in ``lp``'s database, or None."""
    from workflows.results.documents import BarrierDocument

    raw = lp.db[BARRIERS_COLLECTION].find_one(
        {"campaign": campaign, "candidate_id": candidate_id, "engine": engine}
    )
    return BarrierDocument._from_son(raw) if raw else None


def run_workflow(
    lp: LaunchPad,
    fw_id: int,
    *,
    run_dir: str | Path | None = None,
    fworker: FWorker | None = None,
) -> str:
    """Run the READY fireworks of one workflow in this process until none is left.

    Like ``rapidfire``, one Rocket per firework, each in its own ``launcher_*`` directory under
    ``run_dir``; unlike it, only this workflow's fireworks run (including ones it adds while
    running), and jobflow's JOB_STORE is the LaunchPad's job store meanwhile. FireWorks and
    jobflow log to stdout; that goes to stderr here, so stdout keeps only results.

    Returns
    -------
    str
        The workflow's state at the end (``COMPLETED``, ``FIZZLED``, or e.g. ``RUNNING`` when
        a firework is held elsewhere).
    """
    from fireworks import FWorker
    from fireworks.core.rocket_launcher import launch_rocket

    settings = WorkflowSettings()  # now, not when the LaunchPad was opened
    run_root = Path(run_dir or settings.run_dir).resolve()
    run_root.mkdir(parents=True, exist_ok=True)
    fworker = fworker or FWorker(name="tavbo-evaluate")
    log_level = settings.fireworks_log_level
    store_ctx = getattr(lp, "jobflow_store_active", contextlib.nullcontext)
    cwd = os.getcwd()
    tried: set[int] = set()
    with store_ctx(), contextlib.redirect_stdout(sys.stderr):
        try:
            while True:
                nodes = lp.workflows.find_one({"nodes": fw_id}, {"nodes": 1})["nodes"]
                ready = lp.fireworks.find_one(
                    {"fw_id": {"$in": [n for n in nodes if n not in tried]}, "state": "READY"},
                    {"fw_id": 1},
                    sort=[("fw_id", 1)],
                )
                if ready is None:
                    break
                launcher = tempfile.mkdtemp(prefix=f"launcher_fw{ready['fw_id']}_", dir=run_root)
                os.chdir(launcher)
                ran = launch_rocket(lp, fworker, fw_id=ready["fw_id"], strm_lvl=log_level)
                os.chdir(cwd)
                if not ran:  # checked out by someone else meanwhile: do not spin on it
                    tried.add(ready["fw_id"])
        finally:
            os.chdir(cwd)
    return lp.workflows.find_one({"nodes": fw_id}, {"state": 1})["state"]


def evaluate(
    candidate_id: str,
    engine: str,
    campaign: str = "default",
    launchpad: TavboLaunchPad | None = None,
    *,
    decision: int | str | None = None,
    space: str | Path | None = None,
    retry_failed: bool = False,
    run_dir: str | Path | None = None,
    **engine_settings: Any,
) -> BarrierResult:
    """Compute (or fetch) E_b of one composition with one engine, running it in-process.

    Parameters
    ----------
    candidate_id : str
        Composition ID, e.g. ``"Na-Ga-P-F"``.
    engine : str
        Engine name (``"table"``, ``"bvse"``, ``"chgnet"``, ``"vasp"``).
    campaign : str, default="default"
    launchpad : TavboLaunchPad, optional
        Default: the open one, else :func:`~workflows.launchpad.opening.open_launchpad` (embedded by
        default), closed again at the end.
    decision : int or str, optional
        Decision id recorded with the workflow.
    space : path, optional
        Composition-space file (default: the packaged space).
    retry_failed : bool, default=False
        Submit again if an earlier evaluation FIZZLED.
    run_dir : path, optional
        Where the rockets' launcher directories go (default ``TAVBO_RUN_DIR``).
    **engine_settings
        Fields of the engine's maker, e.g. ``table="eb.csv"``.

    Returns
    -------
    BarrierResult
        As stored in the results database. A composition already evaluated for this campaign
        and engine is not recomputed.

    Raises
    ------
    UnknownCompositionError, ConfigError
        Bad ID, engine or settings.
    CalculationError
        The workflow FIZZLED (now or earlier, without ``retry_failed``), or cannot finish here.
    LockError, DatabaseError
        The LaunchPad cannot be opened.
    """
    candidate = (load_space(space) if space else default_space()).get(candidate_id)
    check_engine(engine)
    with using_launchpad(launchpad) as lp:
        doc = stored_barrier(lp, candidate.id, engine, campaign)
        if doc is not None:
            logger.info("%s already evaluated with %s in %s", candidate.id, engine, campaign)
            result = doc.to_result()
            _check_settings_apply(result, campaign, engine_settings)
            return result
        sub = submit_evaluation(
            lp,
            candidate,
            engine,
            campaign=campaign,
            decision=decision,
            on_duplicate="return",
            retry_failed=retry_failed,
            **engine_settings,
        )
        assert sub.fw_id is not None  # a lone document was handled above
        nodes = lp.workflows.find_one({"nodes": sub.fw_id}, {"nodes": 1})["nodes"]
        if sub.state in FAILED_STATES:
            raise CalculationError(
                f"{candidate.id} with {engine} failed earlier in campaign {campaign!r} "
                f"(workflow fw_id={sub.fw_id}): {failure_message(lp, nodes)}; "
                "retry with retry_failed=True (tavbo evaluate --retry)"
            )
        state = run_workflow(lp, sub.fw_id, run_dir=run_dir)
        if state == "COMPLETED":
            doc = stored_barrier(lp, candidate.id, engine, campaign)
            if doc is None:  # the final job could not write it: recover from its output
                ingest_completed(lp, campaign=campaign, engine=engine)
                doc = stored_barrier(lp, candidate.id, engine, campaign)
            if doc is not None:
                return doc.to_result()
            raise CalculationError(
                f"workflow fw_id={sub.fw_id} of {candidate.id} COMPLETED without a readable result"
            )
        if state in FAILED_STATES:  # nodes again: jobs created at run time may have failed
            nodes = lp.workflows.find_one({"nodes": sub.fw_id}, {"nodes": 1})["nodes"]
            raise CalculationError(
                f"evaluation of {candidate.id} with {engine} failed (workflow fw_id="
                f"{sub.fw_id}): {failure_message(lp, nodes)}"
            )
        raise CalculationError(
            f"workflow fw_id={sub.fw_id} of {candidate.id} is {state} and has nothing left to "
            "run here (held by another worker?); its result will land in the database when it "
            "completes"
        )


def _check_settings_apply(result: BarrierResult, campaign: str, given: dict[str, Any]) -> None:
    """Refuse settings that differ from those of the stored ``result`` they would not change.

    An evaluated composition is shown, not recomputed: ``-s fmax=0.02`` on it would otherwise
    print the old E_b as if computed with the new settings.
    """
    if not given:
        return
    get_maker(result.engine, **given)  # unknown or malformed settings: the usual ConfigError
    stored = result.settings or {}
    differ = [k for k, v in given.items() if k in stored and stored[k] != v]
    if differ:
        key = differ[0]
        raise ConfigError(
            f"{result.candidate_id} is already evaluated with {result.engine} in campaign "
            f"{campaign!r} with {key}={stored[key]!r}, not {given[key]!r}; an evaluated "
            "composition is not recomputed: give another --campaign to compute it with these "
            "settings"
        )
