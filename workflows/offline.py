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
   ``python -m workflows.offline ...``; same arguments as ``rlaunch``) runs the Firework from
   ``FW.json``; the job's output goes to the local file store, the final state and ``FWAction`` to
   ``FW_offline.json`` and heartbeats to ``FW_ping.json``.
3. :func:`recover_offline` (in the LaunchPad process again) copies the new outputs into the real
   JobStore and then updates the LaunchPad from the files (``lpad recover_offline`` plus outputs).

Two upstream problems are worked around here, without editing site-packages:

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
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fireworks import Firework, FWorker, LaunchPad
    from fireworks.queue.queue_adapter import QueueAdapterBase
    from jobflow import JobStore

__all__ = [
    "LOCAL_STORE_PREFIX",
    "LostRuns",
    "OfflineRecovery",
    "QueueLaunch",
    "handle_lost_runs",
    "local_job_store",
    "main",
    "patch_fireworks",
    "qlaunch",
    "recover_offline",
    "retire_stale_runs",
    "run_offline_rocket",
    "stage_job_inputs",
]

logger = logging.getLogger(__name__)

#: Files of the per-launch jobflow store: ``<prefix>.json`` (documents) and
#: ``<prefix>.<additional store name>.json`` (blobs, e.g. ``tavbo_jobstore.data.json``).
LOCAL_STORE_PREFIX = "tavbo_jobstore"
#: Which output documents were copied in for the job to read (so recovery copies only new ones).
MANIFEST_FILE = "tavbo_offline.json"
OFFLINE_FILE = "FW_offline.json"
PING_FILE = "FW_ping.json"
_TERMINAL_STATES = ("COMPLETED", "FIZZLED", "DEFUSED", "ARCHIVED")


# -- upstream workaround -------------------------------------------------------------------------


class _AtomicTextFile:
    """Write a text file under a temporary name and rename it into place on success.

    Offline jobs rewrite ``FW_offline.json`` (every task start, completion) and ``FW_ping.json``
    (every ping) while the agent may read them: with a plain ``open(path, "w")`` a reader can
    find the file empty, and ``LaunchPad.recover_offline`` then marks a healthy job FIZZLED.
    """

    def __init__(self, path: str | Path, mode: str = "wt", **kwargs: Any) -> None:
        import tempfile

        self._path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.")
        self._tmp = tmp
        os.chmod(tmp, 0o644)
        kwargs.setdefault("encoding", "utf-8")
        self._fh = os.fdopen(fd, mode.replace("t", ""), **kwargs)

    def write(self, text: str) -> int:
        return self._fh.write(text)

    def __enter__(self) -> _AtomicTextFile:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._fh.close()
        if exc_type is None:
            os.replace(self._tmp, self._path)
        else:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)


def _zopen_text_default(filename: Any, mode: str = "rt", **kwargs: Any) -> Any:
    """``monty.io.zopen`` with the text-mode default that fireworks 2.1.4 still assumes.

    Uncompressed text writes are atomic (:class:`_AtomicTextFile`).
    """
    from monty.io import zopen

    if mode in ("w", "wt") and Path(str(filename)).suffix == ".json":
        return _AtomicTextFile(filename, "wt", **kwargs)
    return zopen(filename, mode, **kwargs)


def _do_ping_atomic(launchpad: Any, launch_id: int | None) -> None:
    """FireWorks' ``do_ping``, writing ``FW_ping.json`` atomically when offline."""
    if launchpad:
        launchpad.ping_launch(launch_id)
    else:
        _write_ping(Path.cwd())


def patch_fireworks() -> None:
    """Make fireworks' offline rocket paths work with current monty (idempotent).

    ``fireworks.core.rocket`` calls ``zopen(path)`` without a mode in its offline branches; monty
    2025+ raises ``TypeError`` for that. This rebinds ``zopen`` *inside that module only* (text
    by default, JSON written atomically), and its ``do_ping`` to write ``FW_ping.json``
    atomically.
    """
    import fireworks.core.rocket as rocket

    if rocket.zopen is not _zopen_text_default:
        rocket.zopen = _zopen_text_default
    if rocket.do_ping is not _do_ping_atomic:
        rocket.do_ping = _do_ping_atomic


