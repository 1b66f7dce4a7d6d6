"""Candidate -> starting tavorite structure: substitution, volume guess, sanity checks, supercells.

Every structure is built from one prototype, the LiVPO4F tavorite shipped with the package
(``workflows/data/LiVPO4F_tavorite.cif``; P-1, Z = 2, 16 atoms). Li, V, P and F become A, M, X
and Z; for Z = OH a proton is added to each Z oxygen. The cell is then scaled isotropically to a
predicted volume (bond-count-weighted Shannon radii by default, see :func:`shannon_scale_factor`).
The result is a starting point for a relaxation, not a relaxed structure.

All functions are pure and deterministic: the same candidate always gives the identical structure.
"""

from __future__ import annotations

import itertools
import logging
import math
import warnings
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
from pymatgen.core import Composition, Lattice, Species, Structure
from pymatgen.core.periodic_table import Element

from workflows.composition_space import Candidate
from workflows.errors import CompositionError, ConfigError, StructureError, TavboWarning

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "COORDINATION_TOLERANCE",
    "DEFAULT_VOLUME_METHOD",
    "H_CATION_MIN_DISTANCE",
    "MIN_DISTANCE",
    "MIN_DISTANCE_H",
    "MIN_DISTANCE_OH",
    "OH_BOND_LENGTH",
    "PROTOTYPE",
    "PROTOTYPE_BONDS",
    "SITE_COORDINATION",
    "VOLUME_METHODS",
    "VolumeMethod",
    "check_structure",
    "find_supercell_matrix",
    "make_structure",
    "make_supercell",
    "perpendicular_widths",
    "predict_volume",
    "shannon_radius",
    "shannon_scale_factor",
]

logger = logging.getLogger(__name__)

VolumeMethod = Literal["shannon", "dls", "rls", "none"]
#: Valid ``volume_method`` values: bond-count-weighted Shannon radii, pymatgen's data-mined (DLS)
#: and reference (RLS) lattice scaling against the prototype, or the prototype volume unchanged.
VOLUME_METHODS: tuple[str, ...] = get_args(VolumeMethod)
#: Shannon scaling came closest to CHGNet-relaxed volumes (docs/structures.md).
DEFAULT_VOLUME_METHOD: VolumeMethod = "shannon"

PROTOTYPE_FILE = "LiVPO4F_tavorite.cif"
#: The prototype composition, LiV(3+)P(5+)O4F, as a candidate (the reference of every scaling).
PROTOTYPE = Candidate("Li", "V", "P", "F", 1, 3, 5, -1)
#: Element of the prototype -> site role ("O" is the framework oxygen of the XO4 tetrahedron).
_PROTOTYPE_ROLES = {"Li": "A", "V": "M", "P": "X", "O": "O", "F": "Z"}

#: Cation-anion bonds per formula unit of the prototype as (cation site, anion site, count):
#: A is five-coordinate (4 O + Z), M octahedral (4 O + 2 Z), X tetrahedral (4 O).
PROTOTYPE_BONDS: tuple[tuple[str, str, int], ...] = (
    ("A", "O", 4),
    ("A", "Z", 1),
    ("M", "O", 4),
    ("M", "Z", 2),
    ("X", "O", 4),
)
#: Coordination number used to look up each site's Shannon radius.
SITE_COORDINATION = {"A": 5, "M": 6, "X": 4, "O": 2, "Z": 2}

#: Shannon (1976) radii of OH- by coordination number, in angstrom (absent from pymatgen's table).
_HYDROXIDE_RADII = {2: 1.32, 3: 1.34, 4: 1.35, 6: 1.37}

