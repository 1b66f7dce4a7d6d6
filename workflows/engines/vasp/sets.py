"""VASP input sets for tavorite migration barriers: the reviewed INCAR updates, as generators.

atomate2's defaults target other science (PBEsol, 680 eV, spin-polarised, charge densities and
potentials written, +U on V/Mo/W). tavbo overrides them once, here, and nowhere else:

* GGA-PBE (``GGA = PE``) with the PBE_54 POTCARs, ENCUT 520 eV, no +U: every M and X of the
  default space is a closed-shell d0/d10 cation (or an f-in-core lanthanide, below), so there are
  no localised partly filled d states for U to correct.
* Spin: ``ISPIN = 1`` unless a site has unpaired d or f electrons *in valence*. The lanthanides
  of the default space (Nd3+ 4f3, Gd3+ 4f7, Dy3+ 4f9, Er3+ 4f11) are open-shell, but the POTCARs
  chosen for them (``Nd_3``, ``Gd_3``, ``Dy_3``, ``Er_3``, as in the Materials Project) put the f
  shell in the core, so the valence is closed-shell and ``ISPIN = 1`` is exact for the model.
  Choose a valence-f POTCAR (``user_potcar_settings={"Gd": "Gd"}``) and the same rule gives
  ``ISPIN = 2`` with high-spin ``MAGMOM`` (7 for Gd3+). See :func:`unpaired_electrons`.
* Vacancy charge: removing a carrier *ion* (Li+, Na+) from a closed-shell framework leaves its
  electron behind. With ``compensate_charge=True`` (default) the supercell keeps that electron
  (``NELECT`` = valence electrons - formal charge, i.e. +1 per vacancy) and VASP's uniform
  background neutralises the cell; otherwise a neutral Li atom is removed and the O 2p band gets
  a hole, which is not the vacancy-migration physics.
* Nothing written that is not needed: ``LCHARG``, ``LWAVE``, ``LAECHG``, ``LVTOT``, ``LORBIT``
  off.
* NEB: ``IMAGES``, ``SPRING = -5``, ``ISIF = 2``; with ``climbing_image=True`` the VTST tags
  ``LCLIMB``, ``IBRION = 3``, ``POTIM = 0``, ``IOPT = 1`` (VTST's L-BFGS); with
  ``climbing_image=False`` plain VASP NEB with ``IBRION = 1`` (quasi-Newton), for VASP builds
  without VTST, where the VTST tags would be silently ignored and the ions never move.

The full tables, with reasons, are in ``docs/vasp.md``. Each generator returns only updates
(``incar_updates``), as atomate2's do; the shared base is :func:`tavbo_config`.
"""

from __future__ import annotations

import logging
import warnings
from copy import deepcopy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atomate2.vasp.sets.base import _BASE_VASP_SET, VaspInputGenerator
from pymatgen.core.periodic_table import Element

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = [
    "BASE_INCAR",
    "BULK_RELAX_UPDATES",
    "CLIMBING_NEB_UPDATES",
    "ENDPOINT_RELAX_UPDATES",
    "KPOINTS_DENSITY",
    "NEB_UPDATES",
    "PLAIN_NEB_UPDATES",
    "POTCAR_FUNCTIONAL",
    "TavboEndpointSetGenerator",
    "TavboInputGenerator",
    "TavboNebSetGenerator",
    "TavboRelaxSetGenerator",
    "formal_charge",
    "resolve_oxidation_states",
    "spin_updates",
    "tavbo_config",
    "unpaired_electrons",
]

logger = logging.getLogger(__name__)

#: POTCAR set (pymatgen functional name): PBE, the 5.4 release, as the Materials Project uses.
POTCAR_FUNCTIONAL = "PBE_54"
#: k-points per reciprocal-angstrom^3, Gamma-centred: 5x5x3 for the 16-atom cell, 2x2x2 for the
#: 80-100-atom NEB supercells (10-12 A on each side).
KPOINTS_DENSITY = 64

