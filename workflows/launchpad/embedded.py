"""The embedded store's owner lock, and the import of the JSON stores of earlier tavbo versions.

The store itself is :mod:`workflows.launchpad.sqlite_store`. Whoever holds the lock owns the
store: it is the proof of ownership that the campaign lease relies on in embedded mode.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path

from workflows.errors import DatabaseError, LockError

__all__ = ["StoreLock", "load_legacy_json"]


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


def load_legacy_json(path: str | Path) -> dict[tuple[str, str], list[dict]]:
    """Documents of a JSON store written by tavbo before the SQLite store (mongomock-persistence's
    layout: ``{db: {collection: {"name", "documents": [[_id, doc], ...]}}}``), for a one-time
    import; a missing file gives ``{}``.

    Raises
    ------
    DatabaseError
        If the file is empty or not such a store (nothing is imported then).
    """
    from bson import json_util

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    if not text.strip():
        raise DatabaseError(
            f"embedded LaunchPad store {path} (JSON, to be imported) is empty (0 bytes); "
            "nothing was changed; move it away to start a new store"
        )
    try:
        data = json_util.loads(text)
    except ValueError as exc:
        raise DatabaseError(
            f"embedded LaunchPad store {path} (JSON, to be imported) is not valid JSON: {exc}; "
            "nothing was changed"
        ) from None
    if not isinstance(data, dict):
        raise DatabaseError(f"embedded LaunchPad store {path} does not hold a JSON object")
    return {
        (db, name): [doc for _, doc in coll.get("documents", [])]
        for db, colls in data.items()
        for name, coll in colls.items()
    }
