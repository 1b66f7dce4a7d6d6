"""Open the FireWorks LaunchPad that tavbo uses: a real MongoDB or the embedded JSON store.

:func:`open_launchpad` returns a :class:`TavboLaunchPad`, a FireWorks ``LaunchPad`` whose single
database client is shared with the jobflow ``JobStore`` (:attr:`TavboLaunchPad.job_store`) and
with mongoengine (alias :data:`DB_ALIAS`, used by :mod:`workflows.documents`). A process has at
most one open at a time; opening the same configuration again returns it.

**MongoDB** (``TAVBO_LAUNCHPAD_FILE``, a ``my_launchpad.yaml``): a malformed file raises a
one-line :class:`~workflows.errors.ConfigError`; a host that cannot be reached raises
:class:`~workflows.errors.DatabaseError` after ``serverSelectionTimeoutMS`` (3 s unless the file
sets it). Messages never contain the password.

**Embedded** (default): FireWorks' mongomock mode keeps the database in memory and, left alone,
writes it back only at interpreter exit, non-atomically, from every client (last writer wins;
SIGTERM saves nothing). So here one process *owns* the store file:

* a lock file ``<store>.lock`` (``fcntl.flock``, holding the owner's pid) makes a second writer
  fail at once with a :class:`~workflows.errors.LockError` naming that pid;
* one ``mongomock.MongoClient`` over one server store, built here and handed to FireWorks by
  swapping ``fireworks.core.launchpad.MongoClient`` for a factory while the owner is open (so any
  other ``LaunchPad`` made in the process sees the same data instead of a stale copy). This works
  whatever the import order; FireWorks' own ``MONGOMOCK_SERVERSTORE_FILE`` switch is not needed
  (that variable is still honoured as the default store path);
* the store is checkpointed atomically (serialise, write a temp file, fsync, ``os.replace``)
  after every LaunchPad method that changes FireWorks state, after results are written, at
  close, at exit, and on SIGINT/SIGTERM before the process dies by that signal;
* at open, RUNNING fireworks are lost runs by definition (their owner died) and are re-queued,
  and RESERVED ones get their reservation cancelled; offline queue jobs in flight (a batch job
  holds them, not this process) are left alone.

The checkpoint format is mongomock-persistence's: ``bson.json_util`` JSON of
``{db: {collection: {"name": ..., "documents": [[_id, doc], ...]}}}`` (indexes are not kept;
FireWorks and mongoengine rebuild theirs). Read-only commands use
``open_launchpad(read_only=True)``: the last checkpoint, no lock, never written back. The
pieces live in :mod:`workflows.launchpad_config` (the YAML file), :mod:`workflows.embedded`
(lock and checkpoint files) and :mod:`workflows.stores` (the JobStore's maggma stores).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fireworks import LaunchPad

from workflows.embedded import (
    CheckpointInfo,
    StoreLock,
    dumps_store,
    load_checkpoint,
    server_store_from_dict,
    server_store_to_dict,
    write_atomic,
)
from workflows.errors import ConfigError, DatabaseError
from workflows.launchpad_config import LaunchpadConfig, load_launchpad_config, redact
from workflows.settings import WorkflowSettings
from workflows.stores import SharedGridFSStore, SharedMongoStore

__all__ = [
    "BARRIERS_COLLECTION",
    "DB_ALIAS",
    "CheckpointInfo",
    "LaunchpadConfig",
    "StoreLock",
    "TavboLaunchPad",
    "current_launchpad",
    "load_checkpoint",
    "load_launchpad_config",
    "open_launchpad",
    "using_launchpad",
]

logger = logging.getLogger(__name__)

#: mongoengine alias bound to the current LaunchPad's client (``meta = {"db_alias": DB_ALIAS}``).
DB_ALIAS = "tavbo"
#: Collection of :class:`workflows.documents.BarrierDocument` in the LaunchPad's database.
BARRIERS_COLLECTION = "barriers"

_CURRENT: TavboLaunchPad | None = None
_OPEN_LOCK = threading.RLock()


# --------------------------------------------------------------------------- LaunchPad


_CHECKPOINTED_METHODS = (
    "add_wf",
    "append_wf",
    "archive_wf",
    "bulk_add_wfs",
    "cancel_reservation",
    "change_launch_dir",
    "checkout_fw",
    "complete_launch",
    "defuse_fw",
    "defuse_wf",
    "delete_fws",
    "delete_wf",
    "detect_lostruns",
    "detect_unreserved",
    "maintain",
    "mark_fizzled",
    "pause_fw",
    "pause_wf",
    "recover_offline",
    "reignite_fw",
    "reignite_wf",
    "reserve_fw",
    "rerun_fw",
    "resume_fw",
    "set_priority",
    "update_spec",
)


class TavboLaunchPad(LaunchPad):
    """A FireWorks LaunchPad plus the job store, results binding and (embedded) persistence.

    Make one with :func:`open_launchpad`, not directly. On the embedded store every LaunchPad
    method that changes FireWorks state checkpoints the store when it returns (once, for the
    outermost call). Use as a context manager to close it.

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
        self._restore_factory: Callable[[], None] | None = None
        self._prev_handlers: dict[int, Any] = {}
        self.job_store = JobStore(
            SharedMongoStore.over(self.db[settings.outputs_collection]),
            additional_stores={"data": SharedGridFSStore.over(self.db, settings.data_collection)},
        )

    # -- persistence -------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def checkpoint(self) -> CheckpointInfo | None:
        """Write the embedded store to its file atomically; no-op on MongoDB or a snapshot.

        Returns
        -------
        CheckpointInfo or None
            Path, size (bytes) and time (s) of the write; None when nothing was written.
        """
        if self.mode != "embedded" or self.read_only or self._server_store is None:
            return None
        if self._closed:
            raise DatabaseError(f"LaunchPad on {self.store_path} is closed")
        with self._ckpt_lock:
            start = time.perf_counter()
            for attempt in range(5):  # a rocket's ping thread may change a dict meanwhile
                try:
                    text = dumps_store(server_store_to_dict(self._server_store))
                    break
                except RuntimeError:
                    if attempt == 4:
                        raise
            assert self.store_path is not None
            write_atomic(self.store_path, text)
            info = CheckpointInfo(self.store_path, len(text), time.perf_counter() - start)
            self.last_checkpoint = info
        logger.debug("checkpoint %s: %d bytes in %.3f s", info.path, info.size, info.seconds)
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

    def active_offline_launch_ids(self) -> list[int]:
        """Launch ids of offline queue jobs in flight (offline runs neither completed nor
        deprecated); their state comes from their files (``workflows.offline.recover_offline``).
        """
        runs = self.offline_runs.find({"completed": False, "deprecated": False}, {"launch_id": 1})
        return sorted({run["launch_id"] for run in runs})

    def recover_lost_runs(self, expiration_secs: float) -> list[int]:
        """Re-queue RUNNING fireworks not pinged for ``expiration_secs``; return their fw_ids.

        The embedded owner calls this with 0 at open (no rocket of this store can run in
        another process), which also cancels the reservations of RESERVED fireworks and clears
        workflow locks. On MongoDB, use FireWorks' expiration (``RUN_EXPIRATION_SECS``, 4 h) or
        longer than your longest job without pings, or live runs on other machines are rerun.

        Offline queue jobs still in flight (:meth:`active_offline_launch_ids`) are left alone,
        RESERVED (queued) or RUNNING: they run without the database, and only their files tell
        whether they live. :func:`workflows.offline.recover_offline` copies their pings and
        :func:`workflows.offline.handle_lost_runs` judges them.
        """
        in_queue = self.active_offline_launch_ids()
        if self.mode == "embedded":  # no other process can hold a lock or a reservation
            self.workflows.update_many({"locked": {"$exists": True}}, {"$unset": {"locked": ""}})
            for launch_id in self.detect_unreserved(expiration_secs=expiration_secs):
                if launch_id not in in_queue:
                    self.cancel_reservation(launch_id)
        _, lost, _ = self.detect_lostruns(
            expiration_secs=expiration_secs,
            rerun=True,
            launch_query={"launch_id": {"$nin": in_queue}},
        )
        if lost:
            logger.warning("re-queued %d lost firework(s): fw_ids %s", len(lost), sorted(lost))
        if in_queue:
            logger.info("left %d offline queue job(s) in flight alone", len(in_queue))
        return sorted(lost)

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Checkpoint (embedded owner), release the lock and the client; idempotent."""
        global _CURRENT
        if self._closed:
            return
        with _OPEN_LOCK:
            try:
                self.checkpoint()
            finally:
                self._closed = True
                with contextlib.suppress(Exception):
                    atexit.unregister(self._at_exit)
                self._restore_signals()
                if self._restore_factory is not None:
                    self._restore_factory()
                    self._restore_factory = None
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


def _checkpointed(name: str) -> Callable[..., Any]:
    base = getattr(LaunchPad, name)

    def method(self: TavboLaunchPad, *args: Any, **kwargs: Any) -> Any:
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            return base(self, *args, **kwargs)
        finally:
            self._depth -= 1
            if self._depth == 0 and not getattr(self, "_closed", True):
                self.checkpoint()

    method.__name__ = name
    method.__qualname__ = f"TavboLaunchPad.{name}"
    method.__doc__ = base.__doc__
    return method


for _name in _CHECKPOINTED_METHODS:
    setattr(TavboLaunchPad, _name, _checkpointed(_name))


# --------------------------------------------------------------------------- opening


@contextlib.contextmanager
def _client_factory(factory: Callable[..., Any]) -> Iterator[Callable[[], None]]:
    """Swap the client class FireWorks' LaunchPad instantiates; yield a restore function."""
    import fireworks.core.launchpad as fw_launchpad

    previous = fw_launchpad.MongoClient
    fw_launchpad.MongoClient = factory
    restored = False

    def restore() -> None:
        nonlocal restored
        if not restored:
            fw_launchpad.MongoClient = previous
            restored = True

    try:
        yield restore
    except BaseException:
        restore()
        raise


