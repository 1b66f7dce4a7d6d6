"""The embedded store on disk: exclusive lock and atomic checkpoints of a mongomock server.

The file layout is mongomock-persistence's (what FireWorks' ``MONGOMOCK_SERVERSTORE_FILE`` mode
reads): extended JSON of ``{db: {collection: {"name": ..., "documents": [[_id, doc], ...]}}}``.
Indexes are not kept; FireWorks and mongoengine rebuild theirs. A checkpoint is written to a
temp file in the same directory, fsynced and renamed over the store, so the file on disk is
always a complete snapshot, the previous one or the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflows.errors import DatabaseError, LockError

__all__ = [
    "CheckpointInfo",
    "StoreLock",
    "dumps_store",
    "load_checkpoint",
    "server_store_from_dict",
    "server_store_to_dict",
    "write_atomic",
]


class StoreLock:
    """Exclusive ``fcntl.flock`` on ``<store>.lock``; the file holds the owner's pid and host.

    The lock dies with the process (also on SIGKILL). ``flock`` is advisory and unreliable on
    some network file systems: keep the embedded store on a local disk.
    """

    def __init__(self, store_path: str | Path) -> None:
        self.store_path = Path(store_path)
        self.path = self.store_path.with_name(self.store_path.name + ".lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockError` naming the process that holds it."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").split()
            os.close(fd)
            who = f"process {holder[0]}" if holder else "another process"
            if len(holder) > 1:
                who += f" on {holder[1]}"
            raise LockError(
                f"the embedded LaunchPad store {self.store_path} is in use by {who} "
                f"(lock {self.path}); only one process may write it: wait for that process to "
                "finish or stop it, or set TAVBO_LAUNCHPAD_FILE to a MongoDB LaunchPad for "
                "concurrent use"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Release the lock (the lock file stays: deleting it would race with a new owner)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


@dataclass(frozen=True)
class CheckpointInfo:
    """What one checkpoint wrote: file, size in bytes, seconds spent."""

    path: Path
    size: int
    seconds: float


def server_store_to_dict(store: Any) -> dict[str, Any]:
    """Shallow snapshot of a mongomock ServerStore in mongomock-persistence's layout."""
    return {
        db_name: {
            name: {"name": coll.name, "documents": list(coll._documents.items())}
            for name, coll in list(db._collections.items())
        }
        for db_name, db in list(store._databases.items())
    }


def server_store_from_dict(data: dict[str, Any]) -> Any:
    """Build a ServerStore from a checkpoint, bypassing mongomock-persistence's ``__init__``
    (which reads ``MONGOMOCK_SERVERSTORE_FILE`` and registers an unsafe at-exit writer)."""
    from mongomock.store import CollectionStore, DatabaseStore, ServerStore

    store = ServerStore.__new__(ServerStore)
    store._databases = {}
    for db_name, colls in data.items():
        db = DatabaseStore.__new__(DatabaseStore)
        db._collections = {}
        for name, coll_data in colls.items():
            coll = CollectionStore(coll_data.get("name", name))
            coll._documents = OrderedDict((k, v) for k, v in coll_data.get("documents", []))
            db._collections[name] = coll
        store._databases[db_name] = db
    return store


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Decode an embedded store file: ``{db: {collection: {"name", "documents"}}}``.

    A missing or empty file gives ``{}``.

    Raises
    ------
    DatabaseError
        If the file is not a valid store (it was not written by tavbo's atomic checkpoint).
    """
    from bson import json_util

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    if not text.strip():
        return {}
    try:
        data = json_util.loads(text)
    except ValueError as exc:
        raise DatabaseError(f"embedded LaunchPad store {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DatabaseError(f"embedded LaunchPad store {path} does not hold a JSON object")
    return data


def dumps_store(data: dict[str, Any]) -> str:
    """Extended JSON as ``bson.json_util.dumps`` writes it, about 5 times faster.

    The C encoder handles the plain types and calls ``json_util.default`` only for BSON types
    (ObjectId, datetime, bytes, ...). A NaN or infinite float has no plain-JSON form, so a
    snapshot holding one goes through ``json_util.dumps`` (``{"$numberDouble": "NaN"}``).
    """
    from bson import json_util

    options = json_util.DEFAULT_JSON_OPTIONS
    try:
        return json.dumps(
            data,
            default=lambda obj: json_util.default(obj, options),
            allow_nan=False,
            separators=(",", ":"),
        )
    except ValueError:
        return json_util.dumps(data)


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
