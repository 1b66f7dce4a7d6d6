"""Composition-only descriptors: :class:`~workflows.composition_space.Candidate` -> feature row.

Every site (A carrier, M octahedral, X tetrahedral, Z bridging anion) gets the same seven
physical properties (Shannon ionic radius at the site's coordination, Pauling electronegativity,
formal oxidation state, atomic mass, period, group, first ionisation energy), and six pair
features add bond lengths, bond ionicities and ionic potentials. Each column is tagged with
the site it describes and its kind, so an additive kernel can be built per site or per kind
(:meth:`DescriptorTable.groups`). Values are raw, in physical units; :func:`standardise`
rescales them over a whole candidate pool and drops columns that are constant over it.

Sources, units and the hydroxide (OH) values are listed in ``docs/descriptors.md``.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal, Self

import numpy as np
import numpy.typing as npt
from pymatgen.core.periodic_table import Element

from bo_agent.errors import DescriptorError
from workflows.composition_space import SITES, Candidate

__all__ = [
    "FEATURES",
    "SITE_COORDINATION",
    "DescriptorScaler",
    "DescriptorTable",
    "FeatureSpec",
    "GroupBy",
    "compute_descriptors",
    "shannon_radius",
    "standardise",
]

GroupBy = Literal["site", "kind"]
FeatureMatrix = npt.NDArray[np.float64]

#: Coordination number used for each site's Shannon radius: the carrier sits in a five-fold
#: channel site, M in an octahedron, X in a tetrahedron, and Z bridges two M octahedra.
SITE_COORDINATION: dict[str, int] = {"A": 5, "M": 6, "X": 4, "Z": 2}
#: The framework anion of the XO4 polyanion (used for the X-O bond ionicity).
FRAMEWORK_ANION = "O"
#: Shannon (1976) ionic radii of OH- by coordination number, in angstrom.
HYDROXIDE_RADII: dict[int, float] = {2: 1.32, 3: 1.34, 4: 1.35, 6: 1.37}
#: Relative tolerance below which a column's standard deviation counts as zero.
CONSTANT_RTOL = 1e-12


@dataclass(frozen=True)
class FeatureSpec:
    """Name, site, kind and unit of one descriptor column."""

    name: str
    site: str
    kind: str
    unit: str
    description: str


_ELEMENT_KINDS: tuple[tuple[str, str, str], ...] = (
    ("radius", "angstrom", "Shannon ionic radius at the site's coordination number"),
    ("electronegativity", "Pauling", "Pauling electronegativity"),
    ("oxidation", "e", "formal oxidation state"),
    ("mass", "amu", "atomic (formula) mass"),
    ("period", "-", "period (row) of the periodic table"),
    ("group", "-", "group (column, 1-18) of the periodic table"),
    ("ionisation", "eV", "first ionisation energy of the neutral atom"),
)
_PAIR_FEATURES: dict[str, tuple[FeatureSpec, ...]] = {
    "A": (FeatureSpec("A_Z_bond_length", "A", "bond_length", "angstrom", "r_A + r_Z"),),
    "M": (
        FeatureSpec("M_Z_bond_length", "M", "bond_length", "angstrom", "r_M + r_Z"),
        FeatureSpec("M_Z_ionicity", "M", "ionicity", "-", "1 - exp(-(chi_M - chi_Z)^2 / 4)"),
        FeatureSpec("M_ionic_potential", "M", "ionic_potential", "e/angstrom", "ox_M / r_M"),
    ),
    "X": (
        FeatureSpec("X_O_ionicity", "X", "ionicity", "-", "1 - exp(-(chi_X - chi_O)^2 / 4)"),
        FeatureSpec("X_ionic_potential", "X", "ionic_potential", "e/angstrom", "ox_X / r_X"),
    ),
    "Z": (),
}
#: Every column of :func:`compute_descriptors`, in order: per site, the seven element
#: properties then that site's pair features (34 columns).
FEATURES: tuple[FeatureSpec, ...] = tuple(
    spec
    for site in SITES
    for spec in (
        *(
            FeatureSpec(f"{site}_{kind}", site, kind, unit, text)
            for kind, unit, text in _ELEMENT_KINDS
        ),
        *_PAIR_FEATURES[site],
    )
)


@dataclass(frozen=True)
class _Species:
    """The seven per-site properties of one species at one coordination number."""

    radius: float
    electronegativity: float
    oxidation: float
    mass: float
    period: float
    group: float
    ionisation: float


# --------------------------------------------------------------------------- Shannon radii
_ROMAN = {"I": 1, "V": 5, "X": 10}


def _roman_to_int(text: str) -> int:
    values = [_ROMAN[ch] for ch in text]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _shannon_table(symbol: str, oxidation: int) -> dict[int, float]:
    """Coordination number -> Shannon ionic radius (angstrom) for one species.

    Labels with a geometry suffix (``IVSQ``, ``IIIPY``) count as their number but never replace
    the plain entry. Where a spin state is listed, high spin is taken, as in polyanion frameworks.
    """
    if symbol == "OH":
        return dict(HYDROXIDE_RADII) if oxidation == -1 else {}
    raw = _element(symbol).data.get("Shannon radii", {}).get(str(oxidation), {})
    table: dict[int, float] = {}
    plain_first = sorted(raw, key=lambda label: label.strip("IVX") != "")
    for label in plain_first:
        match = re.match(r"[IVX]+", label)
        if match is None or _roman_to_int(match.group()) in table:
            continue
        cn = _roman_to_int(match.group())
        spins = raw[label]
        entry = spins.get("", spins.get("High Spin", next(iter(spins.values()))))
        table[cn] = float(entry["ionic_radius"])
    return table


def shannon_radius(symbol: str, oxidation: int, coordination: int) -> float:
    """Shannon ionic radius of a species, filling a missing coordination number.

    Parameters
    ----------
    symbol : str
        Element symbol, or ``"OH"`` for hydroxide.
    oxidation : int
        Formal oxidation state.
    coordination : int
        Coordination number wanted.

    Returns
    -------
    float
        Radius in angstrom: the tabulated value when Shannon lists this coordination number;
        otherwise linear interpolation between the nearest listed numbers below and above
        (Li+ at V: mean of IV 0.59 and VI 0.76, 0.675); otherwise the nearest listed number.

    Raises
    ------
    DescriptorError
        If Shannon lists no radius for this element and oxidation state at all.

    Examples
    --------
    >>> shannon_radius("Na", 1, 5)
    1.0
    >>> shannon_radius("OH", -1, 2)
    1.32
    """
    table = _shannon_table(symbol, oxidation)
    if not table:
        raise DescriptorError(
            f"no Shannon ionic radius for {symbol}{oxidation:+d} at any coordination; "
            "use an oxidation state Shannon (1976) lists"
        )
    if coordination in table:
        return table[coordination]
    below = [cn for cn in table if cn < coordination]
    above = [cn for cn in table if cn > coordination]
    if below and above:
        lo, hi = max(below), min(above)
        weight = (coordination - lo) / (hi - lo)
        return round(table[lo] + weight * (table[hi] - table[lo]), 6)
    return table[max(below) if below else min(above)]


# ----------------------------------------------------------------------- element properties
def _element(symbol: str) -> Element:
    try:
        return Element(symbol)
    except ValueError:
        raise DescriptorError(f"{symbol!r} is not a chemical element (or OH)") from None


def _electronegativity(el: Element) -> float:
    with warnings.catch_warnings():  # pymatgen warns and returns NaN when a value is missing
        warnings.simplefilter("ignore", UserWarning)
        value = float(el.X)
    if not math.isfinite(value):
        raise DescriptorError(f"no Pauling electronegativity for {el.symbol}")
    return value


def _ionisation(el: Element) -> float:
    energies = el.ionization_energies
    value = energies[0] if energies else None
    if value is None or not math.isfinite(value):
        raise DescriptorError(f"no first ionisation energy for {el.symbol}")
    return float(value)


@cache
def _species(symbol: str, oxidation: int, coordination: int) -> _Species:
    """The seven properties of one species; OH takes group values (see docs/descriptors.md)."""
    hydroxide = symbol == "OH"  # atom properties are those of O, the atom bonded to M
    el = Element("O") if hydroxide else _element(symbol)
    mass = float(el.atomic_mass) + (float(Element("H").atomic_mass) if hydroxide else 0.0)
    return _Species(
        radius=shannon_radius(symbol, oxidation, coordination),
        electronegativity=_electronegativity(el),
        oxidation=float(oxidation),
        mass=mass,
        period=float(el.row),
        group=float(el.group),
        ionisation=_ionisation(el),
    )


def _ionicity(chi_a: float, chi_b: float) -> float:
    """Pauling's fractional ionic character of a bond, 1 - exp(-(delta chi)^2 / 4)."""
    return 1.0 - math.exp(-((chi_a - chi_b) ** 2) / 4.0)


