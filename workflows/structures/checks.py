"""Sanity checks of a tavorite cell against its candidate.

:func:`check_structure` (importable from ``workflows.structures.tavorite`` too) checks generated,
relaxed and super-cells: composition, charge balance, interatomic distances, and the M
octahedra and X tetrahedra.
"""

from __future__ import annotations

from pymatgen.core import Composition, Species, Structure

from workflows.errors import StructureError
from workflows.space.compositions import Candidate
from workflows.space.site_chemistry import (
    _MOLECULAR_ANIONS,
    _role_species,
    _site_radii,
    shannon_radius,
)

__all__ = [
    "COORDINATION_TOLERANCE",
    "MIN_DISTANCE",
    "MIN_DISTANCE_H",
    "MIN_DISTANCE_OH",
    "check_structure",
    "framework_bonds",
]

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


def framework_bonds(structure: Structure, candidate: Candidate) -> dict[int, frozenset[int]]:
    """Anion neighbours of every M and X site: the bond network of the framework.

    A bond is an M-anion (O or Z) or X-O pair closer than :data:`COORDINATION_TOLERANCE` times
    the Shannon radius sum. Keys are site indices of M and X atoms, values the bonded anions'
    indices, so two cells with the same atom order (a relaxation, a NEB image) compare directly.
    """
    radii = _site_radii(candidate)
    anion_radius = {"O": radii["O"], "F": shannon_radius("F", -1, 2)}
    if candidate.z not in _MOLECULAR_ANIONS:
        anion_radius.setdefault(candidate.z, radii["Z"])
    bonds: dict[int, frozenset[int]] = {}
    for element, role in ((candidate.m, "M"), (candidate.x, "X")):
        cutoffs = {an: COORDINATION_TOLERANCE * (radii[role] + r) for an, r in anion_radius.items()}
        allowed = {"O"} if role == "X" else set(anion_radius)
        for index, site in enumerate(structure):
            if site.specie.symbol != element:
                continue
            bonds[index] = frozenset(
                n.index
                for n in structure.get_neighbors(site, max(cutoffs.values()))
                if n.specie.symbol in allowed and n.nn_distance < cutoffs[n.specie.symbol]
            )
    return bonds


def _check_coordination(structure: Structure, candidate: Candidate) -> None:
    bonds = framework_bonds(structure, candidate)
    rules = ((candidate.m, "M", 6, "octahedral"), (candidate.x, "X", 4, "tetrahedral"))
    for element, role, wanted, shape in rules:
        for index, site in enumerate(structure):
            if site.specie.symbol != element or len(bonds[index]) == wanted:
                continue
            kinds = "O" if role == "X" else "anion"
            raise StructureError(
                f"{candidate.id}: {role} site {index} ({element}) has {len(bonds[index])} {kinds} "
                f"neighbours within {COORDINATION_TOLERANCE} x Shannon sum, expected {wanted} "
                f"({shape})"
            )
