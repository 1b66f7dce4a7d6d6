"""Which finished barriers a query wants, and in what order: one definition for every reader.

``tavbo barriers``, the notebook API and the dashboard filter barriers either in the database
(:func:`workflows.results.documents.find_barriers`) or in a data set's summary rows
(:func:`workflows.results.reference_data.select_summaries`). Both take a :class:`BarrierFilter`,
so the filters, their validation and the tie-breaking order are written once and agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from workflows.errors import ConfigError

__all__ = ["SORT_KEYS", "BarrierFilter"]

#: Sort choices and the document field each orders by.
SORT_KEYS = {"e_b": "e_b", "id": "candidate_id"}

#: Identity filters: the document field and the summary-row key each compares with.
_FIELDS = {
    "campaign": ("campaign", "campaign"),
    "engine": ("engine", "engine"),
    "carrier": ("carrier", "A"),
    "m": ("m", "M"),
    "x": ("x", "X"),
    "z": ("z", "Z"),
}


@dataclass(frozen=True)
class BarrierFilter:
    """Optional filters combined with AND, an order and a limit.

    Parameters
    ----------
    e_min, e_max : float, optional
        Inclusive E_b range, eV.
    sort : {"e_b", "id"}, default="e_b"
        E_b, or composition ID; ties break by ID, then engine and campaign.
    limit : int, default=0
        At most this many barriers (0: all).

    Raises
    ------
    ConfigError
        Unknown sort key, negative limit, or ``e_min`` above ``e_max`` (no E_b can match).
    """

    campaign: str | None = None
    engine: str | None = None
    carrier: str | None = None
    m: str | None = None
    x: str | None = None
    z: str | None = None
    e_min: float | None = None
    e_max: float | None = None
    sort: Literal["e_b", "id"] = "e_b"
    descending: bool = False
    limit: int = 0

    def __post_init__(self) -> None:
        if self.sort not in SORT_KEYS:
            raise ConfigError(f"invalid sort={self.sort!r}; valid options are {sorted(SORT_KEYS)}")
        if self.limit < 0:
            raise ConfigError(
                f"invalid limit={self.limit}; expected 0 (no limit) or a positive number"
            )
        if self.e_min is not None and self.e_max is not None and self.e_min > self.e_max:
            raise ConfigError(
                f"--min {self.e_min:g} eV is above --max {self.e_max:g} eV: no E_b can match"
            )

    def _wanted(self, which: int) -> dict[str, Any]:
        return {
            keys[which]: getattr(self, name)
            for name, keys in _FIELDS.items()
            if getattr(self, name) is not None
        }

    def document_query(self) -> dict[str, Any]:
        """The filters as mongoengine query keywords (``e_b__gte`` for the range)."""
        query = self._wanted(0)
        if self.e_min is not None:
            query["e_b__gte"] = self.e_min
        if self.e_max is not None:
            query["e_b__lte"] = self.e_max
        return query

    def document_order(self) -> list[str]:
        """mongoengine ``order_by`` fields: the sort key, then the tie-breakers."""
        sign = "-" if self.descending else ""
        if self.sort == "id":
            return [f"{sign}candidate_id", "engine", "campaign"]
        return [f"{sign}{SORT_KEYS[self.sort]}", "candidate_id", "engine", "campaign"]

    def select(self, rows: list[dict]) -> list[dict]:
        """Summary rows (keys ``id, A, M, X, Z, e_b, engine, campaign``) filtered and ordered
        as the database query would be."""
        wanted = self._wanted(1)
        chosen = [
            r
            for r in rows
            if all(r.get(k) == v for k, v in wanted.items())
            and (self.e_min is None or r["e_b"] >= self.e_min)
            and (self.e_max is None or r["e_b"] <= self.e_max)
        ]

        # Tie-breakers ascending, then a stable sort on the key: the database's order.
        chosen.sort(key=lambda r: (r["id"], r.get("engine") or "", r.get("campaign") or ""))
        chosen.sort(key=lambda r: r["id" if self.sort == "id" else "e_b"], reverse=self.descending)
        return chosen[: self.limit] if self.limit else chosen