def _row(candidate: Candidate) -> list[float]:
    sites = candidate.sites
    ox = candidate.oxidation_states
    props: dict[str, _Species] = {}
    for site in SITES:
        try:
            props[site] = _species(sites[site], ox[site], SITE_COORDINATION[site])
        except DescriptorError as exc:
            raise DescriptorError(f"{candidate.id}: site {site}: {exc}") from None
    a, m, x, z = (props[s] for s in SITES)
    chi_o = _electronegativity(Element(FRAMEWORK_ANION))
    values = {
        f"{site}_{kind}": getattr(props[site], kind)
        for site in SITES
        for kind, *_ in _ELEMENT_KINDS
    }
    values |= {
        "A_Z_bond_length": a.radius + z.radius,
        "M_Z_bond_length": m.radius + z.radius,
        "M_Z_ionicity": _ionicity(m.electronegativity, z.electronegativity),
        "M_ionic_potential": m.oxidation / m.radius,
        "X_O_ionicity": _ionicity(x.electronegativity, chi_o),
        "X_ionic_potential": x.oxidation / x.radius,
    }
    return [values[spec.name] for spec in FEATURES]


# ----------------------------------------------------------------------------------- table
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


def compute_descriptors(candidates: Iterable[Candidate]) -> DescriptorTable:
    """Raw descriptors (physical units) for each candidate, one row each, in the given order.

    Parameters
    ----------
    candidates : iterable of Candidate
        For example a :class:`~workflows.composition_space.CompositionSpace`.

    Returns
    -------
    DescriptorTable
        ``len(FEATURES)`` (34) columns named as in :data:`FEATURES`.

    Raises
    ------
    DescriptorError
        If there is no candidate, or a species lacks a property that cannot be filled; the
        one-line message names the candidate, site, species and property.

    Examples
    --------
    >>> from workflows.composition_space import default_space
    >>> table = compute_descriptors(default_space())
    >>> table.values.shape
    (318, 34)
    >>> float(table.column("Z_radius")[table.ids.index("Li-Al-P-OH")])
    1.32
    """
    candidates = list(candidates)
    if not candidates:
        raise DescriptorError("no candidates to describe")
    return DescriptorTable(
        names=tuple(spec.name for spec in FEATURES),
        ids=tuple(c.id for c in candidates),
        values=np.array([_row(c) for c in candidates], dtype=np.float64),
        site_of=tuple(spec.site for spec in FEATURES),
        kind_of=tuple(spec.kind for spec in FEATURES),
    )


