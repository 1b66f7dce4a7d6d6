"""Supercells for defects and NEB: the smallest cell whose periodic images are far enough apart.

:func:`make_supercell` (and :func:`find_supercell_matrix` behind it) are importable from
``workflows.structures.tavorite`` too.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Lattice, Structure

from workflows.errors import StructureError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["find_supercell_matrix", "make_supercell", "perpendicular_widths"]


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
