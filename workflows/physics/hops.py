"""Relaxed cell -> distinct carrier hops -> vacancy-mode supercell endpoints (engine-agnostic).

:func:`find_hops` lists the carrier hops up to ``max_distance`` with pymatgen-analysis-diffusion's
``MigrationGraph.with_distance``: the symmetrically distinct ones (each with its multiplicity) and
every hop of the unit cell's periodic graph (what :mod:`workflows.physics.percolation` needs). It
also picks the supercell in which every engine computes the hops.

:func:`hop_endpoints` builds a hop's two vacancy-mode endpoints in that supercell with the same
atom order: the initial one has a vacancy on the end site, the final one the migrating atom moved
there and a vacancy on the start site (so endpoints are continuous: no atom is wrapped).

Relaxing endpoints is the engine's job, but most of it can be skipped by symmetry: see
:mod:`workflows.physics.hop_symmetry`.
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Lattice, Structure

from workflows.errors import StructureError
from workflows.physics.endpoints import Endpoints
from workflows.physics.percolation import periodic_dimension

if TYPE_CHECKING:
    from collections.abc import Iterator


__all__ = [
    "HOP_CUTOFF_EXTENSION",
    "HOP_CUTOFF_STEP",
    "HopEdge",
    "HopInfo",
    "HopSet",
    "carrier_of",
    "find_hops",
    "find_vacancy_supercell_matrix",
    "hop_endpoints",
]

logger = logging.getLogger(__name__)

#: Carrier elements recognised when no carrier is given.
CARRIERS = ("Li", "Na", "K", "Mg", "Ca", "Zn", "Ag", "Cu")
#: Step and largest total increase (angstrom) of the hop cutoff when its hops do not percolate.
HOP_CUTOFF_STEP = 0.25
HOP_CUTOFF_EXTENSION = 1.0


class HopInfo(BaseModel):
    """One symmetrically distinct hop (indices refer to the relaxed unit cell)."""

    hop_index: int = Field(description="Index among the distinct hops, shortest first")
    length: float = Field(description="Hop length, angstrom")
    isite: int = Field(description="Start site index in the unit cell")
    esite: int = Field(description="End site index in the unit cell")
    to_jimage: tuple[int, int, int] = Field(description="Lattice image of the end site")
    multiplicity: int = Field(description="Hops of this kind per unit cell")


class HopEdge(BaseModel):
    """One hop of the unit cell's periodic migration graph (all of them, not only distinct)."""

    isite: int
    esite: int
    to_jimage: tuple[int, int, int]
    hop_index: int


