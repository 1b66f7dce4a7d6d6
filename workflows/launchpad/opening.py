"""Open the FireWorks LaunchPad that tavbo uses: a real MongoDB or the embedded SQLite store.

:func:`open_launchpad` returns a :class:`TavboLaunchPad`, a FireWorks ``LaunchPad`` whose single
database client is shared with the jobflow ``JobStore`` (:attr:`TavboLaunchPad.job_store`) and
with mongoengine (alias :data:`DB_ALIAS`, used by :mod:`workflows.results.documents`). A process
has at most one open at a time; opening the same configuration again returns it.

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
* the store is a SQLite file in WAL mode (:mod:`workflows.launchpad.sqlite_store`): mongomock
  journals which documents change (:mod:`workflows.launchpad.tracking`) and a checkpoint writes
  just those, in one transaction, after every LaunchPad method that changes FireWorks state,
  after results are written, at close, at exit, and on SIGINT/SIGTERM before the process dies
  by that signal. A kill at any byte leaves the last committed checkpoint;
* at open, temp files of interrupted writes are removed, the store is checked (an empty,
  truncated or corrupt one is refused, naming the last good backup) and backed up
  (``<store>.backup``); a JSON store of an earlier tavbo is imported once and kept;
* at open, RUNNING fireworks are lost runs by definition (their owner died): they are
  recorded (a dead process counts as an attempt) and re-queued, and RESERVED ones get their
  reservation cancelled; offline queue jobs in flight (a batch job holds them, not this process)
  are left alone. A MongoDB LaunchPad runs the same recovery at open, with FireWorks'
  expiration (``TAVBO_LOSTRUN_EXPIRATION``, 4 h) instead of the store lock's proof.

Read-only commands use ``open_launchpad(read_only=True)``: a consistent snapshot of the last
checkpoint (one SQLite read transaction, no lock, while the owner keeps writing), never written
back.

This module opens the LaunchPad; the pieces live in :mod:`workflows.launchpad.tavbo_launchpad` (the
class, checkpoints, lost runs, closing, the current LaunchPad), :mod:`workflows.launchpad.hooks`
(the checkpointed FireWorks methods, the client-class swap), :mod:`workflows.launchpad.config` (the
YAML file), :mod:`workflows.launchpad.embedded` (the lock, legacy JSON import) and
:mod:`workflows.launchpad.stores` (the JobStore's maggma stores).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fireworks import LaunchPad

from workflows.errors import ConfigError, DatabaseError
from workflows.launchpad.config import load_launchpad_config, redact
from workflows.launchpad.embedded import StoreLock, load_legacy_json
from workflows.launchpad.hooks import client_factory
from workflows.launchpad.sqlite_store import SqliteStore, clean_temp_files, read_snapshot
from workflows.launchpad.tavbo_launchpad import (
    OPEN_LOCK,
    TavboLaunchPad,
    current_launchpad,
    set_current,
)
from workflows.launchpad.tracking import TrackedServerStore, track_in_place_updates
from workflows.settings import WorkflowSettings

__all__ = [
    "open_launchpad",
    "using_launchpad",
]

logger = logging.getLogger(__name__)


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
        Embedded: load a consistent snapshot of the last checkpoint without taking the lock
        (what ``tavbo barriers`` does, also while an owner writes); nothing is ever written
        back. If this process owns that store, the owner is returned instead (live data).
        MongoDB: no recovery of lost runs at open.
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
    settings = settings or WorkflowSettings()
    updates: dict[str, Any] = {}
    if launchpad_file is not None:
        updates["launchpad_file"] = Path(launchpad_file)
    elif store_path is not None:
        updates = {"launchpad_file": None, "embedded_store": Path(store_path)}
    if updates:
        settings = settings.model_copy(update=updates)
    key = _key(settings)
    with OPEN_LOCK:
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
            lp.read_only = read_only
        else:
            signals = settings.handle_signals if handle_signals is None else handle_signals
            lp = _open_embedded(settings, key, read_only=read_only, handle_signals=signals)
        set_current(lp)
        if not lp.read_only:
            lp.initialize()
    if not lp.read_only:
        try:  # the same recovery in both modes; the store lock proves sole ownership
            if lp.mode == "embedded":
                lp.lost_fw_ids = lp.recover_lost_runs(0, sole_owner=True)
            else:
                lp.lost_fw_ids = lp.recover_lost_runs(settings.lostrun_expiration)
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

    path, legacy = settings.store_path, settings.legacy_store_path
    lock = None
    store: SqliteStore | None = None
    restore: Callable[[], None] | None = None
    track_in_place_updates()
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = StoreLock(path)
        lock.acquire()
    try:
        if read_only:
            data = _read_only_data(path, legacy)
        else:
            store = _owner_store(path, legacy, settings.store_sync)
            data = store.load()
            store.backup()  # the last good state, named when a later open finds the file broken
        server_store = TrackedServerStore()
        for (db, coll), docs in data.items():
            server_store.load(db, coll, docs)
        client = mongomock.MongoClient(_store=server_store)
        mongomock.gridfs.enable_gridfs_integration()  # LaunchPad builds a GridFS fallback

        def shared_client(*args: Any, **kwargs: Any) -> Any:
            return client

        with client_factory(shared_client) as restore:
            lp = TavboLaunchPad(name=settings.db_name, strm_lvl=settings.fireworks_log_level)
            if read_only:
                restore()
        lp._tavbo_init(settings, key)
        lp.mode, lp.read_only, lp.store_path = "embedded", read_only, path
        lp._server_store = server_store
        server_store.take_changes()  # what FireWorks' constructor touched is already on disk
        if not read_only:
            lp._lock, lp._sqlite = lock, store
            lp._restore_factory = restore
            atexit.register(lp._at_exit)
            if handle_signals:
                lp._install_signals()
    except BaseException:
        if restore is not None:
            restore()
        if store is not None:
            store.close()
        if lock is not None:
            lock.release()
        raise
    return lp


def _owner_store(path: Path, legacy: Path, synchronous: str) -> SqliteStore:
    """Clean temp files, create the store if there is none (importing a legacy JSON store once,
    which stays as a backup), check and open it."""
    removed = clean_temp_files(path, legacy)
    if removed:
        logger.warning(
            "removed %d temp file(s) of interrupted writes next to %s", len(removed), path
        )
    if not path.exists():
        initial = load_legacy_json(legacy) if legacy != path else {}
        SqliteStore.create(path, initial)
        if initial:
            n = sum(len(docs) for docs in initial.values())
            logger.warning(
                "imported %d documents of %s into %s (kept as a backup)", n, legacy, path
            )
    return SqliteStore.open(path, synchronous)


def _read_only_data(path: Path, legacy: Path) -> dict[tuple[str, str], list[tuple[Any, dict]]]:
    """A consistent snapshot for a reader: the SQLite store, else a legacy JSON store, or {}."""
    if path.exists():
        return read_snapshot(path)
    if legacy != path and legacy.exists():
        return {
            where: [(doc.get("_id"), doc) for doc in docs]
            for where, docs in load_legacy_json(legacy).items()
        }
    return {}


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
        with client_factory(pymongo.MongoClient) as restore:
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