#: O-H bond length of the hydroxide on Z, in angstrom.
OH_BOND_LENGTH = 0.97
#: A placed proton must stay at least this far (angstrom) from every cation.
H_CATION_MIN_DISTANCE = 1.8
#: Minimum distance (angstrom) between two atoms of any pair without H. The shortest real bond
#: here is S(6+)-O, 1.47 A (Shannon sum) and about 1.44 A in sulfates; 1.2 A leaves a margin for
#: relaxed or strained cells while catching overlapping or wrongly wrapped atoms.
MIN_DISTANCE = 1.2
#: Minimum O-H distance (angstrom): the hydroxide bond is 0.96-0.98 A, so 0.85 A means collapse.
MIN_DISTANCE_OH = 0.85
#: Minimum distance (angstrom) between H and any atom other than O (a proton next to a cation or
#: another proton is unphysical well before this).
MIN_DISTANCE_H = 1.5
#: An anion is bonded to M or X when closer than this factor times the Shannon radius sum. In
#: the prototype the bonds sit at 0.98-1.05 of the sum and the next anions at 1.78 or more. The
#: isotropic scaling strains the extremes of the default space (M = Sr with X = S): there bonds
#: reach 1.24 of the sum (S-O) and the next anion comes to 1.54 (around Sr); 1.4 splits the gap.
COORDINATION_TOLERANCE = 1.4

_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9}
_ROMAN.update({"X": 10, "XI": 11, "XII": 12, "XIV": 14})
_MOLECULAR_ANIONS = {"OH": ("O", "H")}


# --------------------------------------------------------------------------- Shannon radii


def shannon_radius(species: str, oxidation_state: int, coordination: int) -> float:
    """Shannon (1976) effective ionic radius, in angstrom.

    If the radius is not tabulated for this coordination number, the nearest tabulated one is
    used, and on a tie the higher one (Li+ has no CN V radius: CN VI, 0.76 A, is used; it
    reproduces the prototype's mean Li-anion bond of 2.07 A better than CN IV, 0.59 A). For
    ions with several spin states the high-spin radius is used.

    Parameters
    ----------
    species : str
        Element symbol, or ``"OH"`` for hydroxide (radii from Shannon's table, not in pymatgen).
    oxidation_state : int
        Formal oxidation state.
    coordination : int
        Coordination number.

    Returns
    -------
    float
        Ionic radius in angstrom.

    Raises
    ------
    CompositionError
        If no Shannon radius is tabulated for this ion at any coordination.
    """
    table = _radius_table(species, oxidation_state)
    if not table:
        raise CompositionError(
            f"no Shannon radius for {species}{oxidation_state:+d}; choose another oxidation state"
        )
    cn = min(table, key=lambda n: (abs(n - coordination), -n))
    if cn != coordination:
        logger.debug(
            "no CN %d radius for %s%+d; using CN %d", coordination, species, oxidation_state, cn
        )
    return table[cn]


@cache
def _radius_table(species: str, oxidation_state: int) -> dict[int, float]:
    """Coordination number -> Shannon ionic radius (angstrom) for one ion."""
    if species == "OH":
        return dict(_HYDROXIDE_RADII) if oxidation_state == -1 else {}
    data = Element(species).data.get("Shannon radii", {}).get(str(oxidation_state), {})
    table = {}
    for cn_label, spins in data.items():
        if cn_label not in _ROMAN:  # skips square-planar ("IVSQ") and pyramidal ("IVPY") entries
            continue
        spin = spins.get("High Spin") or spins.get("") or next(iter(spins.values()))
        table[_ROMAN[cn_label]] = float(spin["ionic_radius"])
    return table


def _site_radii(candidate: Candidate) -> dict[str, float]:
    """Site role -> Shannon radius (angstrom) at the coordination in :data:`SITE_COORDINATION`."""
    species = {
        "A": (candidate.carrier, candidate.ox_a),
        "M": (candidate.m, candidate.ox_m),
        "X": (candidate.x, candidate.ox_x),
        "O": ("O", -2),
        "Z": (candidate.z, candidate.ox_z),
    }
    return {
        role: shannon_radius(el, ox, SITE_COORDINATION[role]) for role, (el, ox) in species.items()
    }


