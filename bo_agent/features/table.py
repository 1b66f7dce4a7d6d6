"""The descriptor table: a read-only feature matrix with named, site- and kind-tagged columns.

:func:`bo_agent.features.descriptors.compute_descriptors` fills a :class:`DescriptorTable` and
:mod:`bo_agent.features.scaling` standardises it; :meth:`DescriptorTable.groups` gives the feature
groups of an additive kernel. Import it from :mod:`bo_agent.features.descriptors`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from bo_agent.errors import DescriptorError
from workflows.space.compositions import SITES

__all__ = ["GROUPINGS", "DescriptorTable", "FeatureMatrix", "GroupBy", "check_grouping"]

GroupBy = Literal["site", "kind"]
#: The groupings of a campaign's additive kernel (``groups``): the table's own two, and
#: ``kind`` with element-identity terms (:mod:`bo_agent.features.elements`).
GROUPINGS: tuple[str, ...] = ("site", "kind", "kind+element")


def check_grouping(name: str) -> None:
    """Raise DescriptorError (one line) unless ``name`` is one of :data:`GROUPINGS`."""
    if name not in GROUPINGS:
        raise DescriptorError(f"unknown kernel grouping {name!r}; expected one of {GROUPINGS}")


FeatureMatrix = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False, repr=False)
class DescriptorTable:
    """A read-only feature matrix with named, site- and kind-tagged columns.

    Parameters
    ----------
    names : tuple of str
        Column names, unique, e.g. ``"A_radius"``.
    ids : tuple of str
        Candidate IDs, one per row, unique.
    values : ndarray of shape (n_candidates, n_features)
        Finite feature values (copied and made read-only).
    site_of : tuple of str
        Site of each column, one of ``"A"``, ``"M"``, ``"X"``, ``"Z"``.
    kind_of : tuple of str
        Kind of each column (``"radius"``, ``"electronegativity"``, ``"oxidation"``, ``"mass"``,
        ``"period"``, ``"group"``, ``"ionisation"``, ``"bond_length"``, ``"ionicity"``,
        ``"ionic_potential"``).

    Raises
    ------
    DescriptorError
        If the shapes disagree, a name or ID repeats, a site is unknown or a value is not finite.
    """

    names: tuple[str, ...]
    ids: tuple[str, ...]
    values: FeatureMatrix
    site_of: tuple[str, ...]
    kind_of: tuple[str, ...]

    def __post_init__(self) -> None:
        for attr in ("names", "ids", "site_of", "kind_of"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        values = np.array(self.values, dtype=np.float64)
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        n_rows, n_cols = len(self.ids), len(self.names)
        if values.shape != (n_rows, n_cols):
            raise DescriptorError(
                f"values have shape {values.shape}; expected ({n_rows} ids, {n_cols} names)"
            )
        if len(self.site_of) != n_cols or len(self.kind_of) != n_cols:
            raise DescriptorError(f"site_of and kind_of need one entry per column ({n_cols})")
        for label, items in (("column name", self.names), ("candidate ID", self.ids)):
            if len(set(items)) != len(items):
                dupes = sorted({i for i in items if items.count(i) > 1})
                raise DescriptorError(f"duplicate {label}(s) {dupes}")
        if bad := sorted(set(self.site_of) - set(SITES)):
            raise DescriptorError(f"unknown site(s) {bad}; sites are {list(SITES)}")
        if not np.isfinite(values).all():
            i, j = np.argwhere(~np.isfinite(values))[0]
            raise DescriptorError(f"non-finite {self.names[j]} for {self.ids[i]}: {values[i, j]}")

    def __repr__(self) -> str:
        return f"DescriptorTable({self.n_candidates} candidates x {self.n_features} features)"

    @property
    def n_candidates(self) -> int:
        """Number of rows."""
        return len(self.ids)

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return len(self.names)

    def groups(self, by: GroupBy = "site") -> dict[str, list[int]]:
        """Column indices per site (in A, M, X, Z order) or per kind (in column order).

        Every column appears in exactly one group; groups with no column are left out, so
        each can be the active dimensions of one term of an additive kernel.

        Raises
        ------
        DescriptorError
            If ``by`` is neither ``"site"`` nor ``"kind"``.
        """
        if by not in ("site", "kind"):
            raise DescriptorError(f"invalid {by=}; valid options are 'site', 'kind'")
        labels = self.site_of if by == "site" else self.kind_of
        order = SITES if by == "site" else tuple(dict.fromkeys(labels))
        out = {key: [j for j, lab in enumerate(labels) if lab == key] for key in order}
        return {key: cols for key, cols in out.items() if cols}

    def join(self, other: DescriptorTable) -> DescriptorTable:
        """The columns of ``self`` then those of ``other``, rows matched by candidate ID."""
        index = {cid: i for i, cid in enumerate(other.ids)}
        if missing := [cid for cid in self.ids if cid not in index]:
            raise DescriptorError(f"candidate ID(s) {missing[:5]} not in the joined table")
        rows = [index[cid] for cid in self.ids]
        return DescriptorTable(
            self.names + other.names,
            self.ids,
            np.hstack([self.values, other.values[rows]]),
            self.site_of + other.site_of,
            self.kind_of + other.kind_of,
        )

    def column(self, name: str) -> FeatureMatrix:
        """Values of one column, shape (n_candidates,)."""
        try:
            return self.values[:, self.names.index(name)]
        except ValueError:
            raise DescriptorError(
                f"unknown column {name!r}; columns are {list(self.names)}"
            ) from None

    def subset(self, ids: Sequence[str]) -> DescriptorTable:
        """The rows with these candidate IDs, in the order given (columns unchanged)."""
        index = {cid: i for i, cid in enumerate(self.ids)}
        if missing := [cid for cid in ids if cid not in index]:
            raise DescriptorError(f"candidate ID(s) {missing[:5]} not in the table")
        rows = [index[cid] for cid in ids]
        return DescriptorTable(
            self.names, tuple(ids), self.values[rows], self.site_of, self.kind_of
        )

    def to_rows(self) -> list[dict[str, str | float]]:
        """One ``{"id": ..., <name>: value, ...}`` dict per candidate."""
        return [
            {"id": cid, **dict(zip(self.names, map(float, row), strict=True))}
            for cid, row in zip(self.ids, self.values, strict=True)
        ]

    def as_csv(self) -> str:
        """CSV text: a header ``id,<names>`` and one line per candidate (values round-trip)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["id", *self.names])
        writer.writerows(
            [cid, *map(repr, map(float, row))]
            for cid, row in zip(self.ids, self.values, strict=True)
        )
        return buffer.getvalue()
