"""Reuse of relaxed endpoints by symmetry, and the mirror symmetry of a hop's path.

Every vacancy-mode endpoint of every hop is a single vacancy in the same supercell, and a relaxed
vacancy maps onto any symmetry-equivalent one: :func:`plan_endpoint_relaxations` finds the few
endpoints that need a relaxation and the :class:`SymmetryMapping` (a bulk space-group operation and
an atom permutation) of all others; :func:`map_relaxed` applies it. In a P-1 tavorite with one
carrier orbit a single vacancy relaxation serves every hop.

:class:`PathMirror` is the inversion through a hop's midpoint when it swaps the two endpoints (every
hop between the two carrier sites of a P-1 tavorite): the minimum-energy path is then symmetric and
only half of it needs computing.

Pure geometry, engine-agnostic (CHGNet uses it; a VASP engine can skip endpoint relaxations too).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from pymatgen.core import Lattice, Structure

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms
    from pymatgen.core.operations import SymmOp

    from workflows.physics.endpoints import Endpoints, Side

__all__ = [
    "EndpointTask",
    "MirrorCalculator",
    "PathMirror",
    "SymmetryMapping",
    "find_symmetry_mapping",
    "map_relaxed",
    "plan_endpoint_relaxations",
    "span",
    "symmetric_neb_class",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SymmetryMapping:
    """A bulk symmetry operation carrying one vacancy supercell onto another.

    Attributes
    ----------
    rotation : numpy.ndarray
        Cartesian rotation part, shape ``(3, 3)``.
    permutation : numpy.ndarray
        ``target[j]`` is the image of ``reference[permutation[j]]``, shape ``(n_atoms,)``.
    max_error : float
        Largest mismatch of a mapped unrelaxed atom, angstrom.
    """

    rotation: np.ndarray
    permutation: np.ndarray
    max_error: float


def find_symmetry_mapping(
    reference: Structure,
    reference_vacancy: np.ndarray,
    target: Structure,
    target_vacancy: np.ndarray,
    ops: Sequence[SymmOp],
    unit_lattice: Lattice,
    tol: float = 0.05,
) -> SymmetryMapping | None:
    """A space-group operation of the bulk that maps ``reference`` onto ``target``, if any.

    Each operation (cartesian, of the bulk unit cell) is combined with the unit-cell translation
    that carries the reference vacancy onto the target vacancy; it is accepted when the
    supercell lattice is invariant and every atom lands on an atom of the same species.

    Parameters
    ----------
    reference, target : Structure
        Unrelaxed single-vacancy supercells, same lattice and composition.
    reference_vacancy, target_vacancy : numpy.ndarray
        Cartesian vacancy positions, shape ``(3,)``.
    ops : sequence of SymmOp
        Cartesian symmetry operations of the bulk unit cell.
    unit_lattice : Lattice
        Bulk unit cell lattice.
    tol : float, default=0.05
        Largest accepted atom mismatch, angstrom.

    Returns
    -------
    SymmetryMapping or None
    """
    sc = np.asarray(target.lattice.matrix)
    inv_sc = np.linalg.inv(sc)
    species_t = np.array([s.species_string for s in target])
    species_r = np.array([s.species_string for s in reference])
    for op in ops:
        rot = np.asarray(op.rotation_matrix)
        if not np.allclose((sc @ rot.T) @ inv_sc, np.rint((sc @ rot.T) @ inv_sc), atol=1e-3):
            continue  # the supercell lattice is not invariant under this rotation
        shift = target_vacancy - (rot @ reference_vacancy + op.translation_vector)
        shift_frac = unit_lattice.get_fractional_coords(shift)
        if np.linalg.norm((shift_frac - np.rint(shift_frac)) @ unit_lattice.matrix) > tol:
            continue
        translation = op.translation_vector + unit_lattice.get_cartesian_coords(np.rint(shift_frac))
        mapped = reference.cart_coords @ rot.T + translation
        diff = target.frac_coords[:, None, :] - (mapped @ inv_sc)[None, :, :]
        diff -= np.rint(diff)
        dist = np.linalg.norm(diff @ sc, axis=2)  # (n_target, n_reference)
        perm = np.argmin(dist, axis=1)
        err = dist[np.arange(len(target)), perm]
        if (
            err.max() <= tol
            and len(set(perm.tolist())) == len(target)
            and np.all(species_r[perm] == species_t)
        ):
            return SymmetryMapping(rotation=rot, permutation=perm, max_error=float(err.max()))
    return None


def map_relaxed(
    mapping: SymmetryMapping,
    reference: Structure,
    reference_relaxed: Structure,
    target: Structure,
) -> Structure:
    """Relaxed ``target`` from a relaxed ``reference``: the relaxation displacements, rotated.

    Parameters
    ----------
    mapping : SymmetryMapping
        From :func:`find_symmetry_mapping` (``reference`` -> ``target``).
    reference, reference_relaxed : Structure
        The reference endpoint before and after relaxation (same order, same lattice).
    target : Structure
        Unrelaxed target endpoint.

    Returns
    -------
    Structure
        Target with every atom displaced as its symmetry image was; positions stay unwrapped.
    """
    diff = reference_relaxed.frac_coords - reference.frac_coords
    diff -= np.rint(diff)
    displacement = (diff @ reference.lattice.matrix)[mapping.permutation] @ mapping.rotation.T
    return Structure(
        target.lattice,
        target.species,
        target.cart_coords + displacement,
        coords_are_cartesian=True,
        site_properties=target.site_properties or None,
    )


@dataclass(frozen=True)
class EndpointTask:
    """How to obtain one relaxed endpoint: relax it, or map the relaxed ``source`` onto it."""

    hop_index: int
    side: Side
    source: tuple[int, Side] | None = None
    mapping: SymmetryMapping | None = None


def plan_endpoint_relaxations(
    endpoints: Sequence[Endpoints], bulk: Structure, *, symprec: float = 0.01, tol: float = 0.05
) -> list[EndpointTask]:
    """Which endpoints to relax and which to map from a symmetry-equivalent relaxed one.

    Parameters
    ----------
    endpoints : sequence of Endpoints
        All hops' unrelaxed endpoints (same supercell).
    bulk : Structure
        Relaxed unit cell the supercell was built from.
    symprec : float, default=0.01
        spglib tolerance for the bulk's operations, angstrom.
    tol : float, default=0.05
        Largest accepted atom mismatch of a mapping, angstrom.

    Returns
    -------
    list of EndpointTask
        Two per hop, in hop order (initial, final); tasks with ``source=None`` are relaxations and
        come before the tasks mapped from them.
    """
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    ops = SpacegroupAnalyzer(bulk, symprec=symprec).get_symmetry_operations(cartesian=True)
    by_hop = {ep.hop_index: ep for ep in endpoints}
    tasks: list[EndpointTask] = []
    references: list[tuple[int, Side]] = []
    for ep in endpoints:
        for side in ("initial", "final"):
            target, target_vac = ep.side(side)  # type: ignore[arg-type]
            task = EndpointTask(ep.hop_index, side)  # type: ignore[arg-type]
            for ref_key in references:
                reference, ref_vac = by_hop[ref_key[0]].side(ref_key[1])
                mapping = find_symmetry_mapping(
                    reference, ref_vac, target, target_vac, ops, bulk.lattice, tol
                )
                if mapping is not None:
                    task = EndpointTask(ep.hop_index, side, ref_key, mapping)  # type: ignore[arg-type]
                    break
            else:
                references.append((ep.hop_index, side))  # type: ignore[arg-type]
            tasks.append(task)
    logger.info(
        "%d endpoints: %d to relax, %d mapped by symmetry",
        len(tasks),
        len(references),
        len(tasks) - len(references),
    )
    return tasks


def span(a: Structure, b: Structure) -> float:
    """Largest displacement of an atom between two structures (minimum image), angstrom."""
    diff = b.frac_coords - a.frac_coords
    diff -= np.round(diff)
    return float(np.linalg.norm(diff @ a.lattice.matrix, axis=1).max())


class PathMirror:
    """Inversion through a hop's midpoint that swaps its two endpoints.

    ``mirror(P)[j] = 2 m - P[perm[j]] + shift[j]``: image ``i`` of a symmetric band is the mirror
    of image ``n + 1 - i``, and its forces are ``-F[perm]``. Found with :meth:`find`.
    """

    def __init__(self, midpoint: np.ndarray, permutation: np.ndarray, shifts: np.ndarray) -> None:
        self.midpoint = midpoint
        self.permutation = permutation
        self.shifts = shifts

    def positions(self, positions: np.ndarray) -> np.ndarray:
        """Mirror image of cartesian positions, shape ``(n_atoms, 3)``."""
        return 2 * self.midpoint - positions[self.permutation] + self.shifts

    def structure(self, structure: Structure) -> Structure:
        """Mirror image of a structure of the hop (same lattice and atom order)."""
        positions = self.positions(structure.cart_coords)
        return Structure(structure.lattice, structure.species, positions, coords_are_cartesian=True)

    def forces(self, forces: np.ndarray) -> np.ndarray:
        """Forces of the mirror image, shape ``(n_atoms, 3)``."""
        return -forces[self.permutation]

    @classmethod
    def find(cls, endpoints: Endpoints, tol: float = 0.02) -> PathMirror | None:
        """The mirror of a hop if its midpoint is an inversion centre of both endpoints."""
        initial, final = endpoints.initial, endpoints.final
        moving = endpoints.moving_index
        midpoint = 0.5 * (initial.cart_coords[moving] + final.cart_coords[moving])
        lattice = final.lattice.matrix
        mapped = 2 * midpoint - initial.cart_coords
        diff = final.frac_coords[:, None, :] - final.lattice.get_fractional_coords(mapped)[None]
        shifts = np.rint(diff)
        dist = np.linalg.norm((diff - shifts) @ lattice, axis=2)
        perm = np.argmin(dist, axis=1)
        rows = np.arange(len(final))
        species = [s.species_string for s in final]
        if (
            dist[rows, perm].max() > tol
            or len(set(perm.tolist())) != len(perm)
            or [species[k] for k in perm] != species
        ):
            return None
        mirror = cls(midpoint, perm, shifts[rows, perm] @ lattice)
        if (
            np.abs(mirror.positions(initial.cart_coords) - final.cart_coords).max() > tol
            or np.abs(mirror.positions(final.cart_coords) - initial.cart_coords).max() > tol
        ):
            return None
        return mirror


class MirrorCalculator(Calculator):
    """Energy and forces of an image from its mirror partner (no model evaluation)."""

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(self, partner: Atoms, mirror: PathMirror) -> None:
        super().__init__()
        self.partner = partner
        self.mirror = mirror

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: Sequence[str] | None = None,
        system_changes: Sequence[str] = tuple(all_changes),
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        energy = float(self.partner.get_potential_energy())
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": self.mirror.forces(self.partner.get_forces()),
        }


def symmetric_neb_class() -> type:
    """ASE's NEB class extended to keep a band symmetric under a :class:`PathMirror`."""
    from ase.mep import NEB

    class SymmetricNEB(NEB):
        """ASE NEB whose band is kept exactly symmetric under a :class:`PathMirror`.

        Images in the second half are mirrors of the first half (positions and forces), the
        middle image is its own mirror: only ``(n_images + 1) // 2`` images need the model.
        If the highest image is in the first half, its mirror climbs too.
        """

        def __init__(self, images: list[Atoms], mirror: PathMirror, **kwargs: Any) -> None:
            super().__init__(images, **kwargs)
            self.mirror = mirror

        def pairs(self) -> list[tuple[int, int]]:
            """``(i, j)`` with image ``j`` the mirror of ``i``, ``i <= j`` (equal: middle)."""
            n = self.nimages
            return [(i, n - 1 - i) for i in range(1, n - 1) if i <= n - 1 - i]

        def symmetrize(self) -> None:
            """Make the band exactly symmetric (second half from the first, middle averaged)."""
            for i, j in self.pairs():
                pos = self.images[i].positions
                new = self.mirror.positions(pos)
                if i == j:
                    self.images[i].set_positions(0.5 * (pos + new), apply_constraint=False)
                else:
                    self.images[j].set_positions(new, apply_constraint=False)

        def set_positions(self, positions: np.ndarray, *args: Any, **kwargs: Any) -> None:
            super().set_positions(positions, *args, **kwargs)
            self.symmetrize()

        def get_forces(self) -> np.ndarray:
            forces = super().get_forces().reshape(self.nimages - 2, self.natoms, 3)
            for i, j in self.pairs():
                mirrored = self.mirror.forces(forces[i - 1])
                forces[j - 1] = 0.5 * (forces[i - 1] + mirrored) if i == j else mirrored
            self.residuals = list(np.linalg.norm(forces, axis=2).max(axis=1))
            return forces.reshape(-1, 3)

    return SymmetricNEB
