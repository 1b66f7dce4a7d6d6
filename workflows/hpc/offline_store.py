"""The files of one offline launch directory, and the jobflow store kept in them.

An offline job can reach neither the LaunchPad nor the campaign's JobStore. So
:func:`workflows.hpc.offline.qlaunch` copies the outputs the job will read into a file store in the
launch directory (:func:`stage_job_inputs`, ``tavbo_jobstore*.json``), the job writes its own
outputs there (:func:`local_job_store`), and :func:`workflows.hpc.offline.recover_offline` copies
the new ones back (``_import_job_outputs``). FireWorks keeps the run's state and ``FWAction`` in
``FW_offline.json`` and its heartbeats in ``FW_ping.json``.

Everything public here is also importable from :mod:`workflows.hpc.offline`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fireworks import Firework
    from jobflow import JobStore

__all__ = [
    "LOCAL_STORE_PREFIX",
    "MANIFEST_FILE",
    "OFFLINE_FILE",
    "PING_FILE",
    "local_job_store",
    "stage_job_inputs",
]

logger = logging.getLogger(__name__)

#: Files of the per-launch jobflow store: ``<prefix>.json`` (documents) and
#: ``<prefix>.<additional store name>.json`` (blobs, e.g. ``tavbo_jobstore.data.json``).
LOCAL_STORE_PREFIX = "tavbo_jobstore"
#: Which output documents were copied in for the job to read (so recovery copies only new ones).
MANIFEST_FILE = "tavbo_offline.json"
OFFLINE_FILE = "FW_offline.json"
PING_FILE = "FW_ping.json"


# -- the local jobflow store of one launch directory ---------------------------------------------


class _FileStores(dict):
    """Additional stores of a local JobStore: one JSON file per name, created on first use."""

    def __init__(self, directory: Path, read_only: bool) -> None:
        super().__init__()
        self._directory = directory
        self._read_only = read_only

    def __missing__(self, name: str) -> Any:
        from maggma.stores import JSONStore

        store = JSONStore(
            str(self._directory / f"{LOCAL_STORE_PREFIX}.{name}.json"),
            read_only=self._read_only,
            key="blob_uuid",
        )
        store.connect()
        self[name] = store
        return store

    def open_existing(self) -> None:
        """Open every ``tavbo_jobstore.<name>.json`` already in the directory."""
        prefix = f"{LOCAL_STORE_PREFIX}."
        for path in sorted(self._directory.glob(f"{prefix}*.json")):
            name = path.name[len(prefix) : -len(".json")]
            if name not in self:
                self.__missing__(name)


def local_job_store(directory: str | Path, *, read_only: bool = False) -> JobStore:
    """The jobflow store kept in the files ``tavbo_jobstore*.json`` of a launch directory.

    Parameters
    ----------
    directory : str or Path
        Launch directory of one offline job.
    read_only : bool, default=False
        Read the files without writing them back (used when recovering).

    Returns
    -------
    JobStore
        Connected; documents in ``tavbo_jobstore.json``, each additional store ``NAME`` (for
        example ``data``) in ``tavbo_jobstore.NAME.json``, created when first written.
    """
    from jobflow import JobStore
    from maggma.stores import JSONStore

    directory = Path(directory)
    docs_path = directory / f"{LOCAL_STORE_PREFIX}.json"
    if read_only and not docs_path.exists():
        raise FileNotFoundError(f"no offline job store in {directory} ({docs_path.name})")
    docs = JSONStore(str(docs_path), read_only=read_only, key="uuid")
    additional = _FileStores(directory, read_only)
    additional.open_existing()
    store = JobStore(docs, additional_stores=additional)
    store.connect()
    return store


def _job_of(fw: Firework) -> Any:
    """The jobflow Job inside a Firework built by ``flow_to_workflow``, or None."""
    from jobflow import Job

    for task in fw.tasks:
        job = task.get("job") if hasattr(task, "get") else None
        if isinstance(job, Job):
            return job
        if isinstance(job, dict) and job.get("@class") == "Job":
            return Job.from_dict(job)
    return None


def _strip_ids(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for doc in docs:
        doc.pop("_id", None)
    return docs


def stage_job_inputs(fw: Firework, store: JobStore, directory: str | Path) -> list[str]:
    """Copy the outputs a jobflow Firework reads from ``store`` into the launch directory.

    Parameters
    ----------
    fw : Firework
        A Firework made by ``flow_to_workflow`` (its task holds a jobflow ``Job``).
    store : JobStore
        The campaign's JobStore (reachable from this process).
    directory : str or Path
        The launch directory; gets ``tavbo_jobstore*.json`` and ``tavbo_offline.json``.

    Returns
    -------
    list of str
        The uuids of the jobs whose outputs were copied (empty for a job without references).
    """
    directory = Path(directory)
    job = _job_of(fw)
    uuids = sorted(set(job.input_uuids)) if job is not None else []
    local = local_job_store(directory)
    if uuids:
        store.connect()
        docs = _strip_ids(list(store.docs_store.query({"uuid": {"$in": uuids}})))
        missing = set(uuids) - {d["uuid"] for d in docs}
        if missing:
            logger.warning("fw_id %s: no outputs yet for inputs %s", fw.fw_id, sorted(missing))
        if docs:
            local.docs_store.update(docs, key=["uuid", "index"])
        for name, main_blobs in store.additional_stores.items():
            blobs = _strip_ids(list(main_blobs.query({"job_uuid": {"$in": uuids}})))
            if blobs:
                local.additional_stores[name].update(blobs, key="blob_uuid")
    manifest = {"fw_id": fw.fw_id, "job_uuid": job.uuid if job is not None else None}
    manifest["staged_uuids"] = uuids
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    return uuids


def _import_job_outputs(directory: Path, store: JobStore) -> int:
    """Copy outputs written offline in ``directory`` into ``store``; return the number of docs."""
    if not (directory / f"{LOCAL_STORE_PREFIX}.json").exists():
        return 0
    staged: set[str] = set()
    if (directory / MANIFEST_FILE).exists():
        staged = set(json.loads((directory / MANIFEST_FILE).read_text())["staged_uuids"])
    local = local_job_store(directory, read_only=True)
    query = {"uuid": {"$nin": sorted(staged)}}
    docs = _strip_ids(list(local.docs_store.query(query)))
    store.connect()
    if docs:
        store.docs_store.update(docs, key=["uuid", "index"])
    for name, blob_store in local.additional_stores.items():
        blobs = _strip_ids(list(blob_store.query({"job_uuid": {"$nin": sorted(staged)}})))
        if not blobs:
            continue
        try:
            target = store.additional_stores[name]
        except KeyError:
            from workflows.errors import ConfigError

            raise ConfigError(
                f"offline job in {directory} wrote to additional store {name!r}, which the "
                f"JobStore lacks (has {sorted(store.additional_stores)}); add it to jobflow.yaml"
            ) from None
        target.update(blobs, key="blob_uuid")
    return len(docs)