def shannon_scale_factor(candidate: Candidate, reference: Candidate = PROTOTYPE) -> float:
    """Linear scale factor of the cell from Shannon radii, weighted by bond counts.

    The factor is the mean over the 15 cation-anion bonds per formula unit
    (:data:`PROTOTYPE_BONDS`: 5 A-anion, 6 M-anion, 4 X-O) of
    ``(r_cation + r_anion)_candidate / (r_cation + r_anion)_reference``; the volume factor is its
    cube. Radii are taken at CN V for A, VI for M, IV for X and II for the anions.

    Parameters
    ----------
    candidate : Candidate
        Composition to scale to.
    reference : Candidate, default=PROTOTYPE
        Composition of the cell being scaled (LiVPO4F).

    Returns
    -------
    float
        Linear (not volume) scale factor, dimensionless.
    """
    new, old = _site_radii(candidate), _site_radii(reference)
    ratios = [
        (count, (new[cat] + new[an]) / (old[cat] + old[an])) for cat, an, count in PROTOTYPE_BONDS
    ]
    return sum(n * r for n, r in ratios) / sum(n for n, _ in ratios)


# --------------------------------------------------------------------------- building


@cache
def _prototype_sites() -> tuple[tuple[tuple[float, ...], ...], tuple[str, ...], np.ndarray]:
    """Lattice matrix, site roles and fractional coordinates of the prototype (read once)."""
    text = resources.files("workflows.data").joinpath(PROTOTYPE_FILE).read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CifParser notes on the symmetry-expanded sites
        proto = Structure.from_str(text, fmt="cif")
    roles = tuple(_PROTOTYPE_ROLES[site.specie.symbol] for site in proto)
    matrix = tuple(tuple(float(v) for v in row) for row in proto.lattice.matrix)
    frac = proto.frac_coords.copy()
    frac.setflags(write=False)
    return matrix, roles, frac


def _role_species(candidate: Candidate) -> dict[str, Species]:
    """Site role -> decorated species; Z of OH is its oxygen (the proton is added separately)."""
    z = _MOLECULAR_ANIONS.get(candidate.z, (candidate.z,))[0]
    z_ox = -2 if candidate.z in _MOLECULAR_ANIONS else candidate.ox_z
    return {
        "A": Species(candidate.carrier, candidate.ox_a),
        "M": Species(candidate.m, candidate.ox_m),
        "X": Species(candidate.x, candidate.ox_x),
        "O": Species("O", -2),
        "Z": Species(z, z_ox),
    }


def _validate_candidate(candidate: Candidate) -> None:
    if candidate.framework_oxygen != 4:
        raise CompositionError(
            f"{candidate.id}: the tavorite prototype has XO4 tetrahedra, "
            f"got framework_oxygen={candidate.framework_oxygen}"
        )
    if candidate.z not in _MOLECULAR_ANIONS and not Element.is_valid_symbol(candidate.z):
        raise CompositionError(f"{candidate.id}: Z={candidate.z!r}; expected an element or OH")
    if candidate.z in _MOLECULAR_ANIONS and candidate.ox_z != -1:
        raise CompositionError(f"{candidate.id}: OH on Z must be -1, got {candidate.ox_z:+d}")
    if candidate.m == candidate.x:
        raise CompositionError(
            f"{candidate.id}: M and X are both {candidate.m}; sites could not be told apart"
        )


def _framework(candidate: Candidate) -> Structure:
    """Prototype geometry with substituted, decorated species and no protons (16 atoms)."""
    matrix, roles, frac = _prototype_sites()
    species = _role_species(candidate)
    return Structure(Lattice(matrix), [species[r] for r in roles], frac)


