"""The LaunchPad plumbing: shared client, atomic checkpoints, lock, config and connection errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from workflows.errors import ConfigError, DatabaseError, LockError

EMBEDDED = not os.environ.get("TAVBO_TEST_MONGO_URI")
needs_embedded = pytest.mark.skipif(not EMBEDDED, reason="embedded-store behaviour")
needs_pymongo = pytest.mark.skipif(
    os.environ.get("TAVBO_TEST_MONGO_URI") == "mongomock://",
    reason="pymongo's own client (connection and option errors)",
)


def _python(code: str, env: dict[str, str] | None = None, timeout: float = 60):
    """Run ``code`` in a fresh interpreter (the embedded store's second process)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TAVBO_")}
    full_env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def _noop(*args):
    return len(args)


def _firework(name: str = "hello", n_jobs: int = 1, payload: str = ""):
    """A workflow of ``n_jobs`` chained jobflow jobs; the first is named ``name``."""
    from jobflow import Flow, job
    from jobflow.managers.fireworks import flow_to_workflow

    jobs = [job(_noop)(payload)]
    for _ in range(n_jobs - 1):
        jobs.append(job(_noop)(jobs[-1].output))
    jobs[0].name = name
    return flow_to_workflow(Flow(jobs), name=name)


def test_one_client_is_shared_by_fireworks_jobflow_and_mongoengine(launchpad):
    from mongoengine.connection import get_db

    from workflows.launchpad.tavbo_launchpad import DB_ALIAS

    assert get_db(DB_ALIAS).client is launchpad.connection
    docs_store = launchpad.job_store.docs_store
    assert docs_store._collection.database.client is launchpad.connection
    launchpad.add_wf(_firework("shared"))
    assert get_db(DB_ALIAS)["fireworks"].find_one({"name": "shared"}) is not None


@needs_embedded
def test_any_launchpad_made_in_the_owner_process_sees_the_same_store(launchpad):
    from fireworks import LaunchPad

    launchpad.add_wf(_firework("seen"))
    other = LaunchPad(name=launchpad.name)  # e.g. LaunchPad.auto_load() inside a library
    assert other.connection is launchpad.connection
    assert other.get_fw_ids({"name": "seen"}) == launchpad.get_fw_ids({"name": "seen"})


def test_open_again_returns_the_open_launchpad(launchpad):
    from workflows.launchpad.opening import open_launchpad
    from workflows.launchpad.tavbo_launchpad import current_launchpad

    assert open_launchpad() is launchpad
    assert open_launchpad(read_only=True) is launchpad  # the owner serves readers live data
    assert current_launchpad() is launchpad


def test_opening_a_second_launchpad_in_one_process_is_refused(launchpad, tmp_path):
    from workflows.launchpad.opening import open_launchpad

    with pytest.raises(DatabaseError, match="already has a LaunchPad open"):
        open_launchpad(store_path=tmp_path / "other.json")


@needs_embedded
def test_every_state_change_is_committed_to_the_store_file(launchpad):
    from workflows.launchpad.sqlite_store import read_snapshot

    path = launchpad.store_path
    for n in range(3):
        launchpad.add_wf(_firework(f"wf{n}"))  # no explicit checkpoint call
        names = {doc["name"] for _, doc in read_snapshot(path)[("tavbo", "fireworks")]}
        assert f"wf{n}" in names
    info = launchpad.last_checkpoint
    assert info is not None
    assert info.path == path
    assert info.documents > 0


@needs_embedded
def test_a_failed_checkpoint_leaves_the_store_intact_and_is_written_next_time(
    launchpad, monkeypatch
):
    import workflows.launchpad.sqlite_store as sqlite_store

    path = launchpad.store_path
    launchpad.add_wf(_firework("before"))
    before = sqlite_store.read_snapshot(path)

    def broken(doc):
        raise OSError("disk full")

    monkeypatch.setattr(sqlite_store, "_snapshot", broken)
    with pytest.raises(OSError, match="disk full"):
        launchpad.add_wf(_firework("after"))
    assert sqlite_store.read_snapshot(path) == before
    monkeypatch.undo()
    launchpad.checkpoint()
    names = {d["name"] for _, d in sqlite_store.read_snapshot(path)[("tavbo", "fireworks")]}
    assert "after" in names


@needs_embedded
def test_a_second_writer_process_is_refused_naming_the_owner(launchpad):
    result = _python(
        f"""
        from workflows.errors import LockError
        from workflows.launchpad.opening import open_launchpad
        try:
            open_launchpad(store_path={str(launchpad.store_path)!r})
        except LockError as exc:
            print(exc)
            raise SystemExit(3)
        """
    )
    assert result.returncode == 3, result.stderr
    message = result.stdout.strip()
    assert f"in use by process {os.getpid()}" in message
    assert "\n" not in message


def test_store_lock_is_exclusive_and_released(tmp_path):
    from workflows.launchpad.embedded import StoreLock

    first, second = StoreLock(tmp_path / "s.json"), StoreLock(tmp_path / "s.json")
    first.acquire()
    with pytest.raises(LockError, match=f"process {os.getpid()}"):
        second.acquire()
    first.release()
    second.acquire()
    assert second.held
    second.release()


@needs_embedded
def test_a_reader_process_sees_the_last_checkpoint_without_the_lock(launchpad):
    launchpad.add_wf(_firework("visible"))
    result = _python(
        f"""
        from workflows.launchpad.opening import open_launchpad
        lp = open_launchpad(store_path={str(launchpad.store_path)!r}, read_only=True)
        print(lp.get_fw_ids({{"name": "visible"}}))
        lp.workflows.insert_one({{"nodes": [99]}})  # changes stay in this process
        lp.checkpoint()  # a no-op on a snapshot
        lp.close()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(launchpad.get_fw_ids({"name": "visible"}))
    assert launchpad.workflows.count_documents({}) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("host: [localhost\nname: x\npassword: hunter2\n", "invalid YAML at line"),
        ("- host\n- name\n", "expected a mapping"),
        ("host: localhost\npasswrod: hunter2\n", "passwrod"),
        ("host: localhost\nport: not-a-port\npassword: hunter2\n", "port"),
        ("host: mongodb://u:hunter2@h/db\nuri_mode: true\n", "uri_mode needs 'name'"),
    ],
)
def test_malformed_launchpad_file_is_a_one_line_config_error(tmp_path, text, expected):
    from workflows.launchpad.config import load_launchpad_config

    path = tmp_path / "my_launchpad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_launchpad_config(path)
    message = str(info.value)
    assert expected in message
    assert "hunter2" not in message
    assert "\n" not in message


def test_missing_launchpad_file_is_a_config_error(tmp_path):
    from workflows.launchpad.config import load_launchpad_config

    with pytest.raises(ConfigError, match="cannot read LaunchPad file"):
        load_launchpad_config(tmp_path / "nope.yaml")


@needs_pymongo
@pytest.mark.parametrize("uri_mode", [True, False])
def test_unreachable_mongodb_fails_fast_without_leaking_the_password(
    session_launchpad, tmp_path, uri_mode
):
    from workflows.launchpad.opening import open_launchpad
    from workflows.launchpad.tavbo_launchpad import current_launchpad

    path = tmp_path / "my_launchpad.yaml"
    if uri_mode:
        path.write_text(
            "host: mongodb://alice:s3cr3t@127.0.0.1:9/fw\nuri_mode: true\nname: fw\n"
            "mongoclient_kwargs: {serverSelectionTimeoutMS: 1500}\n"
        )
    else:
        path.write_text(
            "host: 127.0.0.1\nport: 9\nname: fw\nusername: alice\npassword: s3cr3t\n"
            "mongoclient_kwargs: {serverSelectionTimeoutMS: 1500}\n"
        )
    start = time.perf_counter()
    with pytest.raises(DatabaseError) as info:
        open_launchpad(launchpad_file=path)
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "cannot reach the MongoDB LaunchPad at" in message
    assert "127.0.0.1:9" in message
    assert "s3cr3t" not in message
    assert "\n" not in message
    assert current_launchpad() is session_launchpad  # the failed open changed nothing


@needs_pymongo
def test_bad_client_option_is_a_config_error(tmp_path, session_launchpad):
    from workflows.launchpad.opening import open_launchpad

    path = tmp_path / "my_launchpad.yaml"
    path.write_text("host: localhost\nname: fw\nmongoclient_kwargs: {notAnOption: 1}\n")
    with pytest.raises(ConfigError, match="bad connection settings"):
        open_launchpad(launchpad_file=path)


def test_reset_empties_results_and_job_outputs(launchpad):
    launchpad.db["barriers"].insert_one({"candidate_id": "x"})
    launchpad.job_store.docs_store._collection.insert_one({"uuid": "u", "index": 1})
    launchpad.reset("", require_password=False)
    assert launchpad.db["barriers"].count_documents({}) == 0
    assert launchpad.job_store.docs_store._collection.count_documents({}) == 0


def test_a_ping_of_a_launch_that_cannot_be_read_keeps_the_ping_thread_alive(launchpad, monkeypatch):
    from fireworks import FWorker, LaunchPad

    launchpad.add_wf(_firework("pinged"))
    fw_id = launchpad.get_fw_ids({"name": "pinged"})[0]
    _, launch_id = launchpad.checkout_fw(FWorker(), str(Path.cwd()), fw_id=fw_id)
    launchpad.ping_launch(launch_id)  # a real ping still updates the launch
    assert launchpad.launches.find_one({"launch_id": launch_id})["state"] == "RUNNING"
    launchpad.ping_launch(launch_id + 999)  # briefly missing (embedded race): skipped

    def broken(self, launch_id):
        raise ValueError("corrupt launch document")

    monkeypatch.setattr(LaunchPad, "get_launch_by_id", broken)
    with pytest.raises(ValueError, match="corrupt"):  # any other failure still surfaces
        launchpad.ping_launch(launch_id)


def test_lost_runs_are_requeued_recorded_and_workflow_locks_cleared(launchpad):
    launchpad.add_wf(_firework("lost"))
    fw_id = launchpad.get_fw_ids({"name": "lost"})[0]
    from fireworks import FWorker

    launchpad.checkout_fw(FWorker(), str(Path.cwd()), fw_id=fw_id)  # then the owner "dies"
    assert launchpad.get_fw_by_id(fw_id).state == "RUNNING"
    launchpad.workflows.update_one({"nodes": fw_id}, {"$set": {"locked": True}})
    assert launchpad.recover_lost_runs(expiration_secs=0) == [fw_id]
    assert launchpad.get_fw_by_id(fw_id).state == "READY"
    assert "locked" not in launchpad.workflows.find_one({"nodes": fw_id})
    assert launchpad.lost_run_count([fw_id]) == 1  # a process that died is an attempt
    assert launchpad.recover_lost_runs(expiration_secs=0) == []
    assert launchpad.lost_run_count([fw_id]) == 1


def test_a_live_run_is_not_lost_within_its_expiration(launchpad):
    from fireworks import FWorker

    launchpad.add_wf(_firework("alive"))
    fw_id = launchpad.get_fw_ids({"name": "alive"})[0]
    launchpad.checkout_fw(FWorker(), str(Path.cwd()), fw_id=fw_id)
    launchpad.workflows.update_one({"nodes": fw_id}, {"$set": {"locked": True}})
    assert launchpad.recover_lost_runs(expiration_secs=3600) == []
    assert launchpad.get_fw_by_id(fw_id).state == "RUNNING"
    assert launchpad.workflows.find_one({"nodes": fw_id})["locked"]  # its holder may live
    assert launchpad.lost_run_count([fw_id]) == 0


@needs_embedded
def test_one_checkpoint_commits_a_bulk_add_and_the_next_only_what_changed(launchpad):
    launchpad.bulk_add_wfs([_firework(f"a{n}", 3, payload="x" * 200) for n in range(200)])
    bulk = launchpad.last_checkpoint  # written by bulk_add_wfs itself, in one transaction
    assert bulk.documents >= 800  # 600 fireworks and 200 workflows
    launchpad.add_wf(_firework("one more"))
    assert launchpad.last_checkpoint.documents < 10
    assert launchpad.checkpoint() is None  # nothing changed since


def _big_output(n: int):
    from jobflow import Response

    return Response(output={"energies": list(range(n)), "n": n})


def test_large_job_data_goes_to_the_gridfs_bucket_and_loads_back(launchpad):
    from jobflow import Flow, job
    from jobflow.managers.fireworks import flow_to_workflow

    from workflows.flows.evaluation import run_workflow

    big = job(_big_output, data="energies")(1000)
    ids = launchpad.add_wf(flow_to_workflow(Flow([big])))
    assert run_workflow(launchpad, min(ids.values())) == "COMPLETED"
    data = launchpad.settings.data_collection
    assert launchpad.db[f"{data}.files"].count_documents({}) == 1
    out = launchpad.job_store.get_output(big.uuid, load=True)
    assert out["energies"] == list(range(1000))


def test_the_launchpad_template_is_valid():
    from workflows.launchpad.config import load_launchpad_config

    template = Path(__file__).parents[3] / "workflows" / "hpc" / "templates" / "my_launchpad.yaml"
    config = load_launchpad_config(template)
    assert (config.name, config.uri_mode) == ("tavbo", False)
    assert config.mongoclient_kwargs["serverSelectionTimeoutMS"] <= 5000


def test_the_store_round_trips_bson_types_and_non_finite_floats(tmp_path):
    import datetime as dt
    import math
    import uuid

    from bson import ObjectId

    from workflows.launchpad.sqlite_store import SqliteStore, read_snapshot

    doc = {
        "_id": ObjectId(),
        "t": dt.datetime(2026, 1, 2, 3, 4, 5),
        "b": b"\x00\x01",
        "x": 1.5,
        "u": uuid.UUID(int=7),
        "nested": {"list": [1, "a", None]},
    }
    path = tmp_path / "s.sqlite"
    SqliteStore.create(path, {("db", "c"): [doc, {"_id": 2, "e": math.nan}]})
    data = read_snapshot(path)[("db", "c")]
    assert data[0] == (doc["_id"], doc)
    assert math.isnan(data[1][1]["e"])
