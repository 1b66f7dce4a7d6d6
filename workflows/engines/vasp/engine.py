"""The ``vasp`` engine: DFT (GGA-PBE) climbing-image NEB through atomate2 and custodian.

Flow of one composition (job names are deterministic; tests address them)::

    bulk relax 1, bulk relax 2      atomate2 DoubleRelaxMaker, TavboRelaxSetGenerator (ISIF 3)
    find hops                       workflows.physics.hops.find_hops on the relaxed cell (vasp_hops)
    vasp hops                       dynamic (vasp_hops.VaspHopsMaker): replaced at run time by
        endpoint relax hop <h> <side>   only the symmetry-distinct vacancy endpoints (often 1)
        map endpoints                   relaxed geometry mapped onto every other endpoint
        neb images hop <h>              IDPP (or linear) images between the relaxed endpoints
        neb hop <h>                     atomate2 NebFromImagesMaker, TavboNebSetGenerator
        hop barrier <h>                 HopBarrier from the endpoint and image energies
    collect barrier                 percolation of the hop barriers -> BarrierResult

This module builds the flow and configures its makers; the jobs live in
:mod:`workflows.engines.vasp.hops` (find hops, vasp hops), :mod:`workflows.engines.vasp.images` (map
endpoints, neb images), :mod:`workflows.engines.vasp.barriers` (hop barrier, collect barrier), the
default makers in :mod:`workflows.engines.vasp.makers` and the input sets in
:mod:`workflows.engines.vasp.sets`.

Where atomate2 0.1.5 does not fit, tavbo does the piece itself, explained once here:

* ``NebFromEndpointsMaker`` without an endpoint relax maker crashes in its collect job
  (``NebTaskDoc.from_directory`` does not exist), and with one it relaxes both endpoints of every
  hop. tavbo relaxes only symmetry-distinct endpoints (:func:`workflows.physics.hop_symmetry.
  plan_endpoint_relaxations`) and runs ``NebFromImagesMaker`` on its own images.
* VASP does not compute the NEB endpoints (``00``, ``N+1``); their energies come from the
  endpoint relaxations, read from the task documents by
  :func:`~workflows.engines.vasp.barriers.hop_barrier` rather than by re-parsing directories (which
  breaks when the collect job runs on another host).
* ``NebFromImagesMaker`` writes the root POSCAR through the input set (sorted by
  electronegativity) but the image POSCARs unsorted, so POTCAR and image species order can
  disagree. tavbo sorts the structure once, at the start, and its generators do not re-sort.
* Metadata given to ``add_metadata_to_flow`` is dropped from NEB documents; the flow's metadata is
  set with ``Flow.update_metadata`` (dynamic, so the per-hop jobs get it too).
* An unconverged NEB would raise inside atomate2 (``VASP_HANDLE_UNSUCCESSFUL="error"``); the NEB
  maker keeps going instead and the hop is recorded with ``converged=False``.

Examples
--------
>>> from workflows.space.compositions import default_space
>>> from workflows.structures.tavorite import make_structure
>>> structure = make_structure(default_space().get("Li-Al-P-F"))
>>> flow = VaspBarrierMaker(check_potcars=False).make(structure, "Li-Al-P-F")
>>> flow.name, [job.name for job in flow]
('vasp barrier Li-Al-P-F', ['bulk double relax', 'find hops', 'vasp hops', 'collect barrier'])
"""

from __future__ import annotations

import logging
from copy import deepcopy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from jobflow import Flow, Maker

from workflows.engines.vasp.barriers import collect_vasp_barrier
from workflows.engines.vasp.hops import VaspHopsMaker, vasp_find_hops
from workflows.engines.vasp.images import Interpolation
from workflows.engines.vasp.makers import (
    default_bulk_relax_maker,
    default_endpoint_relax_maker,
    default_neb_maker,
)
from workflows.engines.vasp.potcars import check_potcars
from workflows.engines.vasp.sets import TavboInputGenerator, resolve_oxidation_states
from workflows.errors import ConfigError
from workflows.physics.schemas import Reference

if TYPE_CHECKING:
    from atomate2.vasp.jobs.base import BaseVaspMaker
    from atomate2.vasp.jobs.neb import NebFromImagesMaker
    from pymatgen.core import Structure

__all__ = [
    "VaspBarrierMaker",
]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- maker configuration


def _generators(maker: Any) -> list[Any]:
    """Every input-set generator of a maker and of the makers nested in it."""
    found: list[Any] = []
    if maker is None:
        return found
    if hasattr(maker, "input_set_generator"):
        found.append(maker.input_set_generator)
    for value in vars(maker).values():
        if isinstance(value, Maker):
            found.extend(_generators(value))
    return found


def _vasp_makers(maker: Any) -> list[Any]:
    """The maker and every maker nested in it that runs VASP (has ``run_vasp_kwargs``)."""
    found = [maker] if hasattr(maker, "run_vasp_kwargs") else []
    for value in vars(maker).values():
        if isinstance(value, Maker):
            found.extend(_vasp_makers(value))
    return found