def predict_volume(
    candidate: Candidate, volume_method: VolumeMethod = DEFAULT_VOLUME_METHOD
) -> float:
    """Predicted volume of the 16-atom (Z = 2) tavorite cell, in cubic angstrom.

    Parameters
    ----------
    candidate : Candidate
        Composition.
    volume_method : {"shannon", "dls", "rls", "none"}, default="shannon"
        ``"shannon"``: cube of :func:`shannon_scale_factor` times the prototype volume.
        ``"dls"``: pymatgen's ``DLSVolumePredictor`` on the substituted prototype.
        ``"rls"``: pymatgen's ``RLSVolumePredictor`` with the prototype as reference (ionic radii;
        the isostructural check is skipped: the structures are isostructural by construction).
        ``"none"``: the prototype volume (175.0 A^3).
        Protons of OH are left out of the DLS and RLS input: the O-H bond is fixed at 0.97 A.
        Against CHGNet-relaxed cells (docs/structures.md) Shannon erred by 3.8 % on average,
        DLS by 12 % (up to +40 % for Na with a small M), RLS by 7 % for Z = F and -47 % for
        Z = O or OH.

    Warns
    -----
    TavboWarning
        For ``"rls"`` with Z = O or OH.

    Returns
    -------
    float
        Volume in cubic angstrom.

    Raises
    ------
    ConfigError
        If ``volume_method`` is not one of :data:`VOLUME_METHODS`.
    """
    proto_volume = Lattice(_prototype_sites()[0]).volume
    if volume_method == "shannon":
        return proto_volume * shannon_scale_factor(candidate) ** 3
    if volume_method == "none":
        return proto_volume
    # pymatgen.core.structure_prediction is the home since 2025; pymatgen.analysis re-exports it.
    from pymatgen.core.structure_prediction.volume_predictor import (
        DLSVolumePredictor,
        RLSVolumePredictor,
    )

    framework = _framework(candidate)
    if volume_method == "dls":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no bond parameters, used atomic radii" notes
            return float(DLSVolumePredictor().predict(framework.remove_oxidation_states()))
    if volume_method == "rls":
        if _role_species(candidate)["Z"] == _role_species(candidate)["O"]:
            warnings.warn(
                f"{candidate.id}: RLS volume is about half the relaxed one when Z is O or OH "
                "(Z merges into the O count of the composition); use volume_method='shannon'",
                TavboWarning,
                stacklevel=2,
            )
        reference = _framework(PROTOTYPE)
        predictor = RLSVolumePredictor(check_isostructural=False, radii_type="ionic")
        return float(predictor.predict(framework, reference))
    raise ConfigError(f"invalid {volume_method=}; valid options are {list(VOLUME_METHODS)}")


def make_structure(
    candidate: Candidate, volume_method: VolumeMethod = DEFAULT_VOLUME_METHOD
) -> Structure:
    """Starting tavorite structure of one composition (P-1, Z = 2; 16 atoms, 18 for Z = OH).

    Li, V, P and F of the LiVPO4F prototype become A, M, X and Z (for Z = O the F site becomes
    O). The cell is scaled isotropically to :func:`predict_volume`. For Z = OH the Z oxygen gets
    a proton at :data:`OH_BOND_LENGTH` along the direction that makes equal, largest angles with
    its three cation bonds (two M and one A): pointing away from the M-Z-M bridge alone would put
    H about 1.1 A from the carrier. Sites carry oxidation states (OH as O2- and H+). Site order
    is the prototype's (A, M, X, O, Z) with H last.

    Parameters
    ----------
    candidate : Candidate
        Composition, e.g. ``default_space().get("Na-Ga-P-F")``.
    volume_method : {"shannon", "dls", "rls", "none"}, default="shannon"
        Volume predictor; see :func:`predict_volume`.

    Returns
    -------
    Structure
        A new, oxidation-state-decorated structure.

    Raises
    ------
    CompositionError
        If the candidate cannot be placed on the prototype (not XO4, M and X the same element).
    StructureError
        If a placed proton ends up closer than :data:`H_CATION_MIN_DISTANCE` to a cation.

    Examples
    --------
    >>> from workflows.composition_space import default_space
    >>> s = make_structure(default_space().get("Li-Al-P-OH"))
    >>> s.composition.reduced_formula, len(s)
    ('LiAlPHO5', 18)
    """
    _validate_candidate(candidate)
    structure = _framework(candidate)
    volume = predict_volume(candidate, volume_method)
    structure.scale_lattice(volume)
    if candidate.z in _MOLECULAR_ANIONS:
        _add_protons(structure, candidate)
    logger.debug("%s: %s volume %.1f A^3", candidate.id, volume_method, volume)
    return structure


