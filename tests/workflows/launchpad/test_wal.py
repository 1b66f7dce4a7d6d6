"""The WAL is folded into the store file beside the checkpoints, not inside them: commits stay
short, the WAL stays bounded over a long campaign and nothing committed is lost."""

from __future__ import annotations

import sqlite3

from workflows.launchpad.sqlite_store import SqliteStore, read_snapshot
from workflows.launchpad.tracking import TrackedServerStore


def _checkpoints(path, n: int) -> SqliteStore:
    SqliteStore.create(path)
    store = SqliteStore.open(path)
    server = TrackedServerStore()
    coll = server["tavbo"]["things"]
    for i in range(n):
        coll[i] = {"_id": i, "payload": "x" * 3000}  # one new document per checkpoint
        store.write(server.take_changes(), server)
    return store


def test_commits_do_not_fold_the_wal_themselves(tmp_path):
    store = _checkpoints(tmp_path / "s.sqlite", 1)
    try:
        con = sqlite3.connect(tmp_path / "s.sqlite")
        (pages,) = store._con.execute("PRAGMA wal_autocheckpoint").fetchone()
        con.close()
        assert pages == 0  # SQLite's fold-on-commit is off: the folder thread does it
    finally:
        store.close()


def test_the_wal_stays_bounded_and_every_checkpoint_survives(tmp_path):
    path = tmp_path / "s.sqlite"
    store = _checkpoints(path, 1200)  # a burst: unfolded, the WAL would pass 25 MB
    try:
        assert store.folder is not None
        store.folder.stop()  # waits for a fold under way
        assert store.folder.folds >= 5  # one per 64 commits (a busy fold may be skipped)
        wal = path.with_name(path.name + "-wal").stat().st_size
        assert wal < 8_000_000, wal
    finally:
        store.close()
    assert not path.with_name(path.name + "-wal").exists()  # folded and removed at close
    docs = read_snapshot(path)[("tavbo", "things")]
    assert [key for key, _ in docs] == list(range(1200))
