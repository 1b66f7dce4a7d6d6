"""The embedded SQLite store survives kills and damage: what is on disk is what was committed,
a broken file is refused (never started over) and restored from the last good backup."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from workflows.launchpad.maintenance import check_store, restore_backup
from workflows.launchpad.sqlite_store import (
    SqliteStore,
    StoreCorruptError,
    backup_path,
    read_snapshot,
)

EMBEDDED = not os.environ.get("TAVBO_TEST_MONGO_URI")
needs_embedded = pytest.mark.skipif(not EMBEDDED, reason="embedded-store behaviour")


def _env(tmp_path: Path, store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVBO_")}
    env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    env.update(TAVBO_EMBEDDED_STORE=str(store), TAVBO_RUN_DIR=str(tmp_path / "runs"))
    return env


def _tavbo(tmp_path: Path, store: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path, store),
        cwd=tmp_path,
        timeout=120,
    )


def _python(tmp_path: Path, store: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=_env(tmp_path, store),
        cwd=tmp_path,
        timeout=120,
    )


def _good_store(path: Path, n: int = 50) -> None:
    """A store of ``n`` documents, opened once by an owner (so it has a backup)."""
    docs = [{"_id": i, "name": f"doc{i}", "payload": "x" * 500} for i in range(n)]
    SqliteStore.create(path, {("tavbo", "things"): docs})
    store = SqliteStore.open(path)
    store.backup()
    store.close()


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif how == "header":
        path.write_bytes(b"\x00" * 100 + data[100:])
    elif how == "pages":
        mid = len(data) // 2
        path.write_bytes(data[:mid] + b"\xff" * 4096 + data[mid + 4096 :])


@pytest.mark.parametrize("how", ["empty", "truncated", "header", "pages"])
def test_a_damaged_store_is_refused_naming_the_last_good_backup(tmp_path, how):
    path = tmp_path / "launchpad.sqlite"
    _good_store(path)
    _damage(path, how)
    damaged = path.read_bytes()
    with pytest.raises(StoreCorruptError) as err:
        SqliteStore.open(path).load()
    message = str(err.value)
    assert str(path) in message
    assert f"last good backup {backup_path(path)}" in message
    assert "\n" not in message
    assert path.read_bytes() == damaged  # nothing was changed
    with pytest.raises(StoreCorruptError):
        read_snapshot(path)  # readers refuse it too
    assert not check_store(path).ok


def test_restore_puts_the_last_good_backup_back_and_keeps_the_broken_file(tmp_path):
    path = tmp_path / "launchpad.sqlite"
    _good_store(path, n=20)
    _damage(path, "truncated")
    kept = restore_backup(path)
    assert kept.exists()
    assert check_store(path).ok
    assert len(read_snapshot(path)[("tavbo", "things")]) == 20


def test_restore_refuses_to_overwrite_a_good_store_without_force(tmp_path):
    path = tmp_path / "launchpad.sqlite"
    _good_store(path)
    with pytest.raises(Exception, match="is fine"):
        restore_backup(path)
    restore_backup(path, force=True)
    assert check_store(path).ok


@needs_embedded
def test_an_emptied_store_stops_a_run_and_store_restore_brings_the_campaign_back(tmp_path):
    """``: > launchpad.sqlite; tavbo run ...`` must not start the campaign over."""
    store = tmp_path / ".tavbo" / "launchpad.sqlite"
    table = Path(__file__).parents[3] / "workflows" / "data" / "reference_chgnet.json.gz"
    run = ["run", "-c", "keep", "--carrier", "Na", "--engine", "table", "--budget", "2",
           "--set", f"table={table}"]  # fmt: skip
    first = _tavbo(tmp_path, store, *run)
    assert first.returncode == 0, first.stderr[-2000:]
    store.write_bytes(b"")
    refused = _tavbo(tmp_path, store, *run)
    assert refused.returncode == 1
    line = refused.stderr.strip()
    assert line.startswith("tavbo: error: ")
    assert "\n" not in line
    assert "empty (0 bytes)" in line
    assert "tavbo store restore" in line
    assert store.stat().st_size == 0  # nothing overwritten, nothing started over
    restored = _tavbo(tmp_path, store, "store", "restore")
    assert restored.returncode == 0, restored.stderr
    checked = _tavbo(tmp_path, store, "store", "check")
    assert checked.returncode == 0, checked.stderr
    assert ": ok," in checked.stdout
    status = _tavbo(tmp_path, store, "status", "-c", "keep", "--format", "json")
    assert status.returncode == 0, status.stderr
    assert '"done": 2' in status.stdout.replace(" ", "").replace('"done":2', '"done": 2')


@needs_embedded
def test_temp_files_of_interrupted_writes_are_removed_at_open(tmp_path):
    store = tmp_path / "launchpad.sqlite"
    _good_store(store)
    junk = [
        tmp_path / ".launchpad.sqlite.4242.new",
        tmp_path / ".launchpad.sqlite.4242.backup.tmp",
        tmp_path / ".launchpad.json.k3j2h1.tmp",  # left by the JSON store of earlier versions
    ]
    for path in junk:
        path.write_bytes(b"x" * 1000)
    result = _python(
        tmp_path,
        store,
        f"""
        from workflows.launchpad.opening import open_launchpad
        lp = open_launchpad(store_path={str(store)!r}, handle_signals=False)
        lp.close()
        """,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not [p for p in junk if p.exists()]
    assert store.with_name(store.name + "-wal").exists() or store.exists()  # SQLite's own kept


@needs_embedded
def test_a_json_store_of_an_earlier_version_is_imported_once_and_kept(tmp_path):
    from bson import ObjectId, json_util

    legacy = tmp_path / "launchpad.json"
    oid = ObjectId()
    legacy.write_text(
        json_util.dumps(
            {
                "tavbo": {
                    "barriers": {"name": "barriers", "documents": [[oid, {"_id": oid, "e_b": 0.3}]]}
                }
            }
        )
    )
    before = legacy.read_text()
    code = f"""
        from workflows.launchpad.opening import open_launchpad
        lp = open_launchpad(store_path={str(legacy)!r}, handle_signals=False)
        print(lp.db["barriers"].count_documents({{}}), lp.store_path.name)
        lp.db["barriers"].insert_one({{"e_b": 0.5}})
        lp.close()
        """
    first = _python(tmp_path, legacy, code)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.split() == ["1", "launchpad.sqlite"]
    second = _python(tmp_path, legacy, code)  # not imported again: the new document stays
    assert second.stdout.split() == ["2", "launchpad.sqlite"]
    assert legacy.read_text() == before  # kept as it was, a backup


@needs_embedded
def test_what_is_on_disk_equals_what_fireworks_sees_after_a_campaign(launchpad, barrier_table):
    """Every write path of FireWorks, jobflow and mongoengine reaches the store (no lost change):
    the in-memory database and the store file hold the same documents."""
    from workflows.flows.evaluation import evaluate

    for cid in ("Na-Ga-P-F", "Li-Mg-S-F", "Li-Al-P-F"):
        evaluate(cid, "table", launchpad=launchpad, table=str(barrier_table))
    launchpad.db["scratch"].insert_many([{"_id": i} for i in range(5)])
    launchpad.db["scratch"].delete_many({"_id": {"$lt": 3}})
    launchpad.db["scratch"].update_one({"_id": 4}, {"$set": {"x": [1, {"y": 2}]}})
    launchpad.db.drop_collection("gone")
    launchpad.checkpoint()
    on_disk = {k: dict(v) for k, v in read_snapshot(launchpad.store_path).items()}
    server = launchpad._server_store
    in_memory = {
        (db, name): dict(coll._documents)
        for db, dbs in server._databases.items()
        for name, coll in dbs._collections.items()
        if coll._documents
    }
    assert on_disk == in_memory


@needs_embedded
def test_a_checkpoint_writes_only_what_changed(launchpad):
    launchpad.db["bulk"].insert_many([{"_id": i, "p": "x" * 1000} for i in range(2000)])
    big = launchpad.checkpoint()
    launchpad.db["bulk"].update_one({"_id": 7}, {"$set": {"p": "y"}})
    small = launchpad.checkpoint()
    assert big.documents >= 2000
    assert small.documents == 1
    assert small.written < 100


def test_readers_see_whole_checkpoints_while_a_writer_commits(tmp_path):
    """Two documents always change together; a reader must never see them differ."""
    from mongomock import MongoClient

    from workflows.launchpad.tracking import TrackedServerStore, track_in_place_updates

    track_in_place_updates()
    path = tmp_path / "s.sqlite"
    SqliteStore.create(path)
    store = SqliteStore.open(path)
    server = TrackedServerStore()
    coll = MongoClient(_store=server)["db"]["pair"]
    coll.insert_many([{"_id": "a", "n": 0, "pad": "x" * 5000}, {"_id": "b", "n": 0}])
    store.write(server.take_changes(), server)
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            coll.update_many({}, {"$set": {"n": n}})
            store.write(server.take_changes(), server)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = set()
        for _ in range(200):
            docs = {k: d["n"] for k, d in read_snapshot(path)[("db", "pair")]}
            assert docs["a"] == docs["b"]
            seen.add(docs["a"])
    finally:
        stop.set()
        thread.join()
        store.close()
    assert len(seen) > 1  # the writer really ran meanwhile


_KILLED_IN_CHECKPOINT = """
import os, signal, sys
from pathlib import Path
from mongomock import MongoClient
from workflows.launchpad.sqlite_store import SqliteStore
from workflows.launchpad.tracking import TrackedServerStore, track_in_place_updates