class HopSet(BaseModel):
    """The hops of one relaxed cell and the supercell the engines compute them in."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    carrier: str = Field(description="Migrating element, e.g. Li")
    structure: Structure = Field(description="Relaxed unit cell the hops refer to")
    max_distance: float = Field(description="Longest hop considered, angstrom")
    hops: list[HopInfo] = Field(description="Distinct hops, shortest first")
    edges: list[HopEdge] = Field(description="Every hop of the unit cell's periodic graph")
    supercell_matrix: list[list[int]] = Field(description="Supercell = matrix @ unit lattice")
    wall_time: float | None = Field(None, description="Seconds spent, filled in by the job")


def carrier_of(structure: Structure) -> str:
    """The carrier element of a structure: the first of :data:`CARRIERS` present."""
    elements = [el.symbol for el in structure.composition.element_composition.elements]
    for carrier in CARRIERS:
        if carrier in elements:
            return carrier
    raise StructureError(f"no carrier ion among {elements}; pass carrier= explicitly")


def find_hops(
    structure: Structure,
    carrier: str | None = None,
    *,
    max_distance: float = 5.0,
    min_image_distance: float = 10.0,
    symprec: float = 0.1,
    extend_to_percolation: float = HOP_CUTOFF_EXTENSION,
) -> HopSet:
    """Distinct carrier hops of a relaxed cell, its periodic hop graph and the NEB supercell.

    If the hops up to ``max_distance`` form no infinite network (a barrier would not exist:
    large M cations stretch the Na sublattice of some compositions past 5 A), the cutoff grows
    in :data:`HOP_CUTOFF_STEP` steps, by ``extend_to_percolation`` at most, until they do.
    ``HopSet.max_distance`` is the cutoff used. Compositions whose network percolates within
    ``max_distance`` are unaffected.

    Parameters
    ----------
    structure : Structure
        Relaxed unit cell (oxidation states allowed).
    carrier : str, optional
        Migrating element; default the first of :data:`CARRIERS` present.
    max_distance : float, default=5.0
        Longest hop, angstrom.
    min_image_distance : float, default=10.0
        Smallest distance between periodic images in the supercell, angstrom
        (see :func:`find_vacancy_supercell_matrix`).
    symprec : float, default=0.1
        Symmetry tolerance used to group equivalent hops, angstrom.
    extend_to_percolation : float, default=1.0
        Largest increase of the cutoff searched for a percolating network, angstrom (0: none).

    Returns
    -------
    HopSet

    Raises
    ------
    StructureError
        If there is no carrier or no hop within ``max_distance``.
    """
    from pymatgen.analysis.diffusion.neb.full_path_mapper import (
        MigrationGraph,
    )

    carrier = carrier or carrier_of(structure)
    plain = structure.copy()
    plain.remove_oxidation_states()
    carrier_sites = [i for i, site in enumerate(plain) if site.species_string == carrier]
    if not carrier_sites:
        raise StructureError(f"no {carrier} site in {structure.composition.reduced_formula}")

    def hop_edges(cutoff: float) -> list[tuple[int, int, tuple[int, ...], int]]:
        graph = MigrationGraph.with_distance(plain, carrier, max_distance=cutoff, symprec=symprec)
        return [
            (
                carrier_sites[u],
                carrier_sites[v],
                tuple(int(x) for x in d["to_jimage"]),
                d["hop_label"],
            )
            for u, v, d in graph.m_graph.graph.edges(data=True)
        ]

    raw = hop_edges(max_distance)
    cutoff = max_distance
    while (not raw or periodic_dimension(raw) == 0) and (
        cutoff + HOP_CUTOFF_STEP <= max_distance + extend_to_percolation + 1e-9
    ):
        cutoff += HOP_CUTOFF_STEP
        raw = hop_edges(cutoff)
        if raw and periodic_dimension(raw) > 0:
            logger.info(
                "%s: %s hops up to %.2f A do not percolate; cutoff raised to %.2f A",
                structure.composition.reduced_formula, carrier, max_distance, cutoff,
            )  # fmt: skip
    max_distance = cutoff
    if not raw:
        raise StructureError(
            f"no {carrier} hop shorter than {max_distance} A in "
            f"{structure.composition.reduced_formula}; raise max_distance"
        )
    if periodic_dimension(raw) == 0:
        raise StructureError(
            f"the {carrier} hops up to {max_distance} A of "
            f"{structure.composition.reduced_formula} form no infinite network (no barrier "
            "exists); raise max_distance"
        )

    def length(i: int, e: int, jimage: tuple[int, ...]) -> float:
        a = plain.lattice.get_cartesian_coords(plain[i].frac_coords)
        b = plain.lattice.get_cartesian_coords(plain[e].frac_coords + np.array(jimage))
        return float(np.linalg.norm(b - a))

    by_label: dict[int, list[tuple[int, int, tuple[int, int, int]]]] = {}
    for i, e, jimage, label in raw:
        by_label.setdefault(label, []).append((i, e, jimage))
    order = sorted(by_label, key=lambda lab: (round(length(*min(by_label[lab])), 4), lab))
    new_index = {label: k for k, label in enumerate(order)}
    hops = []
    for label in order:
        i, e, jimage = min(by_label[label])
        hops.append(
            HopInfo(
                hop_index=new_index[label],
                length=length(i, e, jimage),
                isite=i,
                esite=e,
                to_jimage=jimage,
                multiplicity=len(by_label[label]),
            )
        )
    edges = [
        HopEdge(isite=i, esite=e, to_jimage=jimage, hop_index=new_index[label])
        for i, e, jimage, label in sorted(raw, key=lambda r: (new_index[r[3]], r[:3]))
    ]
    matrix = find_vacancy_supercell_matrix(structure.lattice, min_image_distance)
    logger.info(
        "%s: %d distinct %s hops (%s A), supercell det %d",
        structure.composition.reduced_formula,
        len(hops),
        carrier,
        ", ".join(f"{h.length:.2f}" for h in hops),
        round(np.linalg.det(matrix)),
    )
    return HopSet(
        carrier=carrier,
        structure=structure,
        max_distance=max_distance,
        hops=hops,
        edges=edges,
        supercell_matrix=matrix.tolist(),
    )


# --------------------------------------------------------------------------- supercell


def _hermite_normal_forms(det: int) -> Iterator[np.ndarray]:
    """Upper-triangular Hermite normal forms of determinant ``det`` (one per sublattice)."""
    for a in (x for x in range(1, det + 1) if det % x == 0):
        for d in (x for x in range(1, det // a + 1) if (det // a) % x == 0):
            f = det // (a * d)
            for b, c, e in itertools.product(range(d), range(f), range(f)):
                yield np.array([[a, b, c], [0, d, e], [0, 0, f]])


_SMALL = np.array([c for c in itertools.product(range(-2, 3), repeat=3) if any(c)], dtype=float)


def _image_distance(matrix: np.ndarray) -> float:
    """Shortest lattice vector of an LLL-reduced basis (rows), angstrom."""
    return float(np.linalg.norm(_SMALL @ matrix, axis=1).min())


def find_vacancy_supercell_matrix(
    lattice: Lattice, min_image_distance: float = 10.0, max_determinant: int = 64
) -> np.ndarray:
    """Smallest supercell in which periodic images are at least ``min_image_distance`` apart.

    The image distance is the shortest supercell lattice vector: how far a vacancy or a migrating
    ion is from its own periodic images. (A bound on the perpendicular widths, as in
    :func:`workflows.structures.tavorite.find_supercell_matrix`, is stricter: 112 instead of 80
    atoms for a 16-atom tavorite cell at 10 A.) Sublattices of each index n are enumerated through
    their Hermite normal forms and LLL-reduced; the first n with one wide enough wins, ties going to
    the largest image distance, then the largest perpendicular width, then the smallest matrix.

    Parameters
    ----------
    lattice : Lattice
        Unit cell to repeat.
    min_image_distance : float, default=10.0
        Angstrom; 0 or less returns the identity.
    max_determinant : int, default=64
        Give up beyond this many unit cells.

    Returns
    -------
    numpy.ndarray
        Integer matrix, shape ``(3, 3)``, positive determinant; the supercell lattice is
        ``matrix @ lattice.matrix`` (``Structure.make_supercell`` convention).

    Raises
    ------
    StructureError
        If no supercell up to ``max_determinant`` cells is large enough.
    """
    if min_image_distance <= 0:
        return np.eye(3, dtype=int)
    unit = np.asarray(lattice.matrix, dtype=float)
    # no lattice packs points denser than fcc: volume per point >= d^3 / sqrt(2)
    start = max(1, math.ceil(min_image_distance**3 / math.sqrt(2) / lattice.volume - 1e-9))
    for det in range(start, max_determinant + 1):
        best: tuple[tuple, np.ndarray] | None = None
        for hnf in _hermite_normal_forms(det):
            reduced = Lattice(hnf @ unit).lll_matrix
            basis = np.rint(reduced @ np.linalg.inv(unit)).astype(int)
            if np.linalg.det(basis) < 0:
                basis = -basis
            sc = basis @ unit
            distance = _image_distance(sc)
            if distance < min_image_distance - 1e-9:
                continue
            widths = abs(np.linalg.det(sc)) / np.linalg.norm(
                np.cross(np.roll(sc, -1, axis=0), np.roll(sc, -2, axis=0)), axis=1
            )
            key = (-round(distance, 4), -round(float(widths.min()), 4), tuple(basis.ravel()))
            if best is None or key < best[0]:
                best = (key, basis)
        if best is not None:
            return best[1]
    raise StructureError(
        f"no supercell of up to {max_determinant} cells has images {min_image_distance} A apart; "
        "lower min_image_distance or raise max_determinant"
    )


# --------------------------------------------------------------------------- endpoints


def _site_index(structure: Structure, cart: np.ndarray, species: str, tol: float = 1e-3) -> int:
    frac = structure.lattice.get_fractional_coords(cart)
    diff = structure.frac_coords - frac
    diff -= np.rint(diff)
    dist = np.linalg.norm(diff @ structure.lattice.matrix, axis=1)
    idx = int(np.argmin(dist))
    if dist[idx] > tol or structure[idx].species_string != species:
        raise StructureError(f"no {species} site at {cart} in the supercell (closest {dist[idx]})")
    return idx


def hop_endpoints(hopset: HopSet, hop_index: int) -> Endpoints:
    """Unrelaxed vacancy-mode endpoints of one distinct hop in the hop set's supercell.

    Atom order is the supercell's (``Structure.make_supercell`` of the relaxed cell) without the
    vacancy site; the migrating atom keeps its index in both endpoints and moves continuously
    (its final position is the initial one plus the hop vector, unwrapped).
    """
    hop = hopset.hops[hop_index]
    unit = hopset.structure
    supercell = unit.make_supercell(hopset.supercell_matrix, in_place=False)
    start = unit.lattice.get_cartesian_coords(unit[hop.isite].frac_coords)
    end = unit.lattice.get_cartesian_coords(unit[hop.esite].frac_coords + np.array(hop.to_jimage))
    i_sc = _site_index(supercell, start, unit[hop.isite].species_string)
    e_sc = _site_index(supercell, end, unit[hop.esite].species_string)
    if i_sc == e_sc:
        raise StructureError(f"hop {hop_index} joins a site to itself in the supercell")
    vacancy_initial = supercell[e_sc].coords
    vacancy_final = supercell[i_sc].coords

    initial = supercell.copy()
    initial.remove_sites([e_sc])
    final = supercell.copy()
    moved = supercell[i_sc].frac_coords + supercell.lattice.get_fractional_coords(end - start)
    final.replace(i_sc, supercell[i_sc].species, moved, properties=supercell[i_sc].properties)
    final.remove_sites([e_sc])
    moving = i_sc - (1 if e_sc < i_sc else 0)
    return Endpoints(
        hop_index=hop_index,
        initial=initial,
        final=final,
        moving_index=moving,
        vacancy_initial=[float(x) for x in vacancy_initial],
        vacancy_final=[float(x) for x in vacancy_final],
    )
