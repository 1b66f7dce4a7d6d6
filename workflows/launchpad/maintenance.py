"""Maintenance of the embedded store: check it and its backup, restore the backup, copy it.

What ``tavbo store check|restore`` do; :mod:`workflows.launchpad.sqlite_store` is the store.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from workflows.errors import DatabaseError
from workflows.launchpad.sqlite_store import (
    StoreCorruptError,
    backup_path,
    publish,
    read_snapshot,
    size_on_disk,
    store_problem,
)

__all__ = ["StoreReport", "check_store", "copy_store", "restore_backup"]


@dataclass
class StoreReport:
    """What :func:`check_store` found."""

    path: Path
    ok: bool
    problem: str | None = None
    size: int = 0
    collections: dict[str, int] = field(default_factory=dict)
    backup: Path | None = None
    backup_ok: bool = False


def check_store(path: Path) -> StoreReport:
    """Check store ``path`` (integrity, format, every document decodes) and its backup."""
    report = StoreReport(path=path, ok=False, size=size_on_disk(path))
    backup = backup_path(path)
    if backup.exists():
        report.backup, report.backup_ok = backup, store_problem(backup) is None
    problem = store_problem(path)
    if problem is None:
        try:
            data = read_snapshot(path)
        except StoreCorruptError as exc:
            problem = str(exc)
        else:
            report.collections = {f"{db}.{coll}": len(docs) for (db, coll), docs in data.items()}
    report.ok, report.problem = problem is None, problem
    return report


def restore_backup(path: Path, *, force: bool = False) -> Path:
    """Put the last good backup back as store ``path`` (take the store lock first).

    The current file (and its WAL) is kept as ``<store>.broken-<time>``; returns that path.

    Raises
    ------
    DatabaseError
        No good backup; or the store is fine and ``force`` is not set (restoring would lose
        what happened since the backup).
    """
    backup = backup_path(path)
    if not backup.exists() or store_problem(backup) is not None:
        raise DatabaseError(f"no good backup of {path} to restore ({backup} missing or broken)")
    if not force and path.exists() and store_problem(path) is None:
        raise DatabaseError(
            f"embedded LaunchPad store {path} is fine; restoring {backup} would lose the changes "
            "since it was taken (use --force to restore anyway)"
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.broken-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        src = path.with_name(path.name + suffix)
        if src.exists():
            os.replace(src, kept.with_name(kept.name + suffix))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    with open(backup, "rb") as src_fh, open(tmp, "wb") as dst_fh:
        while chunk := src_fh.read(1 << 20):
            dst_fh.write(chunk)
    publish(tmp, path)
    return kept


def copy_store(src: Path, dst: Path) -> None:
    """Copy store ``src`` (a consistent snapshot, its WAL included) to a new file ``dst``."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    dest = sqlite3.connect(dst)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