def _add_protons(structure: Structure, candidate: Candidate) -> None:
    """Append one H+ per Z oxygen (in place), away from the Z oxygen's cation neighbours."""
    _, roles, _ = _prototype_sites()
    species = _role_species(candidate)
    positions = []
    for index in (i for i, role in enumerate(roles) if role == "Z"):
        centre = structure[index].coords
        neighbours = sorted(
            structure.get_neighbors(structure[index], 4.0), key=lambda n: (n.nn_distance, n.index)
        )
        bonded = [n for n in neighbours if n.specie == species["M"]][:2]
        bonded += [n for n in neighbours if n.specie == species["A"]][:1]
        units = np.array([(n.coords - centre) / n.nn_distance for n in bonded])
        positions.append(centre + OH_BOND_LENGTH * _away_from(units))
    for position in positions:
        frac = structure.lattice.get_fractional_coords(position) % 1.0  # wrapped into the cell
        structure.append(Species("H", 1), frac)
    _check_proton_clearance(structure, candidate)


def _away_from(units: np.ndarray) -> np.ndarray:
    """Unit vector at equal, largest angles to the given bond unit vectors (shape ``(k, 3)``).

    For three bonds it is the normal of the plane through their tips, on the side away from them;
    for fewer, the negative of their sum.
    """
    if len(units) >= 3:
        direction = np.cross(units[1] - units[0], units[2] - units[0])
        if direction @ units.sum(axis=0) > 0:
            direction = -direction
    else:
        direction = -units.sum(axis=0)
    return direction / np.linalg.norm(direction)


def _check_proton_clearance(structure: Structure, candidate: Candidate) -> None:
    not_cations = {"O", "F", "H", *_MOLECULAR_ANIONS.get(candidate.z, (candidate.z,))}
    for site in structure:
        if site.specie.symbol != "H":
            continue
        for n in structure.get_neighbors(site, H_CATION_MIN_DISTANCE):
            if n.specie.symbol not in not_cations:
                raise StructureError(
                    f"{candidate.id}: proton placed {n.nn_distance:.2f} A from {n.specie}, closer "
                    f"than {H_CATION_MIN_DISTANCE} A; try another volume_method"
                )


# --------------------------------------------------------------------------- sanity checks


def check_structure(structure: Structure, candidate: Candidate) -> None:
    """Check that a (generated, relaxed or super-) cell is a sane tavorite of this candidate.

    Checks, in order: the composition is the candidate's; the oxidation states sum to zero
    (undecorated structures are decorated from the candidate first); no two atoms are closer
    than :data:`MIN_DISTANCE` (:data:`MIN_DISTANCE_OH` for O-H, :data:`MIN_DISTANCE_H` for H
    with anything else); every M has 6 anion neighbours and every X 4 O neighbours within
    :data:`COORDINATION_TOLERANCE` times the Shannon radius sum.

    Parameters
    ----------
    structure : Structure
        Cell to check (any supercell of the formula unit).
    candidate : Candidate
        Composition it should have.

    Raises
    ------
    StructureError
        On the first failed check, with a one-line message naming the sites involved.
    """
    _check_composition(structure, candidate)
    structure = _decorated(structure, candidate)
    _check_charge(structure, candidate)
    _check_distances(structure, candidate)
    _check_coordination(structure, candidate)


def _check_composition(structure: Structure, candidate: Candidate) -> None:
    expected = Composition(candidate.formula).reduced_composition
    found = structure.composition.element_composition.reduced_composition
    if not found.almost_equals(expected):
        raise StructureError(
            f"{candidate.id}: structure has composition {found.formula}, "
            f"expected {candidate.formula}"
        )


def _decorated(structure: Structure, candidate: Candidate) -> Structure:
    if all(isinstance(site.specie, Species) for site in structure):
        return structure
    by_element = {sp.symbol: sp.oxi_state for sp in _role_species(candidate).values()}
    if candidate.z in _MOLECULAR_ANIONS:
        by_element["H"] = 1
    decorated = structure.copy()
    decorated.remove_oxidation_states()
    decorated.add_oxidation_state_by_element(by_element)
    return decorated


def _check_charge(structure: Structure, candidate: Candidate) -> None:
    charge = sum(float(site.specie.oxi_state or 0) for site in structure)
    if abs(charge) > 1e-6:
        raise StructureError(
            f"{candidate.id}: oxidation states sum to {charge:+g} per cell, must be 0"
        )