# -- the local jobflow store of one launch directory ---------------------------------------------


class _FileStores(dict):
    """Additional stores of a local JobStore: one JSON file per name, created on first use."""

    def __init__(self, directory: Path, read_only: bool) -> None:
        super().__init__()
        self._directory = directory
        self._read_only = read_only

    def __missing__(self, name: str) -> Any:
        from maggma.stores import JSONStore

        store = JSONStore(
            str(self._directory / f"{LOCAL_STORE_PREFIX}.{name}.json"),
            read_only=self._read_only,
            key="blob_uuid",
        )
        store.connect()
        self[name] = store
        return store

    def open_existing(self) -> None:
        """Open every ``tavbo_jobstore.<name>.json`` already in the directory."""
        prefix = f"{LOCAL_STORE_PREFIX}."
        for path in sorted(self._directory.glob(f"{prefix}*.json")):
            name = path.name[len(prefix) : -len(".json")]
            if name not in self:
                self.__missing__(name)


def local_job_store(directory: str | Path, *, read_only: bool = False) -> JobStore:
    """The jobflow store kept in the files ``tavbo_jobstore*.json`` of a launch directory.

    Parameters
    ----------
    directory : str or Path
        Launch directory of one offline job.
    read_only : bool, default=False
        Read the files without writing them back (used when recovering).

    Returns
    -------
    JobStore
        Connected; documents in ``tavbo_jobstore.json``, each additional store ``NAME`` (for
        example ``data``) in ``tavbo_jobstore.NAME.json``, created when first written.
    """
    from jobflow import JobStore
    from maggma.stores import JSONStore

    directory = Path(directory)
    docs_path = directory / f"{LOCAL_STORE_PREFIX}.json"
    if read_only and not docs_path.exists():
        raise FileNotFoundError(f"no offline job store in {directory} ({docs_path.name})")
    docs = JSONStore(str(docs_path), read_only=read_only, key="uuid")
    additional = _FileStores(directory, read_only)
    additional.open_existing()
    store = JobStore(docs, additional_stores=additional)
    store.connect()
    return store


def _job_of(fw: Firework) -> Any:
    """The jobflow Job inside a Firework built by ``flow_to_workflow``, or None."""
    from jobflow import Job

    for task in fw.tasks:
        job = task.get("job") if hasattr(task, "get") else None
        if isinstance(job, Job):
            return job
        if isinstance(job, dict) and job.get("@class") == "Job":
            return Job.from_dict(job)
    return None