def current_launchpad() -> TavboLaunchPad | None:
    """The LaunchPad open in this process, if any."""
    return _CURRENT if _CURRENT is not None and not _CURRENT.closed else None


def _key(settings: WorkflowSettings) -> tuple[str, str]:
    if settings.launchpad_file:
        return ("mongodb", str(Path(settings.launchpad_file).expanduser().resolve()))
    return ("embedded", str(settings.store_path))


def open_launchpad(
    settings: WorkflowSettings | None = None,
    *,
    launchpad_file: str | Path | None = None,
    store_path: str | Path | None = None,
    read_only: bool = False,
    handle_signals: bool | None = None,
) -> TavboLaunchPad:
    """Open (or return the already open) LaunchPad of this process.

    Parameters
    ----------
    settings : WorkflowSettings, optional
        Default: read from ``TAVBO_*`` environment variables.
    launchpad_file : path, optional
        MongoDB ``my_launchpad.yaml``; overrides the settings.
    store_path : path, optional
        Embedded store file; overrides the settings (ignored with a LaunchPad file).
    read_only : bool, default=False
        Embedded: load the last checkpoint without taking the lock (what ``tavbo barriers``
        does); nothing is ever written back. If this process owns that store, the owner is
        returned instead (live data).
    handle_signals : bool, optional
        Embedded owner: checkpoint on SIGINT/SIGTERM, then die by the signal. Default from
        the settings (True).

    Raises
    ------
    ConfigError
        Malformed LaunchPad file or connection options.
    DatabaseError
        MongoDB unreachable or refusing the credentials; embedded store unreadable; another
        LaunchPad already open in this process.
    LockError
        Another process owns the embedded store.
    """
    global _CURRENT
    settings = settings or WorkflowSettings()
    updates: dict[str, Any] = {}
    if launchpad_file is not None:
        updates["launchpad_file"] = Path(launchpad_file)
    elif store_path is not None:
        updates = {"launchpad_file": None, "embedded_store": Path(store_path)}
    if updates:
        settings = settings.model_copy(update=updates)
    key = _key(settings)
    with _OPEN_LOCK:
        current = current_launchpad()
        if current is not None:
            if current.source == key and (read_only or not current.read_only):
                return current
            if settings.launchpad_file:  # report a bad file or host first
                _open_mongodb(settings, key).connection.close()
            raise DatabaseError(
                f"this process already has a LaunchPad open ({current.source[0]}: "
                f"{current.source[1]}); close it before opening {key[0]}: {key[1]}"
            )
        if settings.launchpad_file:
            lp = _open_mongodb(settings, key)
        else:
            signals = settings.handle_signals if handle_signals is None else handle_signals
            lp = _open_embedded(settings, key, read_only=read_only, handle_signals=signals)
        _bind_documents(lp)
        _CURRENT = lp
        if not lp.read_only:
            lp.initialize()
    if lp.mode == "embedded" and not lp.read_only:
        try:
            lp.lost_fw_ids = lp.recover_lost_runs(expiration_secs=0)
            lp.checkpoint()
        except BaseException:
            lp.close()
            raise
    return lp