#: INCAR shared by every tavbo calculation (applied over atomate2's base set; None removes a tag).
BASE_INCAR: dict[str, Any] = {
    "GGA": "PE",  # PBE, not atomate2's PBEsol
    "ENCUT": 520,  # MP's PBE cutoff; above every default-space ENMAX (largest: Li_sv, ~500)
    "EDIFF": 1e-5,
    "NELM": 200,
    "ALGO": "Fast",
    "PREC": "Accurate",
    "ISMEAR": 0,  # Gaussian smearing, small width: the compounds are insulators
    "SIGMA": 0.05,
    "ISPIN": 1,  # replaced per structure by spin_updates()
    "LASPH": True,
    "LDAU": False,  # closed-shell M and X: no +U (atomate2 puts U on V, Mo, W oxides)
    "LREAL": False,
    "LCHARG": False,
    "LWAVE": False,
    "LAECHG": False,
    "LVTOT": False,
    "LELF": False,
    "LORBIT": None,
    "LMIXTAU": None,
}
#: Bulk (16-18 atom) cell: full cell and ion relaxation.
BULK_RELAX_UPDATES: dict[str, Any] = {
    "ISIF": 3,
    "IBRION": 2,
    "NSW": 99,
    "EDIFFG": -0.02,
}
#: Supercell calculations (vacancy endpoints and NEB): same settings for both, so that their
#: energies can be subtracted. Fixed cell, LREAL = Auto (80-100 atoms), no symmetry (the
#: images break it and the endpoints must match them).
_SUPERCELL_UPDATES: dict[str, Any] = {
    "PREC": "Normal",
    "EDIFF": 1e-6,
    "LREAL": "Auto",
    "ISYM": 0,
    "ISIF": 2,
}
#: Vacancy endpoints in the fixed supercell of the relaxed bulk.
ENDPOINT_RELAX_UPDATES: dict[str, Any] = {
    **_SUPERCELL_UPDATES,
    "IBRION": 2,
    "NSW": 99,
    "EDIFFG": -0.02,
}
#: Any NEB; ``IMAGES`` is added from the number of images.
NEB_UPDATES: dict[str, Any] = {
    **_SUPERCELL_UPDATES,
    "SPRING": -5,
    "NSW": 200,
    "EDIFFG": -0.05,
}
#: Climbing-image NEB with the VTST optimisers (VASP must be built with VTST).
CLIMBING_NEB_UPDATES: dict[str, Any] = {"LCLIMB": True, "IBRION": 3, "POTIM": 0, "IOPT": 1}
#: Plain NEB with VASP's own quasi-Newton optimiser (no VTST tags: without VTST they are ignored).
PLAIN_NEB_UPDATES: dict[str, Any] = {"LCLIMB": None, "IOPT": None, "IBRION": 1, "POTIM": 0.5}


def tavbo_config() -> dict[str, Any]:
    """atomate2's base VASP config with :data:`BASE_INCAR`, PBE_54 POTCARs and k-point density.

    Returns
    -------
    dict
        A new ``config_dict`` (``INCAR``, ``KPOINTS``, ``POTCAR``, ``POTCAR_FUNCTIONAL``) for
        :class:`~atomate2.vasp.sets.base.VaspInputGenerator`. The POTCAR choice is atomate2's
        (Materials Project's): ``Li_sv``, ``Na_pv``, f-in-core ``Nd_3``/``Gd_3``/``Dy_3``/
        ``Er_3``/``Lu_3``, ...
    """
    config = deepcopy(_BASE_VASP_SET)
    incar = config["INCAR"]
    for key, value in BASE_INCAR.items():
        if value is None:
            incar.pop(key, None)
        else:
            incar[key] = value
    for key in ("LDAUU", "LDAUJ", "LDAUL", "LDAUTYPE", "LDAUPRINT"):
        incar.pop(key, None)
    config["KPOINTS"] = {"reciprocal_density": KPOINTS_DENSITY}
    config["POTCAR_FUNCTIONAL"] = POTCAR_FUNCTIONAL
    return config


# --------------------------------------------------------------------------------------- spin


