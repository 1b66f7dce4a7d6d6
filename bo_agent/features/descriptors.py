"""Composition-only descriptors: :class:`~workflows.space.compositions.Candidate` -> feature row.

Every site (A carrier, M octahedral, X tetrahedral, Z bridging anion) gets the same seven
physical properties (Shannon ionic radius at the site's coordination, Pauling electronegativity,
formal oxidation state, atomic mass, period, group, first ionisation energy), and six pair
features add bond lengths, bond ionicities and ionic potentials. Each column is tagged with
the site it describes and its kind, so an additive kernel can be built per site or per kind
(:meth:`DescriptorTable.groups`). Values are raw, in physical units; :func:`standardise`
rescales them over a whole candidate pool and drops columns that are constant over it.

Sources, units and the hydroxide (OH) values are listed in ``docs/descriptors.md``. The table type
lives in :mod:`bo_agent.features.table` and the scaler in :mod:`bo_agent.features.scaling`.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
from pymatgen.core.periodic_table import Element

from bo_agent.errors import DescriptorError
from bo_agent.features.table import DescriptorTable
from workflows.space.compositions import SITES, Candidate

__all__ = [
    "FEATURES",
    "SITE_COORDINATION",
    "FeatureSpec",
    "compute_descriptors",
    "shannon_radius",
]


#: Coordination number used for each site's Shannon radius: the carrier sits in a five-fold
#: channel site, M in an octahedron, X in a tetrahedron, and Z bridges two M octahedra.
SITE_COORDINATION: dict[str, int] = {"A": 5, "M": 6, "X": 4, "Z": 2}
#: The framework anion of the XO4 polyanion (used for the X-O bond ionicity).
FRAMEWORK_ANION = "O"
#: Shannon (1976) ionic radii of OH- by coordination number, in angstrom.
HYDROXIDE_RADII: dict[int, float] = {2: 1.32, 3: 1.34, 4: 1.35, 6: 1.37}


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


def compute_descriptors(candidates: Iterable[Candidate]) -> DescriptorTable:
    """Raw descriptors (physical units) for each candidate, one row each, in the given order.

    Parameters
    ----------
    candidates : iterable of Candidate
        For example a :class:`~workflows.space.compositions.CompositionSpace`.

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
    >>> from workflows.space.compositions import default_space
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