@contextlib.contextmanager
def using_launchpad(
    launchpad: LaunchPad | None = None, *, read_only: bool = False
) -> Iterator[LaunchPad]:
    """Yield ``launchpad``, or the open one, or open one from the settings and close it after."""
    if launchpad is not None:
        yield launchpad
        return
    current = current_launchpad()
    lp = open_launchpad(read_only=read_only)
    try:
        yield lp
    finally:
        if lp is not current:
            lp.close()


def _open_embedded(
    settings: WorkflowSettings, key: tuple[str, str], *, read_only: bool, handle_signals: bool
) -> TavboLaunchPad:
    import mongomock
    import mongomock.gridfs

    path = settings.store_path
    lock = None
    restore: Callable[[], None] | None = None
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = StoreLock(path)
        lock.acquire()
    try:
        if not read_only and not path.exists():
            write_atomic(path, "{}")
        server_store = server_store_from_dict(load_checkpoint(path))
        client = mongomock.MongoClient(_store=server_store)
        mongomock.gridfs.enable_gridfs_integration()  # LaunchPad builds a GridFS fallback

        def shared_client(*args: Any, **kwargs: Any) -> Any:
            return client

        with _client_factory(shared_client) as restore:
            lp = TavboLaunchPad(name=settings.db_name, strm_lvl=settings.fireworks_log_level)
            if read_only:
                restore()
        lp._tavbo_init(settings, key)
        lp.mode, lp.read_only, lp.store_path = "embedded", read_only, path
        lp._server_store = server_store
        if not read_only:
            lp._lock = lock
            lp._restore_factory = restore
            atexit.register(lp._at_exit)
            if handle_signals:
                lp._install_signals()
    except BaseException:
        if restore is not None:
            restore()
        if lock is not None:
            lock.release()
        raise
    return lp


