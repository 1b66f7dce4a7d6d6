"""Shared fixtures: one LaunchPad for the whole run, reset before each test that asks for it.

FireWorks reads ``MONGOMOCK_SERVERSTORE_FILE`` once, when first imported, so this file sets it in
``pytest_configure`` (before any test module is imported) and never imports fireworks, jobflow or
anything that imports them at module level.

With ``TAVBO_TEST_MONGO_URI`` set (e.g. ``mongodb://localhost:27017``), the same tests run
against that server instead, in the database ``TAVBO_TEST_MONGO_DB`` (default ``tavbo_test``),
which is reset before each test: never point it at a database you care about.

``TAVBO_TEST_MONGO_URI=mongomock://`` runs them in MongoDB mode without a server: every
``pymongo.MongoClient`` made in the test process is a plain ``mongomock.MongoClient`` over one
shared in-memory server (clients connect, FireWorks, jobflow and mongoengine build their own as
with pymongo), with none of the embedded store's machinery (no lock, no SQLite, no change
tracking). Tests of embedded-only behaviour skip in both MongoDB modes.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

MONGO_URI = os.environ.get("TAVBO_TEST_MONGO_URI")
#: MongoDB mode over mongomock's plain client (no server needed).
MOCK_SERVER = MONGO_URI == "mongomock://"


def pytest_configure(config: pytest.Config) -> None:
    """Embedded store in a fresh temp dir, unless a real MongoDB (or mongomock://) is given;
    NEB checkpoints in a temp dir too (never in the checkout)."""
    os.environ["TAVBO_NEB_CHECKPOINT_DIR"] = tempfile.mkdtemp(prefix="tavbo-test-neb-")
    if MONGO_URI:
        if MOCK_SERVER:
            _serve_mongomock()
        return
    store = Path(tempfile.mkdtemp(prefix="tavbo-test-")) / "launchpad.json"
    store.write_text("{}")
    os.environ["MONGOMOCK_SERVERSTORE_FILE"] = str(store)
    os.environ["TAVBO_EMBEDDED_STORE"] = str(store)  # what commands opened in-process use
    os.environ.pop("TAVBO_LAUNCHPAD_FILE", None)


def _serve_mongomock() -> None:
    """Make ``pymongo.MongoClient`` a mongomock client of one shared in-memory server (before
    FireWorks, maggma or mongoengine import it)."""
    import mongomock
    import pymongo
    from mongomock.store import ServerStore

    server = ServerStore()

    class ServerClient(mongomock.MongoClient):
        """A client of the test run's one mongomock server, built as pymongo's would be."""

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("_store", server)
            for key in ("serverSelectionTimeoutMS", "uuidRepresentation", "connect"):
                kwargs.pop(key, None)
            super().__init__(*args, **kwargs)

    pymongo.MongoClient = ServerClient
    import mongomock.gridfs

    mongomock.gridfs.enable_gridfs_integration()  # gridfs.GridFS accepts mongomock databases


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``-n 2``), the tests of the one Slurm run on the same worker, one at a
    time: two campaigns queued at once would wait for each other's jobs on its single node."""
    for item in items:
        if item.get_closest_marker("slurm"):
            item.add_marker(pytest.mark.xdist_group("slurm"))


@pytest.fixture(scope="session")
def session_launchpad(tmp_path_factory: pytest.TempPathFactory):
    """The one LaunchPad of the test run (embedded owner, or the TAVBO_TEST_MONGO_URI server)."""
    from workflows.launchpad.opening import open_launchpad

    if MONGO_URI:
        import yaml

        lp_file = tmp_path_factory.mktemp("mongo") / "my_launchpad.yaml"
        name = os.environ.get("TAVBO_TEST_MONGO_DB", "tavbo_test")
        host = "mongodb://localhost:27017" if MOCK_SERVER else MONGO_URI
        lp_file.write_text(yaml.safe_dump({"host": host, "uri_mode": True, "name": name}))
        os.environ["TAVBO_LAUNCHPAD_FILE"] = str(lp_file)
        lp = open_launchpad(launchpad_file=lp_file)
    else:
        lp = open_launchpad(store_path=os.environ["TAVBO_EMBEDDED_STORE"], handle_signals=False)
    yield lp
    lp.close()


@pytest.fixture
def launchpad(session_launchpad, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The shared LaunchPad, reset (FireWorks, job store and results); rockets run in tmp."""
    monkeypatch.setenv("TAVBO_RUN_DIR", str(tmp_path / "runs"))
    session_launchpad.reset("", require_password=False, max_reset_wo_password=10_000)
    return session_launchpad


@pytest.fixture
def barrier_table(tmp_path: Path) -> Path:
    """A small CSV barrier table (eV) for the ``table`` engine."""
    path = tmp_path / "barriers.csv"
    path.write_text(
        "candidate_id,e_b,hops\n"
        'Na-Ga-P-F,0.42,"[{""barrier"": 0.42, ""length"": 3.1}, {""barrier"": 0.95}]"\n'
        "Li-Mg-S-F,0.30,\n"
        "Li-Al-P-F,0.61,\n"
    )
    return path


def synthetic_barriers() -> dict[str, float]:
    """A smooth, known E_b (eV) for every default composition, from its descriptors."""
    from bo_agent.features.descriptors import compute_descriptors
    from bo_agent.features.scaling import standardise
    from workflows.space.compositions import default_space

    table = standardise(compute_descriptors(default_space()))
    col = {n: i for i, n in enumerate(table.names)}
    v = table.values
    e = (
        0.55
        + 0.12 * v[:, col["M_radius"]]
        - 0.08 * v[:, col["X_electronegativity"]]
        + 0.05 * v[:, col["Z_radius"]] ** 2
        + 0.25 * (np.asarray([i.startswith("Na") for i in table.ids], dtype=float))
    )
    return {cid: round(float(x), 4) for cid, x in zip(table.ids, e, strict=True)}


@pytest.fixture(scope="session")
def full_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CSV table with E_b for all 318 compositions."""
    path = tmp_path_factory.mktemp("table") / "synthetic.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["candidate_id", "e_b"])
        writer.writerows(sorted(synthetic_barriers().items()))
    return path


def node_state() -> str:
    """State of the first Slurm node (``idle``, ``mixed``, ...), or "" without Slurm."""
    out = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""


@pytest.fixture(scope="session")
def slurm():
    """A Slurm with a usable node: the running one, or one started by .ci/start_slurm.sh."""
    if shutil.which("sinfo") and node_state().startswith(("idle", "mix", "alloc")):
        return
    script = Path(__file__).resolve().parents[1] / ".ci" / "start_slurm.sh"
    if os.geteuid() != 0 or not script.exists():
        pytest.skip("Slurm is not running (start it with .ci/start_slurm.sh as root)")
    subprocess.run(["bash", str(script)], check=True, timeout=300)
    assert node_state().startswith(("idle", "mix", "alloc"))
