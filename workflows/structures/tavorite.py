"""Candidate -> starting tavorite structure: substitution, volume guess, sanity checks, supercells.

Every structure is built from one prototype, the LiVPO4F tavorite shipped with the package
(``workflows/data/LiVPO4F_tavorite.cif``; P-1, Z = 2, 16 atoms). Li, V, P and F become A, M, X
and Z; for Z = OH a proton is added to each Z oxygen. The cell is then scaled isotropically to a
predicted volume (bond-count-weighted Shannon radii by default, see :func:`shannon_scale_factor`).
The result is a starting point for a relaxation, not a relaxed structure.

All functions are pure and deterministic: the same candidate always gives the identical structure.

This module builds the structure. Shannon radii and site species are in
:mod:`workflows.space.site_chemistry`, :func:`check_structure` is in
:mod:`workflows.structures.checks` and the NEB supercells are in
:mod:`workflows.structures.supercells`.
"""

from __future__ import annotations

import logging
import warnings
from functools import cache
from importlib import resources
from typing import Literal, get_args

import numpy as np
from pymatgen.core import Lattice, Species, Structure
from pymatgen.core.periodic_table import Element

from workflows.errors import CompositionError, ConfigError, StructureError, TavboWarning
from workflows.space.compositions import Candidate
from workflows.space.site_chemistry import _MOLECULAR_ANIONS, _role_species, _site_radii

__all__ = [
    "DEFAULT_VOLUME_METHOD",
    "H_CATION_MIN_DISTANCE",
    "OH_BOND_LENGTH",
    "PROTOTYPE",
    "PROTOTYPE_BONDS",
    "VOLUME_METHODS",
    "VolumeMethod",
    "make_structure",
    "predict_volume",
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

#: O-H bond length of the hydroxide on Z, in angstrom.
OH_BOND_LENGTH = 0.97
#: A placed proton must stay at least this far (angstrom) from every cation.
H_CATION_MIN_DISTANCE = 1.8


# --------------------------------------------------------------------------- volume


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
    >>> from workflows.space.compositions import default_space
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
