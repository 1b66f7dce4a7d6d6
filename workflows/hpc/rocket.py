"""Compute-node side of FireWorks offline mode: ``tavbo-rlaunch`` and the rocket it runs.

On the compute node, ``tavbo-rlaunch -c CONFIG_DIR singleshot --offline --fw_id N`` (:func:`main`,
also ``python -m workflows.hpc.rocket ...``; same arguments as ``rlaunch``) runs the Firework from
``FW.json`` in the launch directory that :func:`workflows.hpc.offline.qlaunch` prepared, without any
database connection: the job's jobflow outputs go to the directory's file store
(:mod:`workflows.hpc.offline_store`), the final state and ``FWAction`` to ``FW_offline.json`` and
heartbeats to ``FW_ping.json``. :func:`run_offline_rocket` does the same in this process.

:func:`patch_fireworks` works around fireworks 2.1.4 calling ``monty.io.zopen(path)`` without a
mode in its offline paths (see :mod:`workflows.hpc.offline`). The ``tavbo-rlaunch`` entry point
is ``workflows.hpc.rocket:main``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflows.hpc.offline_store import PING_FILE, local_job_store

if TYPE_CHECKING:
    from fireworks import FWorker
    from jobflow import JobStore

__all__ = ["main", "patch_fireworks", "run_offline_rocket"]


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

    FireWorks reads ``MONGOMOCK_SERVERSTORE_FILE`` once, at import: cleared here, nothing can open
    (or, at exit, overwrite) the embedded store. ``TAVBO_LAUNCHPAD_FILE`` and FireWorks'
    ``LAUNCHPAD_LOC`` are what :mod:`workflows.results.ingest` would open to record a result;
    without them its ``record barrier`` job leaves the result in its output for the agent to ingest.
    ``TAVBO_OFFLINE=1`` tells tavbo code that it runs offline.
    """
    os.environ["MONGOMOCK_SERVERSTORE_FILE"] = ""
    os.environ.pop("TAVBO_LAUNCHPAD_FILE", None)
    os.environ["TAVBO_OFFLINE"] = "1"
    import fireworks.fw_config as fw_config

    fw_config.LAUNCHPAD_LOC = None


if __name__ == "__main__":
    raise SystemExit(main())
