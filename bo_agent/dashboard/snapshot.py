"""A store snapshot shared by the dashboard's requests, renewed every ``refresh`` seconds.

The embedded store is read from its last checkpoint; a campaign writing it meanwhile replaces
that file atomically, so each snapshot is consistent. After ``refresh`` seconds the next request
takes a new snapshot (:meth:`bo_agent.api.store.Store.refresh`) and forgets what it had computed;
within one snapshot a view is computed once. The GP view of a campaign is also kept across
snapshots while the campaign's counts, decisions and status stay the same (a refit costs
seconds, the data did not change).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from bo_agent.api.store import Store

__all__ = ["Snapshot"]

T = TypeVar("T")


class Snapshot:
    """Memoised views over one :class:`Store`, renewed after ``refresh`` seconds."""

    def __init__(self, store: Store, refresh: float = 5.0) -> None:
        self.store = store
        self.refresh = refresh
        self._memo: dict[Hashable, Any] = {}
        self._lasting: dict[Hashable, Any] = {}
        self.taken_at = time.time()

    def _renew_if_stale(self) -> None:
        if time.time() - self.store.opened_at >= self.refresh:
            self.store.refresh()
            self._memo.clear()
            self.taken_at = time.time()

    def get(self, key: Hashable, compute: Callable[[Store], T]) -> T:
        """``compute(store)`` for this snapshot (computed once per snapshot and key)."""
        with self.store.lock:
            self._renew_if_stale()
            if key not in self._memo:
                self._memo[key] = compute(self.store)
            return self._memo[key]  # type: ignore[no-any-return]

    def lasting(self, key: Hashable, signature: Hashable, compute: Callable[[Store], T]) -> T:
        """Like :meth:`get`, but kept across snapshots while ``signature`` is unchanged."""
        with self.store.lock:
            self._renew_if_stale()
            held = self._lasting.get(key)
            if held is None or held[0] != signature:
                held = (signature, compute(self.store))
                self._lasting[key] = held
            return held[1]  # type: ignore[no-any-return]