def _min_distance(a: str, b: str) -> float:
    pair = {a, b}
    if pair == {"O", "H"}:
        return MIN_DISTANCE_OH
    if "H" in pair:
        return MIN_DISTANCE_H
    return MIN_DISTANCE


def _check_distances(structure: Structure, candidate: Candidate) -> None:
    centres, points, _, distances = structure.get_neighbor_list(max(MIN_DISTANCE, MIN_DISTANCE_H))
    symbols = [site.specie.symbol for site in structure]
    for i, j, d in sorted(zip(centres, points, distances, strict=True), key=lambda t: t[2]):
        limit = _min_distance(symbols[i], symbols[j])
        if d < limit:
            raise StructureError(
                f"{candidate.id}: atoms {i} ({symbols[i]}) and {j} ({symbols[j]}) are {d:.2f} A "
                f"apart, closer than the {limit} A allowed for {symbols[i]}-{symbols[j]}"
            )


def _check_coordination(structure: Structure, candidate: Candidate) -> None:
    radii = _site_radii(candidate)
    anion_radius = {"O": radii["O"], "F": shannon_radius("F", -1, 2)}
    if candidate.z not in _MOLECULAR_ANIONS:
        anion_radius.setdefault(candidate.z, radii["Z"])
    rules = ((candidate.m, "M", 6, "octahedral"), (candidate.x, "X", 4, "tetrahedral"))
    for element, role, wanted, shape in rules:
        cutoffs = {an: COORDINATION_TOLERANCE * (radii[role] + r) for an, r in anion_radius.items()}
        allowed = {"O"} if role == "X" else set(anion_radius)
        for index, site in enumerate(structure):
            if site.specie.symbol != element:
                continue
            bonded = [
                n
                for n in structure.get_neighbors(site, max(cutoffs.values()))
                if n.specie.symbol in allowed and n.nn_distance < cutoffs[n.specie.symbol]
            ]
            if len(bonded) != wanted:
                kinds = "O" if role == "X" else "anion"
                raise StructureError(
                    f"{candidate.id}: {role} site {index} ({element}) has {len(bonded)} {kinds} "
                    f"neighbours within {COORDINATION_TOLERANCE} x Shannon sum, expected {wanted} "
                    f"({shape})"
                )


# --------------------------------------------------------------------------- supercells


def perpendicular_widths(lattice: Lattice) -> np.ndarray:
    """Distances between opposite faces of the cell, in angstrom, shape ``(3,)``.

    A sphere of diameter ``min(widths)`` fits in the cell, so every periodic image of an atom is
    at least that far away, and so is every image of a defect or a migrating ion.
    """
    matrix = np.asarray(lattice.matrix, dtype=float)
    return abs(np.linalg.det(matrix)) / np.linalg.norm(
        np.cross(np.roll(matrix, -1, axis=0), np.roll(matrix, -2, axis=0)), axis=1
    )


def find_supercell_matrix(
    lattice: Lattice, min_image_distance: float = 10.0, max_determinant: int = 200
) -> np.ndarray:
    """Smallest supercell whose perpendicular widths all reach ``min_image_distance``.

    Every sublattice of each index (determinant) n, from the volume bound
    ``n >= min_image_distance**3 / volume`` upwards, is enumerated through its Hermite normal form
    and given its widest basis (the one whose reciprocal basis is shortest). The first n with a
    sublattice wide enough wins; ties go to the widest cell, then the most orthogonal one, then
    the lexicographically smallest matrix, so the answer is deterministic.

    Parameters
    ----------
    lattice : Lattice
        Cell to repeat.
    min_image_distance : float, default=10.0
        Required perpendicular width, in angstrom.
    max_determinant : int, default=200
        Give up beyond this many formula cells.

    Returns
    -------
    numpy.ndarray
        Integer matrix, shape ``(3, 3)``, positive determinant; the supercell lattice is
        ``matrix @ lattice.matrix`` (pymatgen's ``Structure.make_supercell`` convention).

    Raises
    ------
    StructureError
        If no supercell up to ``max_determinant`` is wide enough.
    """
    if min_image_distance <= 0:
        return np.eye(3, dtype=int)
    matrix = np.asarray(lattice.matrix, dtype=float)
    start = max(1, math.ceil(min_image_distance**3 / lattice.volume - 1e-9))
    for det in range(start, max_determinant + 1):
        found = []
        for hnf in _hermite_normal_forms(det):
            basis = _widest_basis(hnf, matrix)
            sc = basis @ matrix
            width = float(perpendicular_widths(Lattice(sc)).min())
            if width >= min_image_distance - 1e-9:
                defect = float(np.prod(np.linalg.norm(sc, axis=1)) / abs(np.linalg.det(sc)))
                found.append((-round(width, 6), round(defect, 6), tuple(basis.ravel()), basis))
        if found:
            return min(found, key=lambda t: t[:3])[3]
    raise StructureError(
        f"no supercell of up to {max_determinant} cells has widths >= {min_image_distance} A; "
        "lower min_image_distance or raise max_determinant"
    )


