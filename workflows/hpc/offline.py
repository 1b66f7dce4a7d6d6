"""FireWorks offline mode for compute nodes that cannot reach the database, with jobflow outputs.

A queue job normally checks its Firework out of MongoDB and writes results back. On clusters whose
compute nodes cannot reach the database, and with tavbo's embedded (single-process) LaunchPad,
FireWorks' *offline mode* does this through files instead:

1. :func:`qlaunch` (in the process that owns the LaunchPad) reserves a Firework, writes ``FW.json``
   and ``FW_offline.json`` into a launch directory and submits a queue script, like
   ``qlaunch -r singleshot`` with ``--offline`` in the ``rocket_launch`` line. tavbo also copies the
   jobflow outputs the job will read into a file store in the launch directory
   (``tavbo_jobstore*.json``), since the job cannot read the real JobStore either.
2. On the compute node, ``tavbo-rlaunch -c CONFIG_DIR singleshot --offline --fw_id N`` (or
   ``python -m workflows.hpc.rocket ...``; same arguments as ``rlaunch``) runs the Firework from
   ``FW.json``; the job's output goes to the local file store, the final state and ``FWAction`` to
   ``FW_offline.json`` and heartbeats to ``FW_ping.json``.
3. :func:`recover_offline` (in the LaunchPad process again) copies the new outputs into the real
   JobStore and then updates the LaunchPad from the files (``lpad recover_offline`` plus outputs).

Two upstream problems are worked around, without editing site-packages:

* fireworks 2.1.4 calls ``monty.io.zopen(path)`` without a mode in ``fireworks/core/rocket.py``
  (offline start, checkpoint, completion and fizzle paths); current monty requires the mode, so
  every offline rocket crashed. :func:`patch_fireworks` rebinds that module's ``zopen`` to a
  wrapper that defaults to text mode.
* ``LaunchPad.recover_offline`` loses the ping it reads from ``FW_ping.json`` (it writes back a
  stale copy of the launch), so a RUNNING offline launch keeps the time of its first recovery as
  last ping: live jobs looked lost after ``expiration_secs`` and dead ones were timed from the
  recovery. :func:`recover_offline` applies the ping afterwards; ``tavbo-rlaunch`` also pings
  once at start (FireWorks' first ping comes after ``PING_TIME_SECS``, one hour by default).

Lost runs (a job cancelled with ``scancel`` or killed at its walltime) leave ``FW_offline.json``
without a final state: after :func:`recover_offline` has copied their last ping,
``LaunchPad.detect_lostruns(expiration_secs, fizzle=True | rerun=True)`` finds them (see
:func:`handle_lost_runs`).

This module is the head-node side (steps 1 and 3, lost runs). The compute-node side (step 2,
:func:`patch_fireworks`) is :mod:`workflows.hpc.rocket`, and the launch directory's files
and jobflow store are :mod:`workflows.hpc.offline_store`.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflows.hpc.offline_store import (
    OFFLINE_FILE,
    PING_FILE,
    _import_job_outputs,
    stage_job_inputs,
)

if TYPE_CHECKING:
    from fireworks import Firework, FWorker, LaunchPad
    from fireworks.queue.queue_adapter import QueueAdapterBase
    from jobflow import JobStore

__all__ = [
    "LostRuns",
    "OfflineRecovery",
    "QueueLaunch",
    "handle_lost_runs",
    "qlaunch",
    "recover_offline",
    "retire_stale_runs",
]

logger = logging.getLogger(__name__)

_TERMINAL_STATES = ("COMPLETED", "FIZZLED", "DEFUSED", "ARCHIVED")


# -- head-node side: reserve and submit ---------------------------------------------------------


def _checkpoint(launchpad: LaunchPad) -> None:
    """Persist an embedded LaunchPad now (tavbo's TavboLaunchPad); no-op for others."""
    checkpoint = getattr(launchpad, "checkpoint", None)
    if callable(checkpoint):
        checkpoint()


@dataclass(frozen=True)
class QueueLaunch:
    """One Firework reserved and submitted to the queue.

    Attributes
    ----------
    fw_id, launch_id : int
        FireWorks ids.
    reservation_id : str
        The scheduler's job id (Slurm ``JOBID``, PBS job id).
    launch_dir : str
        Where the job runs and writes its files.
    offline : bool
        Whether the job runs in offline mode (recover it with :func:`recover_offline`).
    """

    fw_id: int
    launch_id: int
    reservation_id: str
    launch_dir: str
    offline: bool


@contextlib.contextmanager
def _staging_hook(store: JobStore | None) -> Iterator[None]:
    """While active, FireWorks' offline job setup also stages jobflow inputs (needs ``store``)."""
    import fireworks.queue.queue_launcher as ql

    original = ql.setup_offline_job

    def setup_offline_job(launchpad: LaunchPad, fw: Firework, launch_id: int) -> None:
        original(launchpad, fw, launch_id)
        if store is not None:
            stage_job_inputs(fw, store, Path.cwd())  # queue_launcher has cd'ed into launch_dir

    ql.setup_offline_job = setup_offline_job
    try:
        yield
    finally:
        ql.setup_offline_job = original


def qlaunch(
    launchpad: LaunchPad,
    qadapter: QueueAdapterBase,
    *,
    fworker: FWorker | None = None,
    store: JobStore | None = None,
    launch_dir: str | Path = ".",
    njobs: int = 1,
    fw_id: int | None = None,
    create_launcher_dir: bool = True,
) -> list[QueueLaunch]:
    """Reserve READY Fireworks and submit one queue job each (``qlaunch -r singleshot``).

    Runs in the process that owns the LaunchPad. Each Firework's ``spec._queueadapter`` (see
    :mod:`workflows.hpc.resources`) overrides ``qadapter`` for its job. When ``rocket_launch``
    contains ``--offline``, the job's jobflow inputs are copied from ``store`` into the launch
    directory, so the job needs neither the LaunchPad nor the JobStore.

    Parameters
    ----------
    launchpad : LaunchPad
        The campaign's LaunchPad (embedded or real).
    qadapter : QueueAdapterBase
        E.g. ``TavboQueueAdapter.from_file("my_qadapter.yaml")``; ``rocket_launch`` must contain
        ``singleshot``.
    fworker : FWorker, optional
        Selects Fireworks by ``category``/``query`` (e.g. ``my_fworker_neb.yaml``).
    store : JobStore, optional
        The campaign's JobStore; required for offline jobs that read other jobs' outputs.
    launch_dir : str or Path, default="."
        Parent directory; each job gets a ``launcher_<date>`` subdirectory.
    njobs : int, default=1
        Maximum number of jobs to submit; stops early when nothing is READY.
    fw_id : int, optional
        Reserve this Firework only (then ``njobs`` is 1).
    create_launcher_dir : bool, default=True
        One subdirectory per job (recommended; offline files must not collide).

    Returns
    -------
    list of QueueLaunch
        The jobs submitted, in order; empty when nothing was READY.

    Raises
    ------
    SubmissionError
        If the queue adapter cannot run in reservation mode or submission fails.
    """
    from fireworks.queue.queue_launcher import launch_rocket_to_queue

    from workflows.errors import SubmissionError

    rocket_launch = str(qadapter.get("rocket_launch", ""))
    if "singleshot" not in rocket_launch:
        raise SubmissionError(
            f"rocket_launch {rocket_launch!r} must use 'singleshot' (reservation mode); "
            "regenerate the queue adapter with `tavbo init-config`"
        )
    offline = "--offline" in rocket_launch
    Path(launch_dir).mkdir(parents=True, exist_ok=True)
    from workflows.hpc.queue_adapter import TavboQueueAdapter  # imports fireworks: not at load

    TavboQueueAdapter.last_error = None
    launched: list[QueueLaunch] = []
    with _staging_hook(store if offline else None), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "cd is deprecated", FutureWarning)  # fireworks' own
        for _ in range(1 if fw_id is not None else njobs):
            reservation_id = launch_rocket_to_queue(
                launchpad,
                fworker,
                qadapter,
                launcher_dir=str(launch_dir),
                reserve=True,
                create_launcher_dir=create_launcher_dir,
                fw_id=fw_id,
                strm_lvl="WARNING",
            )
            if reservation_id is None:  # nothing READY for this fworker
                break
            if reservation_id is False:
                said = TavboQueueAdapter.last_error
                raise SubmissionError(
                    f"the scheduler refused the job: {said}"
                    if said
                    else "queue submission failed (see the FireWorks log above); check the "
                    "queue adapter, the scheduler (sinfo/qstat) and the per-job _queueadapter"
                )
            doc = launchpad.launches.find_one(
                {"state_history.reservation_id": str(reservation_id)},
                {"fw_id": 1, "launch_id": 1, "launch_dir": 1},
            )
            launched.append(
                QueueLaunch(
                    fw_id=doc["fw_id"],
                    launch_id=doc["launch_id"],
                    reservation_id=str(reservation_id),
                    launch_dir=doc["launch_dir"],
                    offline=offline,
                )
            )
            logger.info("fw_id %s -> queue job %s", doc["fw_id"], reservation_id)
    _checkpoint(launchpad)  # reservation ids and offline-run records are plain updates
    return launched


