"""maggma stores over collections of the LaunchPad's own client: the jobflow JobStore.

jobflow's ``JobFiretask`` uses ``SETTINGS.JOB_STORE`` when a workflow was built with ``store=None``;
:class:`workflows.launchpad.tavbo_launchpad.TavboLaunchPad` builds a ``JobStore`` from these so job
outputs land in the LaunchPad's database, also on the embedded store (where a second client would
see a stale copy). Remote workers configure their own ``MongoStore``/``GridFSStore`` on the same
database and collections (``workflows/hpc/templates/jobflow.yaml``).
"""

from __future__ import annotations

from typing import Any

from maggma.stores import GridFSStore, MongoStore

from workflows.errors import DatabaseError

__all__ = ["SharedGridFSStore", "SharedMongoStore"]


class SharedMongoStore(MongoStore):
    """A maggma ``MongoStore`` over an existing collection of the LaunchPad's client.

    It never opens or closes a client (the LaunchPad owns it), so it does not serialise to a
    usable configuration: remote workers configure their own JobStore (``JOBFLOW_CONFIG_FILE``)
    on the same database and collections, with the LaunchPad file's connection options
    (:meth:`workflows.launchpad.config.LaunchpadConfig.job_store_options`).
    """

    @classmethod
    def over(cls, collection: Any, **kwargs: Any) -> SharedMongoStore:
        """Wrap ``collection`` (pymongo or mongomock)."""
        store = cls(collection.database.name, collection.name, **kwargs)
        store._coll = collection
        return store

    def connect(self, force_reset: bool = False) -> None:
        """No-op once wrapped: the collection is already open."""
        if self._coll is None:
            raise DatabaseError(f"job store {self.collection_name!r} is closed")

    def close(self) -> None:
        """Forget the collection; the client stays open (it belongs to the LaunchPad)."""
        self._coll = None

    def update(self, docs: list[dict] | dict, key: list | str | None = None) -> None:
        """Upsert documents by ``key``, one ``replace_one`` each: the same code on MongoDB and on
        the embedded store (mongomock 4.3's ``bulk_write`` rejects pymongo 4.16's
        ``ReplaceOne``; a job writes a handful of documents, so bulk writes gain nothing)."""
        from monty.json import jsanitize

        key = key or self.key
        for doc in docs if isinstance(docs, list) else [docs]:
            d = jsanitize(doc, allow_bson=True, recursive_msonable=True)
            if self.validator and not self.validator.is_valid(d):
                if self.validator.strict:
                    raise ValueError(self.validator.validation_errors(d))
                self.logger.error(self.validator.validation_errors(d))
            query = {k: d[k] for k in key} if isinstance(key, list) else {key: d[key]}
            self._collection.replace_one(query, d, upsert=True)


class SharedGridFSStore(GridFSStore):
    """A maggma ``GridFSStore`` over a bucket of the LaunchPad's database (``<name>.files`` and
    ``<name>.chunks``): jobflow's ``data`` store, laid out as remote workers' ``GridFSStore``
    with the same collection name (see ``workflows/hpc/templates/jobflow.yaml``)."""

    @classmethod
    def over(cls, database: Any, collection_name: str, **kwargs: Any) -> SharedGridFSStore:
        """Wrap the bucket ``collection_name`` of ``database`` (pymongo or mongomock)."""
        import gridfs

        store = cls(database.name, collection_name, **kwargs)
        store._coll = gridfs.GridFS(database, collection_name)
        store._files_collection = database[f"{collection_name}.files"]
        store._fs = SharedMongoStore.over(store._files_collection)
        store._fs.last_updated_field = f"metadata.{store.last_updated_field}"
        store._fs.key = store.key
        store._chunks_collection = database[f"{collection_name}.chunks"]
        return store

    def connect(self, force_reset: bool = False) -> None:
        """No-op once wrapped: the bucket is already open."""
        if self._coll is None:
            raise DatabaseError(f"job data store {self.collection_name!r} is closed")

    def close(self) -> None:
        """Forget the bucket; the client stays open (it belongs to the LaunchPad)."""
        self._coll = None