def unpaired_electrons(element: str, oxidation_state: float, potcar_symbol: str | None) -> int:
    """High-spin count of unpaired valence d or f electrons of one ion.

    Parameters
    ----------
    element : str
        Element symbol, e.g. ``"Gd"``.
    oxidation_state : float
        Formal oxidation state (rounded to an integer).
    potcar_symbol : str or None
        POTCAR used for the element. A lanthanide or actinide POTCAR ending in ``_2`` or ``_3``
        keeps the f shell in the core, so its f electrons count as paired (0).

    Returns
    -------
    int
        0 for closed shells (main group, d0, d10, f0, f14, f-in-core), else Hund's-rule count.

    Examples
    --------
    >>> unpaired_electrons("Gd", 3, "Gd_3"), unpaired_electrons("Gd", 3, "Gd")
    (0, 7)
    >>> unpaired_electrons("Er", 3, "Er"), unpaired_electrons("V", 5, "V_sv")
    (3, 0)
    """
    el = Element(element)
    ox = round(oxidation_state)
    if el.is_lanthanoid or el.is_actinoid:
        if potcar_symbol is not None and potcar_symbol.endswith(("_2", "_3")):
            return 0
        core = 54 if el.is_lanthanoid else 86
        n_f = min(max(el.Z - core - ox, 0), 14)
        return n_f if n_f <= 7 else 14 - n_f
    if el.is_transition_metal and el.group is not None and 3 <= el.group <= 12:
        n_d = min(max(el.group - ox, 0), 10)
        return n_d if n_d <= 5 else 10 - n_d
    return 0


def resolve_oxidation_states(
    structure: Structure, oxidation_states: dict[str, float] | None = None
) -> dict[str, float] | None:
    """Oxidation state per element: given, else from the site decoration, else guessed.

    Returns None when none of these work (a guess fails on a charged vacancy supercell).
    """
    if oxidation_states:
        return dict(oxidation_states)
    found: dict[str, float] = {}
    for site in structure:
        oxi = getattr(site.specie, "oxi_state", None)
        if oxi is None:
            found = {}
            break
        found[site.specie.symbol] = float(oxi)
    if found:
        return found
    guesses = structure.composition.element_composition.oxi_state_guesses(max_sites=-1)
    return {el: float(ox) for el, ox in guesses[0].items()} if guesses else None


def spin_updates(
    structure: Structure,
    oxidation_states: dict[str, float] | None,
    potcar_symbols: dict[str, str],
) -> dict[str, Any]:
    """``ISPIN`` (and ``MAGMOM`` when spin-polarised) for one structure.

    Parameters
    ----------
    structure : Structure
        The structure the INCAR is for (its site order is the MAGMOM order).
    oxidation_states : dict or None
        Element -> oxidation state. None (unknown) means spin-polarised with atomate2's default
        MAGMOM whenever an element could be open-shell, to be safe.
    potcar_symbols : dict
        Element -> POTCAR symbol (``{"Gd": "Gd_3", ...}``).

    Returns
    -------
    dict
        ``{"ISPIN": 1}``, or ``{"ISPIN": 2, "MAGMOM": [...]}`` with high-spin moments on the
        open-shell sites and 0 elsewhere.
    """
    elements = [el.symbol for el in structure.composition.element_composition]
    if oxidation_states is None:
        maybe_open = [
            el
            for el in elements
            if unpaired_electrons(el, 0, potcar_symbols.get(el)) > 0
            or unpaired_electrons(el, 3, potcar_symbols.get(el)) > 0
        ]
        if maybe_open:
            warnings.warn(
                f"oxidation states unknown; spin-polarised for {maybe_open}", stacklevel=2
            )
            return {"ISPIN": 2}
        return {"ISPIN": 1}
    moments = {
        el: unpaired_electrons(el, oxidation_states.get(el, 0), potcar_symbols.get(el))
        for el in elements
    }
    if not any(moments.values()):
        return {"ISPIN": 1}
    return {
        "ISPIN": 2,
        "MAGMOM": [float(moments[site.specie.symbol]) for site in structure],
    }


def formal_charge(structure: Structure, oxidation_states: dict[str, float]) -> float:
    """Sum of formal oxidation states over the sites: -1 for a cell missing one Li+ ion."""
    return float(
        sum(
            oxidation_states.get(el.symbol, 0.0) * amount
            for el, amount in structure.composition.element_composition.items()
        )
    )


# ---------------------------------------------------------------------------------- generators