def _configure(
    maker: Any, oxidation_states: dict[str, float] | None, wall_time: int | None = None
) -> Any:
    """A copy of ``maker`` whose tavbo generators know the composition's oxidation states.

    With ``wall_time`` (seconds), every VASP run gets custodian's WalltimeHandler through
    atomate2's ``run_vasp(wall_time=...)``: VASP is stopped cleanly (STOPCAR) before the queue
    kills the job, so a long NEB leaves readable output instead of a lost run.
    """
    if maker is None:
        return None
    maker = deepcopy(maker)
    for gen in _generators(maker):
        if isinstance(gen, TavboInputGenerator) and gen.oxidation_states is None:
            gen.oxidation_states = oxidation_states
    if wall_time is not None:
        for vasp_maker in _vasp_makers(maker):
            vasp_maker.run_vasp_kwargs = {**vasp_maker.run_vasp_kwargs, "wall_time": wall_time}
    return maker


# --------------------------------------------------------------------------- the engine


@dataclass
class VaspBarrierMaker(Maker):
    """E_b of one composition by VASP climbing-image NEB of every distinct carrier hop.

    Parameters
    ----------
    name : str, default="vasp barrier"
        Flow name prefix; the flow is ``"<name> <candidate_id>"``.
    bulk_relax_maker : Maker or None
        Relaxes the unit cell (default: atomate2 ``DoubleRelaxMaker`` with
        :class:`~workflows.engines.vasp.sets.TavboRelaxSetGenerator`). None uses the given structure
        as relaxed.
    endpoint_relax_maker : BaseVaspMaker
        Relaxes a vacancy endpoint in the fixed supercell (default: ``RelaxMaker`` with
        :class:`~workflows.engines.vasp.sets.TavboEndpointSetGenerator`). Its task document's final
        energy is the endpoint energy of the NEB.
    neb_maker : NebFromImagesMaker
        Runs the NEB (default: atomate2 ``NebFromImagesMaker`` with
        :class:`~workflows.engines.vasp.sets.TavboNebSetGenerator`).
    climb : bool, default=True
        Climbing-image NEB with the VTST tags; False runs plain VASP NEB (no VTST needed, but
        the barrier is then the highest image, not the saddle point). Applied to the NEB maker's
        generator in :meth:`make`.
    n_images : int, default=5
        Intermediate NEB images (``IMAGES``); VASP needs the number of MPI ranks to be a
        multiple of it.
    interpolation : {"IDPP", "linear"}, default="IDPP"
        Initial path between the relaxed endpoints.
    carrier : str or None, default=None
        Migrating element; default the first carrier element present (Li, Na, ...).
    max_distance : float, default=5.0
        Longest hop considered, angstrom.
    min_image_distance : float, default=10.0
        Smallest distance between periodic images of the vacancy in the NEB supercell, angstrom.
    symprec : float, default=0.1
        Symmetry tolerance grouping equivalent hops, angstrom.
    endpoint_symprec : float, default=0.01
        Symmetry tolerance for mapping relaxed endpoints onto equivalent ones, angstrom.
    check_potcars : bool, default=True
        Check in :meth:`make` that ``PMG_VASP_PSP_DIR`` holds every POTCAR; switch off when the
        flow is built on a machine other than the workers.
    wall_time : int or None, default=None
        Queue walltime of the VASP jobs in seconds: custodian's WalltimeHandler stops VASP
        cleanly (STOPCAR) 5 minutes before it, so a job near its limit leaves readable output.
    reference : {"network", "path_minimum", "endpoint"}, default="network"
        What E_b is measured from: the lowest point of the percolating network, the lowest image
        of each hop's path, or the relaxed vacancy endpoint (see
        :mod:`workflows.physics.barrier_reference`).
    dip_tolerance : float, default=0.05
        A NEB path this far (eV) below an endpoint has that endpoint relaxed again from the
        lowest image and the NEB rerun (:mod:`workflows.engines.vasp.repair`).
    repair_rounds : int, default=2
        Repair rounds per hop; a dip that survives them is flagged.

    Examples
    --------
    >>> from workflows.engines import get_maker
    >>> get_maker("vasp", n_images=3).engine
    'vasp'
    """

    engine: ClassVar[str] = "vasp"
    fidelity: ClassVar[str] = "dft-neb"

    name: str = "vasp barrier"
    bulk_relax_maker: Maker | None = field(default_factory=default_bulk_relax_maker)
    endpoint_relax_maker: BaseVaspMaker = field(default_factory=default_endpoint_relax_maker)
    neb_maker: NebFromImagesMaker = field(default_factory=default_neb_maker)
    climb: bool = True
    n_images: int = 5
    interpolation: Interpolation = "IDPP"
    carrier: str | None = None
    max_distance: float = 5.0
    min_image_distance: float = 10.0
    symprec: float = 0.1
    endpoint_symprec: float = 0.01
    check_potcars: bool = True
    wall_time: int | None = None
    reference: Reference = "network"
    dip_tolerance: float = 0.05
    repair_rounds: int = 2

    def make(self, structure: Structure, candidate_id: str) -> Flow:
        """Build the flow; its output is the composition's :class:`BarrierResult`.

        Parameters
        ----------
        structure : Structure
            Starting unit cell, preferably oxidation-state decorated (as
            :func:`workflows.structures.tavorite.make_structure` returns it).
        candidate_id : str
            Composition ID, e.g. ``"Li-Al-P-F"``.

        Raises
        ------
        SubmissionError
            If a POTCAR is missing (with ``check_potcars``).
        ConfigError
            If a setting is invalid.
        """
        if self.n_images < 1:
            raise ConfigError(f"invalid n_images={self.n_images}; expected at least 1")
        if self.interpolation not in ("IDPP", "linear"):
            raise ConfigError(
                f"invalid interpolation={self.interpolation!r}; expected 'IDPP' or 'linear'"
            )
        neb_gen = self.neb_maker.input_set_generator
        if not hasattr(neb_gen, "climbing_image"):
            raise ConfigError(
                f"the NEB maker's generator {type(neb_gen).__name__} has no climbing_image; "
                "use TavboNebSetGenerator or atomate2's NebSetGenerator"
            )
        structure = structure.get_sorted_structure()
        oxidation_states = resolve_oxidation_states(structure)
        if oxidation_states is None:
            logger.warning(
                "%s: no oxidation states (decorate the structure); spin and vacancy charge "
                "fall back to safe defaults",
                candidate_id,
            )
        bulk_maker = _configure(self.bulk_relax_maker, oxidation_states, self.wall_time)
        endpoint_maker = _configure(self.endpoint_relax_maker, oxidation_states, self.wall_time)
        neb_maker = _configure(self.neb_maker, oxidation_states, self.wall_time)
        neb_maker.input_set_generator.climbing_image = self.climb
        if self.check_potcars:
            self._check_potcars(structure, [bulk_maker, endpoint_maker, neb_maker])

        jobs: list[Flow | Any] = []
        relaxed = structure
        if bulk_maker is not None:
            relax = bulk_maker.make(structure)
            jobs.append(relax)
            relaxed = relax.output.structure
        hops = vasp_find_hops(
            relaxed,
            carrier=self.carrier,
            max_distance=self.max_distance,
            min_image_distance=self.min_image_distance,
            symprec=self.symprec,
        )
        per_hop = VaspHopsMaker(
            endpoint_relax_maker=endpoint_maker,
            neb_maker=neb_maker,
            n_images=self.n_images,
            interpolation=self.interpolation,
            symprec=self.endpoint_symprec,
            dip_tolerance=self.dip_tolerance,
            repair_rounds=self.repair_rounds,
        ).make(hops.output)
        collect = collect_vasp_barrier(
            candidate_id,
            hops.output,
            per_hop.output,
            settings=self.settings(neb_maker),
            reference=self.reference,
        )
        jobs += [hops, per_hop, collect]
        flow = Flow(jobs, output=collect.output, name=f"{self.name} {candidate_id}")
        flow.update_metadata({"candidate_id": candidate_id, "engine": self.engine}, dynamic=True)
        return flow

    def settings(self, neb_maker: NebFromImagesMaker | None = None) -> dict[str, Any]:
        """Engine settings recorded in the result (JSON-serialisable)."""
        neb_gen = (neb_maker or self.neb_maker).input_set_generator
        return {
            "climb": self.climb,
            "n_images": self.n_images,
            "interpolation": self.interpolation,
            "max_distance": self.max_distance,
            "min_image_distance": self.min_image_distance,
            "reference": self.reference,
            "dip_tolerance": self.dip_tolerance,
            "repair_rounds": self.repair_rounds,
            "potcar_functional": neb_gen.user_potcar_functional,
            "compensate_charge": getattr(neb_gen, "compensate_charge", None),
            "neb_incar_updates": {
                k: v
                for k, v in getattr(neb_gen, "stage_updates", {}).items()
                if v is not None and k != "IMAGES"
            },
        }

    def check_potcars_for(self, elements: list[str]) -> None:
        """Raise SubmissionError unless every POTCAR the makers need for ``elements`` exists
        (a campaign checks its whole space before it starts; no-op without ``check_potcars``)."""
        if self.check_potcars:
            makers = [self.bulk_relax_maker, self.endpoint_relax_maker, self.neb_maker]
            self._check_potcars(elements, [m for m in makers if m is not None])

    @staticmethod
    def _check_potcars(structure: Structure | list[str], makers: list[Any]) -> None:
        seen = set()
        for gen in (g for m in makers for g in _generators(m)):
            functional = gen.user_potcar_functional or gen.config_dict.get("POTCAR_FUNCTIONAL")
            settings = {**gen.config_dict.get("POTCAR", {}), **gen.user_potcar_settings}
            key = (functional, tuple(sorted((k, str(v)) for k, v in settings.items())))
            if key not in seen:
                seen.add(key)
                check_potcars(structure, functional=functional, potcar_settings=settings)