# -- head-node side: recover ---------------------------------------------------------------------


@dataclass
class OfflineRecovery:
    """What :func:`recover_offline` found, by fw_id.

    Attributes
    ----------
    completed, fizzled : list of int
        Finished offline runs now recorded in the LaunchPad (outputs copied for completed ones).
    running : list of int
        Started, not finished: last ping copied (candidates for :func:`handle_lost_runs`).
    waiting : list of int
        Queued, not started yet (untouched).
    failed : list of int
        Runs whose files could not be read now (see the log); retried at the next call.
    outputs : int
        Number of jobflow output documents copied into the JobStore.
    """

    completed: list[int] = field(default_factory=list)
    fizzled: list[int] = field(default_factory=list)
    running: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    outputs: int = 0


def recover_offline(
    launchpad: LaunchPad, store: JobStore | None = None, *, ignore_errors: bool = False
) -> OfflineRecovery:
    """Bring finished and running offline jobs back into the LaunchPad (``lpad recover_offline``).

    Call it periodically from the process that owns the LaunchPad (the agent does, each round).
    For each offline run not yet recovered: copy the job's new jobflow outputs into ``store``
    (first, so that children reading them can be launched), then update the launch from
    ``FW_offline.json``/``FW_ping.json``. Runs already marked finished or lost in the LaunchPad,
    and runs whose Firework was rerun or defused since (the launch is archived), are retired
    instead of being revived, and queued runs that have not started are left alone (upstream
    would mark them RUNNING).

    Parameters
    ----------
    launchpad : LaunchPad
        The campaign's LaunchPad.
    store : JobStore, optional
        The campaign's JobStore; without it outputs stay in the launch directories.
    ignore_errors : bool, default=False
        Passed to ``LaunchPad.recover_offline``: when False an unreadable run is FIZZLED.

    Returns
    -------
    OfflineRecovery
        fw_ids by outcome.
    """
    from monty.serialization import loadfn

    report = OfflineRecovery()
    retire_stale_runs(launchpad)
    runs = list(
        launchpad.offline_runs.find(
            {"completed": False, "deprecated": False}, {"launch_id": 1, "fw_id": 1}
        )
    )
    for run in sorted(runs, key=lambda r: r["launch_id"]):
        launch_id, fw_id = run["launch_id"], run["fw_id"]
        launch = launchpad.launches.find_one(
            {"launch_id": launch_id}, {"state": 1, "launch_dir": 1}
        )
        directory = Path(launch["launch_dir"])
        try:
            data = loadfn(str(directory / OFFLINE_FILE))
            if (directory / PING_FILE).exists():
                loadfn(str(directory / PING_FILE))  # FireWorks would FIZZLE the run on a bad one
        except (OSError, ValueError) as exc:
            # Most likely caught mid-write by a job that is not using tavbo-rlaunch: try again
            # at the next call; a run that stays unreadable stops pinging and is found lost.
            logger.warning("fw_id %s: cannot read its files in %s: %s", fw_id, directory, exc)
            report.failed.append(fw_id)
            continue
        if "started_on" not in data:
            report.waiting.append(fw_id)
            continue
        if "fwaction" in data and data.get("state") == "COMPLETED" and store is not None:
            report.outputs += _import_job_outputs(directory, store)
        if launchpad.recover_offline(launch_id, ignore_errors, print_errors=True) is not None:
            report.failed.append(fw_id)
        elif "fwaction" not in data:
            _copy_last_ping(launchpad, launch_id, directory, data)
            report.running.append(fw_id)
        elif data.get("state") == "COMPLETED":
            report.completed.append(fw_id)
        else:
            report.fizzled.append(fw_id)
    _checkpoint(launchpad)
    return report


