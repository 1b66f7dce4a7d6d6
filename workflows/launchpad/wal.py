"""Folding the embedded store's WAL into its database file off the checkpoint's path.

SQLite in WAL mode appends every commit to ``<store>-wal`` and, by default, the commit that
takes the WAL past 1,000 pages (4 MB) also copies the WAL back into the database file and
fsyncs it (an *auto-checkpoint*). Measured on the store's checkpoints
(``benchmarks/store_cost.py``): that one commit took 6-16 ms instead of 0.1 ms, the part of
the checkpoint tail that was the store's own (the rest: other processes holding the CPU). The
owner's connection therefore turns auto-checkpoints off
(``PRAGMA wal_autocheckpoint=0``) and a :class:`WalFolder` thread, with its own connection, folds
the WAL (``PRAGMA wal_checkpoint(PASSIVE)``, which never blocks the writer or readers) every
``every`` commits. The sqlite3 module releases the GIL while SQLite works, so the fold runs
beside the campaign. A kill during a fold is as safe as one during an auto-checkpoint: SQLite
restarts the fold from the WAL at the next open.

SQLite starts the WAL over from its beginning only when a commit finds it entirely folded; a
commit that lands while a fold runs appends instead, and in bursts of commits the WAL can keep
growing. When it passes ``cap`` bytes the folder therefore also takes the write lock for a moment
(``wal_checkpoint(TRUNCATE)``: the few pages left, then the WAL is emptied), which a commit
may wait for.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from pathlib import Path

__all__ = ["WalFolder"]

logger = logging.getLogger(__name__)


class WalFolder:
    """A daemon thread that folds the WAL of store ``path`` into the file every ``every``
    commits (:meth:`committed`) and empties it past ``cap`` bytes; :meth:`stop` ends it.
    ``folds``, ``truncations`` and ``seconds`` say what it did."""

    def __init__(
        self, path: Path, every: int = 64, synchronous: str = "normal", cap: int = 4 << 20
    ) -> None:
        self.path = path
        self.every = every
        self.cap = cap
        self.truncations = 0
        self.synchronous = synchronous
        self.folds = 0
        self.seconds = 0.0
        self._commits = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="tavbo-wal-folder", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Count one commit of the owner; every ``every``-th wakes the folder."""
        self._commits += 1
        if self._commits % self.every == 0:
            self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish a fold under way and end the thread (idempotent)."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)

    def _wal_size(self) -> int:
        try:
            return self.path.with_name(self.path.name + "-wal").stat().st_size
        except OSError:
            return 0

    def _run(self) -> None:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute(f"PRAGMA synchronous={self.synchronous.upper()}")
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                start = time.perf_counter()
                try:
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.folds += 1
                    if self._wal_size() > self.cap:
                        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                        self.truncations += 1
                except sqlite3.Error as exc:  # busy or closing: the next fold catches up
                    logger.debug("WAL fold of %s skipped: %s", self.path, exc)
                self.seconds += time.perf_counter() - start
        finally:
            with contextlib.suppress(sqlite3.Error):
                con.close()