track_in_place_updates()
path, stage = Path(sys.argv[1]), sys.argv[2]
store = SqliteStore.open(path)
server = TrackedServerStore()
for (db, coll), docs in store.load().items():
    server.load(db, coll, docs)
coll = MongoClient(_store=server)["tavbo"]["things"]
coll.update_many({}, {"$set": {"payload": "new" * 1000}})
coll.insert_many([{"_id": 1000 + i} for i in range(100)])


class Dying:
    def __init__(self, con):
        self._con = con

    def execute(self, sql, *args):
        if sql == stage:
            os.kill(os.getpid(), signal.SIGKILL)
        return self._con.execute(sql, *args)

    def executemany(self, sql, rows):
        if stage == "UPSERTS" and sql.startswith("INSERT"):
            rows = list(rows)
            self._con.executemany(sql, rows[: len(rows) // 2])  # half written, then killed
            os.kill(os.getpid(), signal.SIGKILL)
        return self._con.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self._con, name)


store._con = Dying(store._con)
store.write(server.take_changes(), server)
print("committed")
"""


@pytest.mark.parametrize("stage", ["UPSERTS", "COMMIT"])
def test_a_checkpoint_killed_mid_transaction_leaves_the_previous_state(tmp_path, stage):
    path = tmp_path / "launchpad.sqlite"
    _good_store(path, n=50)
    before = read_snapshot(path)
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_IN_CHECKPOINT, str(path), stage],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert check_store(path).ok
    assert read_snapshot(path) == before  # all of the checkpoint or none of it