# ------------------------------------------------------------------------------- scaling
class DescriptorScaler:
    """Standardise descriptor columns to zero mean and unit variance over a reference pool.

    Fit on the whole candidate pool (it is finite and known in advance, so this uses no
    barrier data); for Li -> Na transfer fit on the union of both carriers' pools so that both
    searches share one feature space.

    Parameters
    ----------
    drop_constant : bool, default=True
        Drop columns whose standard deviation over the pool is zero (within a relative
        ``CONSTANT_RTOL``). If False they are kept, centred to 0 with unit scale.

    Attributes
    ----------
    names_in_ : tuple of str
        Columns of the fitted table.
    mean_, scale_ : ndarray of shape (n_features_in,)
        Pool mean and population standard deviation (1 for constant columns).
    kept_ : tuple of int
        Indices into ``names_in_`` of the output columns, in order.
    dropped_ : tuple of str
        Names of the constant columns left out.
    """

    def __init__(self, *, drop_constant: bool = True) -> None:
        self.drop_constant = drop_constant

    def fit(self, table: DescriptorTable) -> Self:
        """Learn the pool mean and scale of each column; returns ``self``.

        Raises
        ------
        DescriptorError
            If every column is constant over the pool (nothing would be left to learn from).
        """
        mean = table.values.mean(axis=0)
        scale = table.values.std(axis=0)
        constant = scale <= CONSTANT_RTOL * np.maximum(1.0, np.abs(mean))
        if self.drop_constant and constant.all():
            raise DescriptorError(
                f"every descriptor is constant over the {table.n_candidates}-candidate pool; "
                "fit the scaler on the whole pool, not on one composition"
            )
        self.names_in_ = table.names
        self.mean_ = mean
        self.scale_ = np.where(constant, 1.0, scale)
        keep = ~constant if self.drop_constant else np.ones_like(constant)
        self.kept_ = tuple(int(j) for j in np.flatnonzero(keep))
        self.dropped_ = tuple(
            n for n, c in zip(table.names, constant, strict=True) if c and self.drop_constant
        )
        return self

    def transform(self, table: DescriptorTable) -> DescriptorTable:
        """Standardise ``table`` with the fitted statistics and keep the fitted columns.

        Group indices of the result (:meth:`DescriptorTable.groups`) refer to its own columns.

        Raises
        ------
        DescriptorError
            If the scaler is not fitted or ``table`` has other columns than the fitted one.
        """
        if not hasattr(self, "names_in_"):
            raise DescriptorError("DescriptorScaler is not fitted; call fit(pool_table) first")
        if table.names != self.names_in_:
            raise DescriptorError(
                "table columns differ from those the scaler was fitted on; "
                "compute both with the same compute_descriptors version"
            )
        z = (table.values - self.mean_) / self.scale_
        keep = list(self.kept_)
        return DescriptorTable(
            names=tuple(table.names[j] for j in keep),
            ids=table.ids,
            values=z[:, keep],
            site_of=tuple(table.site_of[j] for j in keep),
            kind_of=tuple(table.kind_of[j] for j in keep),
        )

    def fit_transform(self, table: DescriptorTable) -> DescriptorTable:
        """``fit(table).transform(table)``."""
        return self.fit(table).transform(table)


def standardise(
    table: DescriptorTable,
    reference: DescriptorTable | None = None,
    *,
    drop_constant: bool = True,
) -> DescriptorTable:
    """Standardise ``table`` with statistics of ``reference`` (default: ``table`` itself).

    Parameters
    ----------
    table : DescriptorTable
        Raw descriptors to transform.
    reference : DescriptorTable, optional
        The pool to fit on, e.g. the union of Li and Na candidates for transfer learning, so
        Li and Na rows land in one feature space with the same columns.
    drop_constant : bool, default=True
        See :class:`DescriptorScaler`.

    Returns
    -------
    DescriptorTable
        Same rows as ``table``; the columns not constant over ``reference``.

    Examples
    --------
    >>> from workflows.composition_space import default_space
    >>> pool = compute_descriptors(default_space())
    >>> z = standardise(pool)
    >>> z.n_features, list(z.groups("site"))
    (31, ['A', 'M', 'X', 'Z'])
    >>> na = pool.subset([i for i in pool.ids if i.startswith("Na-")])
    >>> standardise(na, reference=pool).names == z.names
    True
    """
    scaler = DescriptorScaler(drop_constant=drop_constant)
    return scaler.fit(reference if reference is not None else table).transform(table)
