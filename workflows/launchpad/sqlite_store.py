"""The embedded store on disk: one SQLite database (WAL mode) of BSON documents.

Why SQLite: it is in the standard library, a transaction is atomic and durable whatever byte a
kill interrupts (its journal is made for exactly that), WAL mode lets readers (``tavbo status``,
``barriers``, ``export``, a dashboard) read a consistent snapshot while the owner writes, and a
checkpoint is one transaction of the documents that changed (``documents`` table keyed by
database, collection and ``_id``), so its cost does not grow with the store. The documents stay
BSON (what MongoDB stores; ``bson`` comes with pymongo), so types round-trip exactly.

Layout: ``meta(key, value)`` (format, version, counters) and ``documents(db, coll, key, doc)``,
``rowid`` keeping mongomock's insertion order. A backup (``<store>.backup``, SQLite's online
backup API) is taken at every owner open once the store has been checked: the last good state.
An empty, truncated or corrupt store is refused with :class:`StoreCorruptError`, naming that backup;
:func:`workflows.launchpad.maintenance.restore_backup` puts it
back. Temp files of interrupted writes are removed at open.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflows.errors import DatabaseError
from workflows.launchpad.wal import WalFolder

__all__ = [
    "FORMAT",
    "CheckpointInfo",
    "SqliteStore",
    "StoreCorruptError",
    "backup_path",
    "clean_temp_files",
    "fsync_dir",
    "read_snapshot",
    "size_on_disk",
    "store_problem",
]

#: ``meta.format`` of a tavbo store; anything else is not one.
FORMAT = "tavbo-embedded-store"
VERSION = "1"
_HEADER = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    db TEXT NOT NULL, coll TEXT NOT NULL, key BLOB NOT NULL, doc BLOB NOT NULL,
    PRIMARY KEY (db, coll, key)
);
"""


class StoreCorruptError(DatabaseError):
    """The store file is empty, truncated or corrupt; the message names the last good backup."""


@dataclass(frozen=True)
class CheckpointInfo:
    """What one checkpoint did: store file, its size on disk (bytes, with the WAL), documents
    and bytes written, seconds spent."""

    path: Path
    size: int
    seconds: float
    documents: int = 0
    written: int = 0


def backup_path(path: Path) -> Path:
    """Where the last good state of store ``path`` is kept."""
    return path.with_name(path.name + ".backup")


def _codec() -> Any:
    from bson.binary import UuidRepresentation
    from bson.codec_options import CodecOptions

    return CodecOptions(
        document_class=dict, tz_aware=False, uuid_representation=UuidRepresentation.STANDARD
    )


def _encode(doc: dict) -> bytes:
    import bson

    return bson.encode(doc, codec_options=_codec())


def _decode(data: bytes) -> dict:
    import bson

    return bson.decode(data, codec_options=_codec())


def _key_bytes(key: Any) -> bytes:
    return _encode({"k": key})


def _store_key(doc: dict) -> Any:
    key = doc.get("_id")
    if isinstance(key, dict):
        from mongomock import helpers

        return helpers.hashdict(key)
    return key


def size_on_disk(path: Path) -> int:
    total = 0
    for p in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(OSError):
            total += p.stat().st_size
    return total


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def publish(tmp: Path, target: Path) -> None:
    """Put the finished file ``tmp`` in place of ``target`` durably: fsync, rename, fsync dir."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    fsync_dir(target.parent)


def clean_temp_files(path: Path, *legacy: Path) -> list[Path]:
    """Remove temp files that interrupted writes of store ``path`` (or of a legacy JSON store)
    left in its directory; return them. SQLite's own ``-wal``/``-shm`` files are kept."""
    removed = []
    for p in (path, *legacy):
        for pattern in (f".{p.name}.*.tmp", f".{p.name}.*.new"):
            for tmp in p.parent.glob(pattern):
                with contextlib.suppress(OSError):
                    tmp.unlink()
                    removed.append(tmp)
    return removed


