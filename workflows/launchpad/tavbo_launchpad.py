"""TavboLaunchPad: FireWorks' LaunchPad with tavbo's job store, results and persistence.

One class, and the process-wide record of the LaunchPad that is open (a process has at most one):
:func:`current_launchpad`, and :func:`set_current`, which binds the mongoengine alias
:data:`DB_ALIAS` to its client. Opening one (MongoDB or the embedded store) is
:func:`workflows.launchpad.opening.open_launchpad`'s job; the class checkpoints, re-queues lost runs
and closes (checkpoint, lock, signals, client). Its state-changing FireWorks methods checkpoint
through :func:`workflows.launchpad.hooks.install_checkpoints`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workflows.errors import DatabaseError
from workflows.launchpad.embedded import StoreLock
from workflows.launchpad.hooks import install_checkpoints
from workflows.launchpad.lost_runs import LOST_RUNS_COLLECTION, LostRunRecovery
from workflows.launchpad.sqlite_store import CheckpointInfo, SqliteStore
from workflows.launchpad.stores import SharedGridFSStore, SharedMongoStore
from workflows.settings import WorkflowSettings

__all__ = [
    "BARRIERS_COLLECTION",
    "DB_ALIAS",
    "OPEN_LOCK",
    "TavboLaunchPad",
    "current_launchpad",
    "set_current",
]

logger = logging.getLogger(__name__)

#: mongoengine alias bound to the current LaunchPad's client (``meta = {"db_alias": DB_ALIAS}``).
DB_ALIAS = "tavbo"
#: Collection of :class:`workflows.results.documents.BarrierDocument` in the LaunchPad's database.
BARRIERS_COLLECTION = "barriers"

_CURRENT: TavboLaunchPad | None = None
#: Held while a LaunchPad is opened or closed (one current LaunchPad per process).
OPEN_LOCK = threading.RLock()


# --------------------------------------------------------------------------- LaunchPad


@install_checkpoints
class TavboLaunchPad(LostRunRecovery):
    """A FireWorks LaunchPad plus the job store, results binding, (embedded) persistence and
    lost-run recording (:class:`~workflows.launchpad.lost_runs.LostRunRecovery`).

    Make one with :func:`workflows.launchpad.opening.open_launchpad`, not directly. On the embedded
    store every LaunchPad method that changes FireWorks state checkpoints the store when it
    returns (once, for the outermost call). Use as a context manager to close it.

    Attributes
    ----------
    mode : {"embedded", "mongodb"}
    read_only : bool
        A snapshot of the embedded store: changes stay in memory and are never written.
    store_path : Path or None
        Embedded store file.
    job_store : jobflow.JobStore
        Outputs of jobflow jobs, in the same database (collections from the settings).
    source : tuple of str
        ``("embedded", store path)`` or ``("mongodb", LaunchPad file)``.
    lost_fw_ids : list of int
        Fireworks found RUNNING at open (embedded owner) and re-queued.
    last_checkpoint : CheckpointInfo or None
    """

    mode: str = "embedded"
    read_only: bool = False
    store_path: Path | None = None
    lost_fw_ids: list[int]
    last_checkpoint: CheckpointInfo | None = None

    def _tavbo_init(self, settings: WorkflowSettings, key: tuple[str, str]) -> None:
        from jobflow import JobStore

        self.settings = settings
        self.source = key
        self.lost_fw_ids = []
        self._depth = 0
        self._closed = False
        self._ckpt_lock = threading.RLock()
        self._lock: StoreLock | None = None
        self._server_store: Any = None
        self._sqlite: SqliteStore | None = None
        self._restore_factory: Callable[[], None] | None = None
        self._prev_handlers: dict[int, Any] = {}
        self.job_store = JobStore(
            SharedMongoStore.over(self.db[settings.outputs_collection]),
            additional_stores={"data": SharedGridFSStore.over(self.db, settings.data_collection)},
        )

    # -- persistence -------------------------------------------------------------------

    @property
    def owns_store(self) -> bool:
        """Whether this process holds the embedded store's lock (no other can write it)."""
        return self.mode == "embedded" and self._lock is not None and self._lock.held

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def checkpoint(self) -> CheckpointInfo | None:
        """Write what changed in the embedded store since the last checkpoint, in one SQLite
        transaction; a no-op on MongoDB or a snapshot.

        Returns
        -------
        CheckpointInfo or None
            Path, size on disk, documents and bytes written, time (s); None when nothing was
            written.
        """
        if self.mode != "embedded" or self.read_only or self._sqlite is None:
            return None
        if self._closed:
            raise DatabaseError(f"LaunchPad on {self.store_path} is closed")
        with self._ckpt_lock:
            changes = self._server_store.take_changes()
            if not changes:
                return None
            try:
                info = self._sqlite.write(changes, self._server_store)
            except BaseException:
                self._server_store.give_back(changes)  # written next time
                raise
            self.last_checkpoint = info
        logger.debug(
            "checkpoint %s: %d documents, %d bytes in %.4f s",
            info.path, info.documents, info.written, info.seconds,
        )  # fmt: skip
        return info

    def reset(self, password: str, require_password: bool = True, max_reset_wo_password: int = 25):
        """FireWorks' reset, which also empties tavbo's results and job-store collections."""
        super().reset(password, require_password, max_reset_wo_password)
        data = self.settings.data_collection
        for name in (
            self.settings.outputs_collection,
            f"{data}.files",
            f"{data}.chunks",
            BARRIERS_COLLECTION,
            LOST_RUNS_COLLECTION,
        ):
            self.db[name].delete_many({})
        self.checkpoint()

    def initialize(self) -> bool:
        """Set up the fw_id counters of a new database (what ``lpad reset`` does first).

        Only when there are no counters and no fireworks; returns whether it did anything.
        """
        if self.fw_id_assigner.find_one() is not None or self.fireworks.find_one() is not None:
            return False
        self.fw_id_assigner.find_one_and_replace(
            {"_id": -1}, {"next_fw_id": 1, "next_launch_id": 1}, upsert=True
        )
        self.tuneup()
        logger.info("initialised a new LaunchPad database %r", self.db.name)
        return True

    def ping_launch(self, launch_id: int, ptime: Any = None, checkpoint: Any = None) -> None:
        """FireWorks' ping, except that a launch it cannot read is skipped instead of raising.

        A rocket pings from a thread. On the embedded store (mongomock, not thread-safe) a
        launch being replaced by the main thread can be briefly missing, and FireWorks' ping
        then raises ``ValueError`` (or ``RuntimeError`` when mongomock copies a launch that is
        changing). That kills the ping thread, and with it the pings that keep a
        long job from being judged lost. A missed ping is harmless: the next one comes
        ``PING_TIME_SECS`` later.
        """
        try:
            super().ping_launch(launch_id, ptime=ptime, checkpoint=checkpoint)
        except ValueError as exc:
            if "No Launch exists" not in str(exc):
                raise
            logger.debug("ping of launch %s skipped: %s", launch_id, exc)
        except RuntimeError as exc:  # mongomock copied a launch the main thread was changing
            if "during iteration" not in str(exc):
                raise
            logger.debug("ping of launch %s skipped: %s", launch_id, exc)

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Checkpoint and back up (embedded owner), release the lock and the client; idempotent."""
        global _CURRENT
        if self._closed:
            return
        with OPEN_LOCK:
            try:
                self.checkpoint()
                if self._sqlite is not None:  # the state just committed is the last good one
                    self._sqlite.backup()
            finally:
                self._closed = True
                with contextlib.suppress(Exception):
                    atexit.unregister(self._at_exit)
                self._restore_signals()
                if self._restore_factory is not None:
                    self._restore_factory()
                    self._restore_factory = None
                if self._sqlite is not None:
                    self._sqlite.close()
                    self._sqlite = None
                if self._lock is not None:
                    self._lock.release()
                if _CURRENT is self:
                    import mongoengine

                    mongoengine.disconnect(DB_ALIAS)  # also closes a pymongo client
                    _CURRENT = None
                elif self.mode == "mongodb":
                    self.connection.close()

    def __enter__(self) -> TavboLaunchPad:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _at_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._prev_handlers[signum] = signal.signal(signum, self._on_signal)

    def _restore_signals(self) -> None:
        for signum, handler in self._prev_handlers.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)
        self._prev_handlers = {}

    def _on_signal(self, signum: int, frame: Any) -> None:
        """Checkpoint, then die by the same signal.

        An interrupted firework stays RUNNING in the checkpoint and is re-queued at the next
        open. Letting KeyboardInterrupt unwind through a Rocket instead would mark it FIZZLED,
        a false failure record.
        """
        try:
            info = self.checkpoint()
            logger.warning("signal %d: checkpointed %s", signum, info.path if info else "-")
        except Exception:  # dying anyway; never mask the signal
            logger.exception("checkpoint on signal %d failed", signum)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        if self._lock is not None:
            self._lock.release()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    @contextlib.contextmanager
    def jobflow_store_active(self) -> Iterator[None]:
        """Make :attr:`job_store` jobflow's ``SETTINGS.JOB_STORE`` (what ``JobFiretask``
        uses when a workflow was built with ``store=None``), restoring the previous one."""
        from jobflow import SETTINGS

        previous = SETTINGS.JOB_STORE
        SETTINGS.JOB_STORE = self.job_store
        try:
            yield
        finally:
            SETTINGS.JOB_STORE = previous


# --------------------------------------------------------------------------- current LaunchPad


def current_launchpad() -> TavboLaunchPad | None:
    """The LaunchPad open in this process, if any."""
    return _CURRENT if _CURRENT is not None and not _CURRENT.closed else None


def set_current(lp: TavboLaunchPad) -> None:
    """Make ``lp`` the process's LaunchPad and bind :data:`DB_ALIAS` to its client.

    Call under :data:`OPEN_LOCK`; :meth:`TavboLaunchPad.close` undoes both.
    """
    global _CURRENT
    _bind_documents(lp)
    _CURRENT = lp


def _bind_documents(lp: TavboLaunchPad) -> None:
    """Register :data:`DB_ALIAS` with mongoengine on the LaunchPad's own client."""
    import mongoengine

    client = lp.connection
    mongoengine.disconnect(DB_ALIAS)
    mongoengine.connect(
        db=lp.db.name,
        alias=DB_ALIAS,
        mongo_client_class=lambda **_: client,
        uuidRepresentation="standard",
    )