def retire_stale_runs(launchpad: LaunchPad) -> list[int]:
    """Stop tracking offline runs that no longer decide their Firework's state.

    A run is retired when its launch finished or was marked lost (COMPLETED, FIZZLED, ...) or
    when its Firework was rerun or defused since, which archives the launch (a lost run the
    agent handled, a cancelled reservation): the dead job's files must not revive it.
    :func:`recover_offline` calls this first; it is cheap to call after handling lost runs.

    Returns
    -------
    list of int
        Launch ids retired now.
    """
    retired = []
    runs = launchpad.offline_runs.find(
        {"completed": False, "deprecated": False}, {"launch_id": 1, "fw_id": 1}
    )
    for run in list(runs):
        launch_id, fw_id = run["launch_id"], run["fw_id"]
        launch = launchpad.launches.find_one({"launch_id": launch_id}, {"state": 1})
        if launch is None or launch["state"] in _TERMINAL_STATES:
            launchpad.offline_runs.update_one(
                {"launch_id": launch_id}, {"$set": {"completed": True}}
            )
        elif not launchpad.fireworks.count_documents({"fw_id": fw_id, "launches": launch_id}):
            launchpad.forget_offline(launch_id, launch_mode=True)
        else:
            continue
        retired.append(launch_id)
    if retired:
        _checkpoint(launchpad)
    return retired


