"""Framework integrity of computed cells: is it still the tavorite the barrier is meant for?

A relaxation or a NEB can reconstruct the framework around a vacancy (an M or X atom changes its
anion neighbours: W(VI) and Mo(VI) oxides do). A barrier of a reconstructed framework is not the
migration barrier of the tavorite. :func:`framework_problems` checks a relaxed cell, a vacancy
endpoint or a NEB image: every M octahedral and every X tetrahedral (the checks the generated
structures pass, :func:`workflows.structures.checks.check_structure`) and, against a reference
cell with the same atom order, every M and X bonded to the same anions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymatgen.core import Species

from workflows.errors import StructureError
from workflows.space.compositions import Candidate, default_space
from workflows.structures.checks import _check_coordination, framework_bonds

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["candidate_of", "framework_problems"]


def candidate_of(structure: Structure, candidate_id: str) -> Candidate:
    """The Candidate of ``candidate_id``, its oxidation states read from a decorated cell.

    Falls back on the default space when the cell carries no oxidation states.

    Raises
    ------
    StructureError
        If neither gives the candidate.
    """
    parts = candidate_id.split("-")
    ox = {
        site.specie.symbol: int(site.specie.oxi_state)
        for site in structure
        if isinstance(site.specie, Species) and site.specie.oxi_state is not None
    }
    if len(parts) == 4 and all(p in ox for p in parts[:3]):
        a, m, x, z = parts
        ox_z = ox.get(z, -1 if z in ("F", "Cl", "OH") else -2)
        return Candidate(a, m, x, z, ox[a], ox[m], ox[x], ox_z)
    try:
        return default_space().get(candidate_id)
    except Exception:
        raise StructureError(
            f"{candidate_id}: cannot tell its sites and oxidation states from the cell"
        ) from None


def framework_problems(
    structure: Structure,
    candidate: Candidate,
    reference: Structure | None = None,
    label: str = "cell",
) -> list[str]:
    """One-line reasons why ``structure`` is not the intact framework (empty when it is).

    Parameters
    ----------
    structure : Structure
        Relaxed cell, vacancy endpoint or NEB image.
    candidate : Candidate
        Its composition (elements and radii of M, X and the anions).
    reference : Structure, optional
        The same atoms before the calculation (same order): the bond network must be kept.
    label : str
        Names the structure in the messages, e.g. ``"hop 2 image 3"``.
    """
    problems = []
    try:
        _check_coordination(structure, candidate)
    except StructureError as exc:
        problems.append(f"{label}: {str(exc).split(': ', 1)[-1]}")
    if reference is not None and len(reference) == len(structure):
        before = framework_bonds(reference, candidate)
        after = framework_bonds(structure, candidate)
        changed = sorted(i for i in before if before[i] != after.get(i))
        if changed:
            i = changed[0]
            lost = sorted(int(j) for j in before[i] - after[i])
            gained = sorted(int(j) for j in after[i] - before[i])
            problems.append(
                f"{label}: bond network changed at {len(changed)} M/X sites (site {i} "
                f"{structure[i].specie.symbol}: lost anions {lost}, gained {gained})"
            )
    return problems