def _hermite_normal_forms(det: int) -> Iterator[np.ndarray]:
    """Row-style Hermite normal forms of determinant ``det``: one per index-det sublattice."""
    for a in range(1, det + 1):
        if det % a:
            continue
        for d in range(1, det // a + 1):
            if (det // a) % d:
                continue
            f = det // (a * d)
            for b, c, e in itertools.product(range(d), range(f), range(f)):
                yield np.array([[a, b, c], [0, d, e], [0, 0, f]])


_SHORT_COEFFICIENTS = np.array(
    [c for c in itertools.product(range(-2, 3), repeat=3) if any(c)], dtype=int
)
#: How many of the shortest reciprocal vectors are tried in triples (2024 triples).
_N_SHORTEST = 24
_TRIPLES = np.array(list(itertools.combinations(range(_N_SHORTEST), 3)), dtype=int)


def _widest_basis(hnf: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Integer basis (rows) of the sublattice spanned by ``hnf @ matrix`` with the widest cell.

    The widths are ``1 / |reciprocal vectors|``, so the widest cell belongs to the shortest
    reciprocal basis: the best triple, by longest then total length, of the shortest small
    combinations of an LLL-reduced reciprocal basis that has determinant +-1.
    """
    reciprocal = np.linalg.inv(hnf @ matrix).T
    lll_matrix = Lattice(reciprocal).lll_matrix
    to_lll = np.rint(np.linalg.solve(reciprocal.T, lll_matrix.T).T).astype(int)
    coefficients = _SHORT_COEFFICIENTS @ to_lll  # in terms of the reciprocal basis
    lengths = np.round(np.linalg.norm(coefficients @ reciprocal, axis=1), 9)
    order = np.lexsort((*coefficients.T[::-1], lengths))[:_N_SHORTEST]
    triples = order[_TRIPLES]  # (n_triples, 3), indices into coefficients
    dets = np.rint(np.linalg.det(coefficients[triples].astype(float))).astype(int)
    longest = lengths[triples].max(axis=1)
    total = np.round(lengths[triples].sum(axis=1), 9)
    valid = np.flatnonzero(np.abs(dets) == 1)
    if valid.size:
        unimodular = coefficients[triples[valid[np.lexsort((total[valid], longest[valid]))[0]]]]
    else:  # pragma: no cover - the LLL basis is almost always among the shortest vectors
        unimodular = to_lll
    # the reciprocal basis u @ R belongs to the direct basis inv(u).T @ (hnf @ matrix)
    basis = np.rint(np.linalg.inv(unimodular).T).astype(int) @ hnf
    return -basis if np.linalg.det(basis) < 0 else basis


def make_supercell(structure: Structure, min_image_distance: float = 10.0) -> Structure:
    """Smallest supercell whose periodic images are at least ``min_image_distance`` apart.

    Parameters
    ----------
    structure : Structure
        Cell to repeat (not modified).
    min_image_distance : float, default=10.0
        Required perpendicular width of the supercell, in angstrom.

    Returns
    -------
    Structure
        New structure; the matrix is ``find_supercell_matrix(structure.lattice, ...)``.
    """
    matrix = find_supercell_matrix(structure.lattice, min_image_distance)
    return structure.make_supercell(matrix, in_place=False)
