"""Every client option of ``my_launchpad.yaml`` (auth, TLS files, replica set) reaches every
connection: the LaunchPad's own and the job stores written for compute nodes."""

from __future__ import annotations

from typing import Any, ClassVar

import mongomock
import mongomock.gridfs
import pytest
import yaml

OPTIONS = {
    "tls": True,
    "tlsCAFile": "/etc/ssl/campus-ca.pem",
    "tlsCertificateKeyFile": "/home/me/.mongo/client.pem",
    "replicaSet": "rs0",
    "serverSelectionTimeoutMS": 1500,
}


class Recorder(mongomock.MongoClient):
    """A mongomock client that remembers how each client was built."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Recorder.calls.append({"args": args, **kwargs})
        super().__init__()


@pytest.fixture
def lp_file(tmp_path, monkeypatch):
    path = tmp_path / "my_launchpad.yaml"
    path.write_text(
        yaml.safe_dump(
            {"host": "db.campus.edu", "port": 27018, "name": "tavbo", "username": "alice",
             "password": "s3cr3t", "authsource": "admin", "mongoclient_kwargs": OPTIONS}
        )
    )  # fmt: skip
    monkeypatch.setenv("TAVBO_LAUNCHPAD_FILE", str(path))
    Recorder.calls.clear()
    mongomock.gridfs.enable_gridfs_integration()
    return path


def _assert_connects_like_the_launchpad(call: dict[str, Any]) -> None:
    for key, value in OPTIONS.items():
        assert call[key] == value, key
    assert call["username"] == "alice"
    assert call["password"] == "s3cr3t"
    assert call["authSource"] == "admin"


def test_the_job_stores_written_for_compute_nodes_connect_like_the_launchpad(
    lp_file, tmp_path, monkeypatch
):
    import maggma.stores.gridfs
    import maggma.stores.mongolike
    from jobflow import SETTINGS
    from jobflow.settings import JobflowSettings

    from workflows.hpc.config import write_config

    write_config("slurm", tmp_path / "cfg")
    settings = JobflowSettings(CONFIG_FILE=str(tmp_path / "cfg" / "jobflow.yaml"))
    store = settings.JOB_STORE
    assert store is not SETTINGS.JOB_STORE
    monkeypatch.setattr(maggma.stores.mongolike, "MongoClient", Recorder)
    monkeypatch.setattr(maggma.stores.gridfs, "MongoClient", Recorder)
    store.docs_store.connect()
    store.additional_stores["data"].connect()
    assert len(Recorder.calls) == 2
    for call in Recorder.calls:
        _assert_connects_like_the_launchpad(call)
        assert (call["host"], call["port"]) == ("db.campus.edu", 27018)


@pytest.mark.skipif(
    __import__("os").environ.get("TAVBO_TEST_MONGO_URI") is not None,
    reason="opens its own MongoDB-mode LaunchPad",
)
def test_the_launchpad_connects_with_every_option_of_its_file(lp_file, monkeypatch):
    import pymongo

    from workflows.launchpad.opening import _open_mongodb
    from workflows.settings import WorkflowSettings

    monkeypatch.setattr(pymongo, "MongoClient", Recorder)
    settings = WorkflowSettings()
    lp = _open_mongodb(settings, ("mongodb", str(lp_file)))
    lp.connection.close()
    (call,) = Recorder.calls
    _assert_connects_like_the_launchpad(call)