def _refuse(path: Path, problem: str) -> StoreCorruptError:
    backup = backup_path(path)
    if backup.exists() and store_problem(backup) is None:
        stamp = dt.datetime.fromtimestamp(backup.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
        hint = (
            f"last good backup {backup} ({stamp}): `tavbo store restore` puts it back "
            "(the broken file is kept)"
        )
    else:
        hint = "no good backup exists; move the file away to start a new store"
    return StoreCorruptError(
        f"embedded LaunchPad store {path} is {problem}; nothing was changed; {hint}"
    )


def store_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable tavbo store, or None (header, integrity, format)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    if size == 0:
        return "empty (0 bytes)"
    with path.open("rb") as fh:
        if fh.read(16) != _HEADER:
            return "not a tavbo store (no SQLite header: truncated or overwritten)"
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = con.execute("PRAGMA quick_check").fetchall()
            if rows != [("ok",)]:
                first = " ".join(str(rows[0][0]).split())[:200]
                return f"corrupt (integrity check: {first})"
            fmt = dict(con.execute("SELECT key, value FROM meta").fetchall()).get("format")
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return f"corrupt ({exc})"
    if fmt != FORMAT:
        return f"not a tavbo store (format {fmt!r})"
    return None


def _read_all(con: sqlite3.Connection) -> dict[tuple[str, str], list[tuple[Any, dict]]]:
    out: dict[tuple[str, str], list[tuple[Any, dict]]] = {}
    for db, coll, blob in con.execute("SELECT db, coll, doc FROM documents ORDER BY rowid"):
        doc = _decode(blob)
        out.setdefault((db, coll), []).append((_store_key(doc), doc))
    return out


def read_snapshot(path: Path) -> dict[tuple[str, str], list[tuple[Any, dict]]]:
    """Every document of store ``path`` as one consistent snapshot (a read transaction), without
    the owner's lock: what read-only LaunchPads load while a writer runs.

    Raises
    ------
    StoreCorruptError
        If the store is empty, truncated or corrupt.
    """
    problem = store_problem(path)
    if problem is not None:
        raise _refuse(path, problem)
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            con.execute("BEGIN")
            data = _read_all(con)
            con.execute("COMMIT")
        finally:
            con.close()
    except (sqlite3.DatabaseError, ValueError) as exc:  # bson.errors.InvalidBSON is a ValueError
        raise _refuse(path, f"corrupt ({exc})") from None
    return data


class SqliteStore:
    """The owner's connection to a store file (take :class:`~workflows.launchpad.embedded.StoreLock`
    first): create or check it, load it, write checkpoints, keep the backup."""

    def __init__(self, path: Path, con: sqlite3.Connection, folder: WalFolder | None = None):
        self.path = path
        self._con = con
        self.folder = folder

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, initial: dict[tuple[str, str], list[dict]] | None = None) -> None:
        """Make a new store at ``path`` holding ``initial`` documents, atomically: it is built
        in a temp file and renamed, so a kill leaves either no store or a complete one."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        con = sqlite3.connect(tmp)
        try:
            con.executescript(_SCHEMA)
            with con:
                con.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("format", FORMAT), ("version", VERSION), ("checkpoints", "0")],
                )
                for (db, coll), docs in (initial or {}).items():
                    con.executemany(
                        "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)",
                        [(db, coll, _key_bytes(_store_key(d)), _encode(d)) for d in docs],
                    )
            con.execute("PRAGMA journal_mode=WAL")
        finally:
            con.close()
        publish(tmp, path)

    @classmethod
    def open(cls, path: Path, synchronous: str = "normal") -> SqliteStore:
        """Check the store and open it for writing; a broken one raises StoreCorruptError.

        ``synchronous``: ``normal`` (default) commits into the WAL without an fsync: a killed
        process loses nothing that was committed and the file is never corrupt, but a power cut
        or OS crash may roll the last checkpoints back (to a consistent earlier state).
        ``full`` fsyncs every commit (durable against power cuts too; about 10 ms more per
        checkpoint on the test machine, see ``benchmarks/store_cost.py``).
        """
        problem = store_problem(path)
        if problem is not None:
            raise _refuse(path, problem)
        if synchronous not in ("normal", "full"):
            raise ValueError(f"synchronous must be normal or full, not {synchronous!r}")
        con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA synchronous={synchronous.upper()}")
        con.execute("PRAGMA wal_autocheckpoint=0")  # folded off the commit path: WalFolder
        return cls(path, con, WalFolder(path, synchronous=synchronous))

    def load(self) -> dict[tuple[str, str], list[tuple[Any, dict]]]:
        """Every document, by (database, collection), in insertion order."""
        try:
            return _read_all(self._con)
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise _refuse(self.path, f"corrupt ({exc})") from None

    def backup(self) -> Path:
        """Copy the store (a consistent snapshot) to :func:`backup_path`, atomically."""
        target = backup_path(self.path)
        tmp = target.with_name(f".{self.path.name}.{os.getpid()}.backup.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        dest = sqlite3.connect(tmp)
        try:
            self._con.backup(dest)
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
        publish(tmp, target)
        return target

    def close(self) -> None:
        """Stop the WAL folder and close the connection (SQLite folds the WAL into the file when
        the last one closes)."""
        if self.folder is not None:
            self.folder.stop()
        with contextlib.suppress(sqlite3.Error):
            self._con.close()

    # -- checkpoints ---------------------------------------------------------------------

    def write(self, changes: dict[tuple[str, str], set[Any] | None], server: Any) -> CheckpointInfo:
        """Write the documents named in ``changes`` as they are now in mongomock ``server``
        (a :class:`~workflows.launchpad.tracking.TrackedServerStore`), in one transaction.

        A key no longer present is deleted; ``None`` rewrites the whole collection.
        """
        start = time.perf_counter()
        upserts: list[tuple[str, str, bytes, bytes]] = []
        deletes: list[tuple[str, str, bytes]] = []
        rewrites: list[tuple[str, str]] = []
        for (db, coll), keys in changes.items():
            col = server.collection(db, coll)
            documents = col._documents if col is not None else {}
            if keys is None:
                rewrites.append((db, coll))
                keys = _keys(documents)
            for key in keys:
                doc = documents.get(key)
                if doc is None:
                    deletes.append((db, coll, _key_bytes(key)))
                else:
                    upserts.append((db, coll, _key_bytes(key), _snapshot(doc)))
        written = sum(len(u[3]) for u in upserts)
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            for db, coll in rewrites:
                con.execute("DELETE FROM documents WHERE db = ? AND coll = ?", (db, coll))
            con.executemany("DELETE FROM documents WHERE db = ? AND coll = ? AND key = ?", deletes)
            con.executemany(
                "INSERT INTO documents VALUES (?, ?, ?, ?) "
                "ON CONFLICT (db, coll, key) DO UPDATE SET doc = excluded.doc",
                upserts,
            )
            con.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'checkpoints'"
            )
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise
        if self.folder is not None:
            self.folder.committed()
        return CheckpointInfo(
            self.path,
            size_on_disk(self.path),
            time.perf_counter() - start,
            documents=len(upserts) + len(deletes),
            written=written,
        )


def _keys(documents: Any) -> list[Any]:
    """The keys of a collection another thread (a rocket's ping) may be inserting into."""
    for attempt in range(5):
        try:
            return list(documents)
        except RuntimeError:  # mutated during iteration
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _snapshot(doc: dict) -> bytes:
    """BSON of a document another thread (a rocket's ping) may be changing meanwhile."""
    for attempt in range(5):
        try:
            return _encode(doc)
        except RuntimeError:  # dictionary changed size during iteration
            if attempt == 4:
                raise
    raise AssertionError("unreachable")