def _copy_last_ping(
    launchpad: LaunchPad, launch_id: int, directory: Path, data: dict[str, Any]
) -> None:
    """Record the job's last sign of life as the launch's ``updated_on``.

    ``LaunchPad.recover_offline`` (fireworks 2.1.4) applies ``FW_ping.json`` and then overwrites
    the launch with the copy it loaded before, so ``updated_on`` stays at the time of the first
    recovery: live jobs looked lost ``expiration_secs`` later, and dead ones were judged from
    the recovery, not from their last ping. Here the ping (else the start time) is applied
    after that write.
    """
    from monty.serialization import loadfn

    ping_time = data.get("started_on")
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        ping_time = loadfn(str(directory / PING_FILE))["ping_time"]
    if isinstance(ping_time, datetime.datetime):
        ping_time = ping_time.isoformat()
    if ping_time:
        launchpad.ping_launch(launch_id, ptime=ping_time, checkpoint=data.get("checkpoint"))


@dataclass(frozen=True)
class LostRuns:
    """Result of :func:`handle_lost_runs`: FireWorks ids of lost launches and Fireworks."""

    launch_ids: list[int]
    fw_ids: list[int]
    inconsistent_fw_ids: list[int]


def handle_lost_runs(
    launchpad: LaunchPad, expiration_secs: float, *, rerun: bool = False
) -> LostRuns:
    """Fizzle (or rerun) RUNNING launches whose last ping is older than ``expiration_secs``.

    For offline jobs call :func:`recover_offline` first (it copies the pings). A job killed by
    the scheduler stops pinging; a live one pings every ``PING_TIME_SECS`` (FW_config.yaml,
    3600 s by default), so ``expiration_secs`` must exceed that. Lost offline runs are forgotten
    (their files are no longer read).

    Parameters
    ----------
    launchpad : LaunchPad
        The campaign's LaunchPad.
    expiration_secs : float
        Age of the last ping, in seconds, beyond which a run is lost.
    rerun : bool, default=False
        Make lost Fireworks READY again instead of leaving them FIZZLED.

    Returns
    -------
    LostRuns
        What ``LaunchPad.detect_lostruns`` reported.
    """
    lost_launches, lost_fws, inconsistent = launchpad.detect_lostruns(
        expiration_secs=expiration_secs, fizzle=not rerun, rerun=rerun
    )
    if lost_fws:
        logger.warning("lost runs (no ping for %s s): fw_ids %s", expiration_secs, lost_fws)
    return LostRuns(list(lost_launches), list(lost_fws), list(inconsistent))