def _strip_ids(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for doc in docs:
        doc.pop("_id", None)
    return docs


def stage_job_inputs(fw: Firework, store: JobStore, directory: str | Path) -> list[str]:
    """Copy the outputs a jobflow Firework reads from ``store`` into the launch directory.

    Parameters
    ----------
    fw : Firework
        A Firework made by ``flow_to_workflow`` (its task holds a jobflow ``Job``).
    store : JobStore
        The campaign's JobStore (reachable from this process).
    directory : str or Path
        The launch directory; gets ``tavbo_jobstore*.json`` and ``tavbo_offline.json``.

    Returns
    -------
    list of str
        The uuids of the jobs whose outputs were copied (empty for a job without references).
    """
    directory = Path(directory)
    job = _job_of(fw)
    uuids = sorted(set(job.input_uuids)) if job is not None else []
    local = local_job_store(directory)
    if uuids:
        store.connect()
        docs = _strip_ids(list(store.docs_store.query({"uuid": {"$in": uuids}})))
        missing = set(uuids) - {d["uuid"] for d in docs}
        if missing:
            logger.warning("fw_id %s: no outputs yet for inputs %s", fw.fw_id, sorted(missing))
        if docs:
            local.docs_store.update(docs, key=["uuid", "index"])
        for name, main_blobs in store.additional_stores.items():
            blobs = _strip_ids(list(main_blobs.query({"job_uuid": {"$in": uuids}})))
            if blobs:
                local.additional_stores[name].update(blobs, key="blob_uuid")
    manifest = {"fw_id": fw.fw_id, "job_uuid": job.uuid if job is not None else None}
    manifest["staged_uuids"] = uuids
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    return uuids


def _import_job_outputs(directory: Path, store: JobStore) -> int:
    """Copy outputs written offline in ``directory`` into ``store``; return the number of docs."""
    if not (directory / f"{LOCAL_STORE_PREFIX}.json").exists():
        return 0
    staged: set[str] = set()
    if (directory / MANIFEST_FILE).exists():
        staged = set(json.loads((directory / MANIFEST_FILE).read_text())["staged_uuids"])
    local = local_job_store(directory, read_only=True)
    query = {"uuid": {"$nin": sorted(staged)}}
    docs = _strip_ids(list(local.docs_store.query(query)))
    store.connect()
    if docs:
        store.docs_store.update(docs, key=["uuid", "index"])
    for name, blob_store in local.additional_stores.items():
        blobs = _strip_ids(list(blob_store.query({"job_uuid": {"$nin": sorted(staged)}})))
        if not blobs:
            continue
        try:
            target = store.additional_stores[name]
        except KeyError:
            from workflows.errors import ConfigError

            raise ConfigError(
                f"offline job in {directory} wrote to additional store {name!r}, which the "
                f"JobStore lacks (has {sorted(store.additional_stores)}); add it to jobflow.yaml"
            ) from None
        target.update(blobs, key="blob_uuid")
    return len(docs)


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
    :mod:`workflows.resources`) overrides ``qadapter`` for its job. When ``rocket_launch``
    contains ``--offline``, the job's jobflow inputs are copied from ``store`` into the launch
    directory, so the job needs neither the LaunchPad nor the JobStore.

    Parameters
    ----------
    launchpad : LaunchPad
        The campaign's LaunchPad (embedded or real).
    qadapter : QueueAdapterBase
        E.g. ``CommonAdapter.from_file("my_qadapter.yaml")``; ``rocket_launch`` must contain
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
    launched: list[QueueLaunch] = []
    with _staging_hook(store if offline else None):
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
                raise SubmissionError(
                    "queue submission failed (see the FireWorks log above); check the queue "
                    "adapter, the scheduler (sinfo/qstat) and the per-job _queueadapter settings"
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


# -- compute-node side: run the rocket -----------------------------------------------------------


def _write_ping(directory: Path) -> None:
    now = datetime.datetime.now(datetime.UTC).isoformat()
    with _AtomicTextFile(directory / PING_FILE) as fh:
        fh.write(json.dumps({"ping_time": now}))


@contextlib.contextmanager
def _jobflow_offline(directory: Path) -> Iterator[JobStore]:
    """Run jobflow Fireworks against the launch directory's file store, whatever their spec says.

    ``JobFiretask`` uses the store serialised in its parameters if any, else
    ``jobflow.SETTINGS.JOB_STORE``; both point at the database. The store is swapped for the
    local one while the task runs; new jobs it creates (detours, additions) keep the original.
    """
    import jobflow
    from jobflow.managers.fireworks import JobFiretask

    local = local_job_store(directory)
    original_settings_store = jobflow.SETTINGS.JOB_STORE
    original_run_task = JobFiretask.run_task

    def run_task(self: JobFiretask, fw_spec: dict[str, Any]) -> Any:
        task_store = self.get("store")
        self["store"] = None  # -> SETTINGS.JOB_STORE, the local store
        try:
            action = original_run_task(self, fw_spec)
        finally:
            self["store"] = task_store
        for wf in [*(action.detours or []), *(action.additions or [])]:
            for new_fw in wf.fws:
                for task in new_fw.tasks:
                    if isinstance(task, JobFiretask) and task.get("store") is None:
                        task["store"] = task_store
        return action

    jobflow.SETTINGS.JOB_STORE = local
    JobFiretask.run_task = run_task
    try:
        yield local
    finally:
        JobFiretask.run_task = original_run_task
        jobflow.SETTINGS.JOB_STORE = original_settings_store


def run_offline_rocket(
    directory: str | Path = ".", fworker: FWorker | None = None, fw_id: int | None = None
) -> bool:
    """Run the Firework in ``directory/FW.json`` offline, in this process.

    This is what ``tavbo-rlaunch singleshot --offline`` does on a compute node; tests call it
    directly. Nothing here opens a database connection.

    Parameters
    ----------
    directory : str or Path, default="."
        Launch directory prepared by :func:`qlaunch` (``FW.json``, ``FW_offline.json``).
    fworker : FWorker, optional
        Passed to the Rocket (its ``env`` reaches the tasks as ``_fw_env``).
    fw_id : int, optional
        Informational (the Firework comes from ``FW.json``).

    Returns
    -------
    bool
        What ``Rocket.run`` returns: True when a Firework ran (completed or fizzled).
    """
    import threading

    from fireworks.core.fworker import FWorker
    from fireworks.core.rocket_launcher import launch_rocket

    patch_fireworks()
    directory = Path(directory).resolve()
    before = set(threading.enumerate())
    with contextlib.chdir(directory), _jobflow_offline(directory):
        _write_ping(directory)
        ran = bool(launch_rocket(None, fworker or FWorker(), fw_id, strm_lvl="INFO"))
        # The rocket's ping thread pings once more after the rocket stops, into the *current*
        # directory: let it finish before leaving this one.
        for thread in set(threading.enumerate()) - before:
            thread.join(timeout=30)
    return ran


def main(argv: Sequence[str] | None = None) -> int:
    """``tavbo-rlaunch``: FireWorks' ``rlaunch`` with working offline mode and jobflow outputs.

    Takes exactly ``rlaunch``'s arguments (``-c CONFIG_DIR``, ``-w FWORKER``,
    ``singleshot [--offline] [--fw_id N]``, ``rapidfire``, ...). Without ``--offline`` it is plain
    ``rlaunch``. With ``singleshot --offline`` no database connection is made: the embedded-store
    variable ``MONGOMOCK_SERVERSTORE_FILE`` is cleared so that nothing can touch that file, and
    jobflow reads and writes ``tavbo_jobstore*.json`` in the working directory.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    offline = "singleshot" in args and "--offline" in args
    if offline and not (Path.cwd() / "FW.json").exists():
        sys.stderr.write(
            f"tavbo-rlaunch: error: no FW.json in {Path.cwd()}; an offline rocket runs in the "
            "launch directory that the queue launcher prepared (its job script cd's there)\n"
        )
        return 2
    if offline:
        _cut_database_settings()  # before fireworks is imported
    patch_fireworks()
    from fireworks.scripts.rlaunch_run import rlaunch

    if not offline:
        return int(rlaunch(args) or 0)
    with _jobflow_offline(Path.cwd()):
        _write_ping(Path.cwd())
        return int(rlaunch(args) or 0)


def _cut_database_settings() -> None:
    """Make sure an offline job process cannot find a database to talk to.

    FireWorks reads ``MONGOMOCK_SERVERSTORE_FILE`` once, at import: cleared here, nothing can
    open (or, at exit, overwrite) the embedded store. ``TAVBO_LAUNCHPAD_FILE`` and FireWorks'
    ``LAUNCHPAD_LOC`` are what :mod:`workflows.ingest` would open to record a result; without
    them its ``record barrier`` job leaves the result in its output for the agent to ingest.
    ``TAVBO_OFFLINE=1`` tells tavbo code that it runs offline.
    """
    os.environ["MONGOMOCK_SERVERSTORE_FILE"] = ""
    os.environ.pop("TAVBO_LAUNCHPAD_FILE", None)
    os.environ["TAVBO_OFFLINE"] = "1"
    import fireworks.fw_config as fw_config

    fw_config.LAUNCHPAD_LOC = None


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


if __name__ == "__main__":
    raise SystemExit(main())