@dataclass
class TavboInputGenerator(VaspInputGenerator):
    """atomate2 input generator with tavbo's base config, spin rule and vacancy charge.

    Parameters
    ----------
    oxidation_states : dict or None, default=None
        Element -> formal oxidation state of the composition (``{"Li": 1, "Gd": 3, ...}``).
        Needed for the spin rule and the vacancy charge of structures without oxidation-state
        decoration (VASP outputs). None: from the structure's decoration, else guessed.
    compensate_charge : bool, default=True
        Keep the electrons of removed carrier ions (``NELECT`` = valence - formal charge) with
        VASP's compensating background; see the module docstring.
    sort_structure : bool, default=False
        Unlike atomate2 (True), keep the given atom order, so that VASP outputs, symmetry
        mappings and NEB image POSCARs all share one order; callers sort once
        (:class:`workflows.engines.vasp.engine.VaspBarrierMaker` does).
    **kwargs
        Other :class:`~atomate2.vasp.sets.base.VaspInputGenerator` fields.
    """

    config_dict: dict = field(default_factory=tavbo_config)
    oxidation_states: dict[str, float] | None = None
    compensate_charge: bool = True
    auto_ismear: bool = False
    sort_structure: bool = False

    @property
    def stage_updates(self) -> dict[str, Any]:
        """INCAR updates of the calculation stage (bulk relax, endpoint relax, NEB)."""
        return {}

    @property
    def incar_updates(self) -> dict[str, Any]:
        """Stage updates plus the structure-dependent spin and ``NELECT``."""
        updates = dict(self.stage_updates)
        if self.structure is None:
            return updates
        oxi = resolve_oxidation_states(self.structure, self.oxidation_states)
        symbols = self._potcar_symbol_map()
        updates.update(spin_updates(self.structure, oxi, symbols))
        if self.compensate_charge and oxi is not None:
            charge = formal_charge(self.structure, oxi)
            if abs(charge) > 1e-6:
                updates["NELECT"] = self._valence_electrons() - charge
        return updates

    def _potcar_symbol_map(self) -> dict[str, str]:
        settings = self._config_dict["POTCAR"]
        out = {}
        for el in self.structure.composition.element_composition:  # type: ignore[union-attr]
            value = settings.get(el.symbol, el.symbol)
            out[el.symbol] = value["symbol"] if isinstance(value, dict) else value
        return out

    def _valence_electrons(self) -> float:
        zval = {p.element: p.nelectrons for p in self.potcar}
        comp = self.structure.composition.element_composition  # type: ignore[union-attr]
        return float(sum(amount * zval[el.symbol] for el, amount in comp.items()))


@dataclass
class TavboRelaxSetGenerator(TavboInputGenerator):
    """Bulk cell relaxation (ISIF 3) of the 16-18 atom tavorite cell."""

    @property
    def stage_updates(self) -> dict[str, Any]:
        """:data:`BULK_RELAX_UPDATES`."""
        return dict(BULK_RELAX_UPDATES)


@dataclass
class TavboEndpointSetGenerator(TavboInputGenerator):
    """Vacancy endpoint relaxation in the fixed supercell (ISIF 2), matching the NEB settings."""

    inherit_incar: bool = False

    @property
    def stage_updates(self) -> dict[str, Any]:
        """:data:`ENDPOINT_RELAX_UPDATES`."""
        return dict(ENDPOINT_RELAX_UPDATES)


@dataclass
class TavboNebSetGenerator(TavboInputGenerator):
    """NEB between relaxed vacancy endpoints; drop-in for atomate2's ``NebSetGenerator``.

    Parameters
    ----------
    num_images : int, default=1
        Intermediate images (``IMAGES``); atomate2's ``NebFromImagesMaker`` sets it.
    climbing_image : bool, default=True
        VTST climbing image (:data:`CLIMBING_NEB_UPDATES`) or plain VASP NEB
        (:data:`PLAIN_NEB_UPDATES`).
    """

    num_images: int = 1
    climbing_image: bool = True
    inherit_incar: bool = False
    auto_kspacing: bool = False

    @property
    def stage_updates(self) -> dict[str, Any]:
        """:data:`NEB_UPDATES` plus ``IMAGES`` and the climbing or plain optimiser tags."""
        optimiser = CLIMBING_NEB_UPDATES if self.climbing_image else PLAIN_NEB_UPDATES
        return {**NEB_UPDATES, "IMAGES": self.num_images, **optimiser}