def _open_mongodb(settings: WorkflowSettings, key: tuple[str, str]) -> TavboLaunchPad:
    import pymongo
    from pymongo.errors import OperationFailure, PyMongoError

    assert settings.launchpad_file is not None
    config = load_launchpad_config(settings.launchpad_file)
    kwargs = config.launchpad_kwargs()
    kwargs["mongoclient_kwargs"].setdefault("serverSelectionTimeoutMS", settings.server_timeout_ms)
    kwargs["strm_lvl"] = kwargs.get("strm_lvl") or settings.fireworks_log_level
    where, secrets = config.where(), config.secrets()
    source = settings.launchpad_file
    try:
        with _client_factory(pymongo.MongoClient) as restore:
            lp = TavboLaunchPad(**kwargs)
            restore()
    except (PyMongoError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"bad connection settings in LaunchPad file {source}: {redact(str(exc), secrets)}"
        ) from None
    timeout = kwargs["mongoclient_kwargs"]["serverSelectionTimeoutMS"] / 1000
    try:
        lp.connection.admin.command("ping")
        lp.fireworks.find_one({}, {"_id": 1})  # needs the credentials, unlike ping
    except OperationFailure as exc:
        lp.connection.close()
        user = f" as user {config.username!r}" if config.username else ""
        raise DatabaseError(
            f"MongoDB at {where} refused access to database {lp.name!r}{user}: "
            f"{redact(str(exc).split(', full error:')[0], secrets)}"
        ) from None
    except PyMongoError as exc:
        lp.connection.close()
        reason = redact(str(exc).split(", Timeout:")[0], secrets)
        raise DatabaseError(
            f"cannot reach the MongoDB LaunchPad at {where} within {timeout:g} s ({reason}); "
            f"check host, port, network and TLS settings in {source}"
        ) from None
    lp._tavbo_init(settings, key)
    lp.mode = "mongodb"
    return lp


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
