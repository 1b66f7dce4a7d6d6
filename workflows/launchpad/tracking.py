"""Change tracking of the embedded store's in-memory mongomock server: what each checkpoint writes.

FireWorks talks to a ``mongomock.MongoClient``; these store classes are mongomock's own
(``ServerStore`` > ``DatabaseStore`` > ``CollectionStore``) plus a record of which documents
changed since the last checkpoint, so a checkpoint writes only those (O(changes), not O(store)).

mongomock changes documents in three ways: ``CollectionStore.__setitem__`` (insert, replace
rollback), ``__delitem__`` (delete, TTL expiry) and *in place*, in ``Collection._update`` through
``_apply_update_document`` / ``_apply_update_pipeline`` (every ``update_*``, ``replace_one``,
``find_one_and_*``). The first two are methods of the store class below; the in-place path is
wrapped once per process by :func:`track_in_place_updates` (a no-op for stores that do not track).
A document is marked *after* it changed, so a checkpoint that runs meanwhile writes it again
next time: nothing is missed. Dropped or renamed collections are rewritten in full.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any

from mongomock.store import CollectionStore, DatabaseStore, ServerStore

__all__ = [
    "Changes",
    "TrackedCollectionStore",
    "TrackedServerStore",
    "track_in_place_updates",
]

#: (database, collection) -> changed document keys, or None for "rewrite the collection".
Changes = dict[tuple[str, str], set[Any] | None]


class _Journal:
    """Changed keys per (database, collection), shared by one server's stores; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changes: Changes = {}

    def mark(self, where: tuple[str, str], key: Any) -> None:
        with self._lock:
            keys = self._changes.setdefault(where, set())
            if keys is not None:
                keys.add(key)

    def mark_all(self, where: tuple[str, str]) -> None:
        with self._lock:
            self._changes[where] = None

    def take(self) -> Changes:
        """The changes so far; the journal starts empty again."""
        with self._lock:
            changes, self._changes = self._changes, {}
        return changes

    def give_back(self, changes: Changes) -> None:
        """Re-mark ``changes`` (a checkpoint that failed must write them next time)."""
        with self._lock:
            for where, keys in changes.items():
                mine = self._changes.get(where, set())
                if keys is None or mine is None:
                    self._changes[where] = None
                else:
                    self._changes[where] = mine | keys


class TrackedCollectionStore(CollectionStore):
    """mongomock's collection store that journals inserted, replaced and deleted keys."""

    def __init__(self, name: str, db_name: str, journal: _Journal) -> None:
        super().__init__(name)
        self.db_name = db_name
        self.journal = journal

    @property
    def where(self) -> tuple[str, str]:
        """(database, collection) of this store."""
        return (self.db_name, self.name)

    def __setitem__(self, key: Any, val: Any) -> None:
        super().__setitem__(key, val)
        self.journal.mark(self.where, key)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self.journal.mark(self.where, key)

    def drop(self) -> None:
        super().drop()
        self.journal.mark_all(self.where)


class _TrackedDatabaseStore(DatabaseStore):
    def __init__(self, name: str, journal: _Journal) -> None:
        super().__init__()
        self.name = name
        self.journal = journal

    def __getitem__(self, col_name: str) -> Any:
        try:
            return self._collections[col_name]
        except KeyError:
            col = TrackedCollectionStore(col_name, self.name, self.journal)
            self._collections[col_name] = col
            return col

    def rename(self, name: str, new_name: str) -> None:
        super().rename(name, new_name)
        col = self._collections[new_name]
        if isinstance(col, TrackedCollectionStore):
            self.journal.mark_all((self.name, name))
            self.journal.mark_all((self.name, new_name))


class TrackedServerStore(ServerStore):
    """mongomock's server store whose collections journal their changes (:meth:`take_changes`)."""

    def __init__(self) -> None:
        # Not ServerStore.__init__: mongomock-persistence (imported by FireWorks) replaces it
        # with one that reads MONGOMOCK_SERVERSTORE_FILE and writes it back at exit.
        self._databases: dict[str, Any] = {}
        self.journal = _Journal()

    def __getitem__(self, db_name: str) -> Any:
        try:
            return self._databases[db_name]
        except KeyError:
            db = self._databases[db_name] = _TrackedDatabaseStore(db_name, self.journal)
            return db

    def load(self, db_name: str, coll_name: str, docs: list[tuple[Any, dict]]) -> None:
        """Fill a collection from a checkpoint (not journalled: it is already on disk)."""
        col = self[db_name][coll_name]
        col._documents = OrderedDict(docs)

    def collection(self, db_name: str, coll_name: str) -> CollectionStore | None:
        """The store of a collection, or None if it was never made."""
        db = self._databases.get(db_name)
        return None if db is None else db._collections.get(coll_name)

    def take_changes(self) -> Changes:
        """What changed since the last call (see :class:`_Journal`)."""
        return self.journal.take()

    def give_back(self, changes: Changes) -> None:
        """Undo :meth:`take_changes` for a checkpoint that failed."""
        self.journal.give_back(changes)

    def mark_everything(self) -> None:
        """Journal every collection for a full rewrite (an import)."""
        for db_name, db in list(self._databases.items()):
            for coll_name in list(db._collections):
                self.journal.mark_all((db_name, coll_name))


_PATCHED = False
_PATCH_LOCK = threading.Lock()


def track_in_place_updates() -> None:
    """Journal documents that mongomock's ``Collection._update`` changes in place (idempotent)."""
    global _PATCHED
    from mongomock.collection import Collection

    with _PATCH_LOCK:
        if _PATCHED:
            return
        for name in ("_apply_update_document", "_apply_update_pipeline"):
            setattr(Collection, name, _journalled(getattr(Collection, name)))
        _PATCHED = True


def _journalled(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(self: Any, existing_document: dict, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, existing_document, *args, **kwargs)
        finally:
            store = self._store
            if isinstance(store, TrackedCollectionStore) and "_id" in existing_document:
                key = existing_document["_id"]
                if isinstance(key, dict):
                    from mongomock import helpers

                    key = helpers.hashdict(key)
                store.journal.mark(store.where, key)

    return wrapper
