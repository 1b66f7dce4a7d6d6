"""Species and Shannon radii of the tavorite's site roles (A, M, X, framework O, Z).

Shared by structure building (:mod:`workflows.structures.tavorite`) and checking
(:mod:`workflows.structures.checks`): :func:`shannon_radius` (importable from
``workflows.structures.tavorite`` too), each role's radius at the coordination number of
:data:`SITE_COORDINATION`, and each role's oxidation-state-decorated species.
"""

from __future__ import annotations

import logging
from functools import cache

from pymatgen.core import Species
from pymatgen.core.periodic_table import Element

from workflows.errors import CompositionError
from workflows.space.compositions import Candidate

__all__ = ["SITE_COORDINATION", "shannon_radius"]

logger = logging.getLogger(__name__)

#: Coordination number used to look up each site's Shannon radius.
SITE_COORDINATION = {"A": 5, "M": 6, "X": 4, "O": 2, "Z": 2}

#: Shannon (1976) radii of OH- by coordination number, in angstrom (absent from pymatgen's table).
_HYDROXIDE_RADII = {2: 1.32, 3: 1.34, 4: 1.35, 6: 1.37}

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


# --------------------------------------------------------------------------- site species


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
