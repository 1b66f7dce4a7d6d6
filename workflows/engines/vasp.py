"""The ``vasp`` engine: DFT (GGA-PBE) climbing-image NEB through atomate2 and custodian.

Flow of one composition (job names are deterministic; tests address them)::

    bulk relax 1, bulk relax 2      atomate2 DoubleRelaxMaker, TavboRelaxSetGenerator (ISIF 3)
    find hops                       workflows.hops.find_hops on the relaxed cell
    vasp hops                       dynamic: replaced at run time by
        endpoint relax hop <h> <side>   only the symmetry-distinct vacancy endpoints (often 1)
        map endpoints                   relaxed geometry mapped onto every other endpoint
        neb images hop <h>              IDPP (or linear) images between the relaxed endpoints
        neb hop <h>                     atomate2 NebFromImagesMaker, TavboNebSetGenerator
        hop barrier <h>                 HopBarrier from the endpoint and image energies
    collect barrier                 percolation of the hop barriers -> BarrierResult

Where atomate2 0.1.5 does not fit, tavbo does the piece itself, explained once here:

* ``NebFromEndpointsMaker`` without an endpoint relax maker crashes in its collect job
  (``NebTaskDoc.from_directory`` does not exist), and with one it relaxes both endpoints of every
  hop. tavbo relaxes only symmetry-distinct endpoints (:func:`workflows.hop_symmetry.
  plan_endpoint_relaxations`) and runs ``NebFromImagesMaker`` on its own images.
* VASP does not compute the NEB endpoints (``00``, ``N+1``); their energies come from the
  endpoint relaxations, read from the task documents by :func:`hop_barrier` rather than by
  re-parsing directories (which breaks when the collect job runs on another host).
* ``NebFromImagesMaker`` writes the root POSCAR through the input set (sorted by
  electronegativity) but the image POSCARs unsorted, so POTCAR and image species order can
  disagree. tavbo sorts the structure once, at the start, and its generators do not re-sort.
* Metadata given to ``add_metadata_to_flow`` is dropped from NEB documents; the flow's metadata is
  set with ``Flow.update_metadata`` (dynamic, so the per-hop jobs get it too).
* An unconverged NEB would raise inside atomate2 (``VASP_HANDLE_UNSUCCESSFUL="error"``); the NEB
  maker keeps going instead and the hop is recorded with ``converged=False``.

Examples
--------
>>> from workflows.composition_space import default_space
>>> from workflows.structures import make_structure
>>> structure = make_structure(default_space().get("Li-Al-P-F"))
>>> flow = VaspBarrierMaker(check_potcars=False).make(structure, "Li-Al-P-F")
>>> flow.name, [job.name for job in flow]
('vasp barrier Li-Al-P-F', ['bulk double relax', 'find hops', 'vasp hops', 'collect barrier'])
"""

from __future__ import annotations

import logging
import time
from copy import deepcopy
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from atomate2.vasp.flows.core import DoubleRelaxMaker
from atomate2.vasp.jobs.core import RelaxMaker
from atomate2.vasp.jobs.neb import NebFromImagesMaker
from atomate2.vasp.run import JobType
from jobflow import Flow, Maker, Response, job

from workflows.errors import CalculationError, ConfigError
from workflows.hop_symmetry import map_relaxed, plan_endpoint_relaxations
from workflows.hops import Endpoints, HopInfo, HopSet, find_hops, hop_endpoints
from workflows.percolation import percolation_barrier
from workflows.potcars import check_potcars
from workflows.schemas import BarrierResult, HopBarrier
from workflows.vasp_sets import (
    TavboEndpointSetGenerator,
    TavboInputGenerator,
    TavboNebSetGenerator,
    TavboRelaxSetGenerator,
    resolve_oxidation_states,
)

if TYPE_CHECKING:
    from atomate2.vasp.jobs.base import BaseVaspMaker
    from pymatgen.core import Structure

__all__ = [
    "VaspBarrierMaker",
    "VaspHopsMaker",
    "collect_vasp_barrier",
    "hop_barrier",
    "hop_barrier_from_energies",
    "map_endpoints",
    "neb_images",
    "vasp_find_hops",
]

logger = logging.getLogger(__name__)

Interpolation = Literal["IDPP", "linear"]


# --------------------------------------------------------------------------- default makers


def default_bulk_relax_maker() -> DoubleRelaxMaker:
    """Two chained cell relaxations (the second removes most of the Pulay stress)."""
    maker = DoubleRelaxMaker.from_relax_maker(
        RelaxMaker(name="bulk relax", input_set_generator=TavboRelaxSetGenerator())
    )
    maker.name = "bulk double relax"
    return maker


def default_endpoint_relax_maker() -> RelaxMaker:
    """Fixed-cell relaxation of one vacancy endpoint (settings shared with the NEB)."""
    return RelaxMaker(name="endpoint relax", input_set_generator=TavboEndpointSetGenerator())


def default_neb_maker() -> NebFromImagesMaker:
    """atomate2 NEB from images; an unconverged NEB is recorded, not raised."""
    return NebFromImagesMaker(
        name="neb",
        input_set_generator=TavboNebSetGenerator(),
        run_vasp_kwargs={
            "job_type": JobType.NEB,
            "vasp_job_kwargs": {"output_file": "vasp.out", "stderr_file": "std_err.txt"},
        },
        stop_children_kwargs={"handle_unsuccessful": False},
    )


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
        :class:`~workflows.vasp_sets.TavboRelaxSetGenerator`). None uses the given structure as
        relaxed.
    endpoint_relax_maker : BaseVaspMaker
        Relaxes a vacancy endpoint in the fixed supercell (default: ``RelaxMaker`` with
        :class:`~workflows.vasp_sets.TavboEndpointSetGenerator`). Its task document's final
        energy is the endpoint energy of the NEB.
    neb_maker : NebFromImagesMaker
        Runs the NEB (default: atomate2 ``NebFromImagesMaker`` with
        :class:`~workflows.vasp_sets.TavboNebSetGenerator`).
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

    def make(self, structure: Structure, candidate_id: str) -> Flow:
        """Build the flow; its output is the composition's :class:`BarrierResult`.

        Parameters
        ----------
        structure : Structure
            Starting unit cell, preferably oxidation-state decorated (as
            :func:`workflows.structures.make_structure` returns it).
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
        ).make(hops.output)
        collect = collect_vasp_barrier(
            candidate_id,
            hops.output,
            per_hop.output,
            settings=self.settings(neb_maker),
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
            "potcar_functional": neb_gen.user_potcar_functional,
            "compensate_charge": getattr(neb_gen, "compensate_charge", None),
            "neb_incar_updates": {
                k: v
                for k, v in getattr(neb_gen, "stage_updates", {}).items()
                if v is not None and k != "IMAGES"
            },
        }

    @staticmethod
    def _check_potcars(structure: Structure, makers: list[Any]) -> None:
        seen = set()
        for gen in (g for m in makers for g in _generators(m)):
            functional = gen.user_potcar_functional or gen.config_dict.get("POTCAR_FUNCTIONAL")
            settings = {**gen.config_dict.get("POTCAR", {}), **gen.user_potcar_settings}
            key = (functional, tuple(sorted((k, str(v)) for k, v in settings.items())))
            if key not in seen:
                seen.add(key)
                check_potcars(structure, functional=functional, potcar_settings=settings)


# --------------------------------------------------------------------------- dynamic per hop


@job(name="find hops")
def vasp_find_hops(structure: Structure, **kwargs: Any) -> HopSet:
    """:func:`workflows.hops.find_hops` as a job (the VASP-relaxed cell, unsorted)."""
    start = time.time()
    hopset = find_hops(structure, **kwargs)
    hopset.wall_time = time.time() - start
    return hopset


@dataclass
class VaspHopsMaker(Maker):
    """Dynamic job: replaced at run time by the endpoint relaxations and one NEB per hop.

    Parameters
    ----------
    name : str, default="vasp hops"
        Job name.
    endpoint_relax_maker, neb_maker
        As in :class:`VaspBarrierMaker` (already configured).
    n_images : int, default=5
        Intermediate NEB images.
    interpolation : {"IDPP", "linear"}, default="IDPP"
        Initial path.
    symprec : float, default=0.01
        Tolerance for mapping relaxed endpoints by symmetry, angstrom.
    tol : float, default=0.05
        Largest atom mismatch of a symmetry mapping, angstrom.
    """

    name: str = "vasp hops"
    endpoint_relax_maker: BaseVaspMaker = field(default_factory=default_endpoint_relax_maker)
    neb_maker: NebFromImagesMaker = field(default_factory=default_neb_maker)
    n_images: int = 5
    interpolation: Interpolation = "IDPP"
    symprec: float = 0.01
    tol: float = 0.05

    @job
    def make(self, hopset: HopSet) -> Response:
        """Replace this job by the per-hop VASP jobs; the replacement outputs the HopBarriers."""
        endpoints = [hop_endpoints(hopset, hop.hop_index) for hop in hopset.hops]
        tasks = plan_endpoint_relaxations(
            endpoints, hopset.structure, symprec=self.symprec, tol=self.tol
        )
        by_hop = {ep.hop_index: ep for ep in endpoints}
        jobs: list[Any] = []
        relaxed: dict[str, Any] = {}
        energies: dict[str, Any] = {}
        for task in tasks:
            if task.source is not None:
                continue
            unrelaxed, _ = by_hop[task.hop_index].side(task.side)
            relax = self.endpoint_relax_maker.make(unrelaxed)
            relax.append_name(f" hop {task.hop_index} {task.side}")
            jobs.append(relax)
            key = _key(task.hop_index, task.side)
            relaxed[key] = relax.output.structure
            energies[key] = relax.output.output.energy
        mapped = map_endpoints(hopset, relaxed, energies, symprec=self.symprec, tol=self.tol)
        jobs.append(mapped)

        barriers = []
        for k, hop in enumerate(hopset.hops):
            images = neb_images(mapped.output[k], self.n_images, self.interpolation)
            images.append_name(f" hop {hop.hop_index}")
            neb = self.neb_maker.make(images.output)
            neb.append_name(f" hop {hop.hop_index}")
            barrier = hop_barrier(hop, mapped.output[k], neb.output)
            barrier.append_name(f" {hop.hop_index}")
            jobs += [images, neb, barrier]
            barriers.append(barrier.output)
        logger.info(
            "%d hops: %d endpoint relaxations, %d NEBs",
            len(hopset.hops),
            len(relaxed),
            len(hopset.hops),
        )
        return Response(replace=Flow(jobs, output=barriers, name=self.name))


def _key(hop_index: int, side: str) -> str:
    return f"{hop_index}:{side}"


@job(name="map endpoints")
def map_endpoints(
    hopset: HopSet,
    relaxed: dict[str, Structure],
    energies: dict[str, float],
    symprec: float = 0.01,
    tol: float = 0.05,
) -> list[Endpoints]:
    """Relaxed endpoints of every hop: relaxed ones as they are, the others mapped by symmetry.

    The plan of :func:`workflows.hop_symmetry.plan_endpoint_relaxations` is recomputed (it is
    deterministic) rather than passed in, because its symmetry mappings do not serialise.
    A mapped endpoint gets the energy of its symmetry-equivalent relaxed source.

    Parameters
    ----------
    hopset : HopSet
        The hops whose endpoints were planned.
    relaxed, energies : dict
        ``"<hop_index>:<side>"`` -> relaxed structure and its energy (eV), for every endpoint
        the plan relaxes.
    symprec, tol : float
        As given to the plan, angstrom.
    """
    endpoints = [hop_endpoints(hopset, hop.hop_index) for hop in hopset.hops]
    tasks = plan_endpoint_relaxations(endpoints, hopset.structure, symprec=symprec, tol=tol)
    by_hop = {ep.hop_index: ep for ep in endpoints}
    done: dict[str, Structure] = {}
    done_energy: dict[str, float] = {}
    for task in tasks:
        key = _key(task.hop_index, task.side)
        unrelaxed, _ = by_hop[task.hop_index].side(task.side)
        if task.source is None or task.mapping is None:
            if key not in relaxed:
                raise CalculationError(f"endpoint {key} was planned for relaxation but not relaxed")
            done[key] = _reorder_like(relaxed[key], unrelaxed)
            done_energy[key] = float(energies[key])
        else:
            src_key = _key(*task.source)
            source, _ = by_hop[task.source[0]].side(task.source[1])
            done[key] = map_relaxed(task.mapping, source, done[src_key], unrelaxed)
            done_energy[key] = done_energy[src_key]
    return [
        ep.model_copy(
            update={
                "initial": done[_key(ep.hop_index, "initial")],
                "final": done[_key(ep.hop_index, "final")],
                "energy_initial": done_energy[_key(ep.hop_index, "initial")],
                "energy_final": done_energy[_key(ep.hop_index, "final")],
            }
        )
        for ep in endpoints
    ]


def _reorder_like(relaxed: Structure, reference: Structure) -> Structure:
    """``relaxed`` in the atom order of ``reference`` (VASP may have re-sorted the sites)."""
    if [s.species_string for s in relaxed] == [s.species_string for s in reference]:
        return relaxed
    diff = reference.frac_coords[:, None, :] - relaxed.frac_coords[None, :, :]
    diff -= np.rint(diff)
    dist = np.linalg.norm(diff @ reference.lattice.matrix, axis=2)
    order = np.argmin(dist, axis=1)
    if len(set(order.tolist())) != len(reference):
        raise CalculationError("relaxed endpoint cannot be matched to its unrelaxed sites")
    return relaxed.__class__.from_sites([relaxed[int(i)] for i in order])


@job(name="neb images")
def neb_images(endpoints: Endpoints, n_images: int, interpolation: Interpolation) -> list[Any]:
    """``n_images + 2`` structures from the initial to the final relaxed endpoint.

    Uses atomate2's interpolation (IDPP through pymatgen-analysis-diffusion); the endpoints
    already share one atom order, so no re-sorting is attempted.
    """
    from atomate2.common.jobs.neb import NebInterpolation, get_images_from_endpoints

    interpolate = get_images_from_endpoints.original  # the function under atomate2's @job
    pair = [endpoints.initial, endpoints.final]
    if interpolation == "IDPP":
        images = interpolate(pair, n_images, interpolation_method=NebInterpolation.IDPP, sort_tol=0)
    else:
        images = interpolate(pair, n_images, interpolation_method=NebInterpolation.LINEAR)
    if len(images) != n_images + 2:
        raise CalculationError(f"interpolation gave {len(images)} structures, not {n_images + 2}")
    return list(images)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def hop_barrier_from_energies(
    hop: HopInfo,
    endpoint_energies: tuple[float, float],
    image_energies: list[float],
    converged: bool = True,
    n_steps: int | None = None,
) -> HopBarrier:
    """HopBarrier from total energies (eV): endpoints from their relaxations, images from NEB.

    Examples
    --------
    >>> hop = HopInfo(hop_index=0, length=3.7, isite=0, esite=1, to_jimage=(0, 0, 0),
    ...               multiplicity=2)
    >>> hb = hop_barrier_from_energies(hop, (-10.0, -10.0), [-9.8, -9.5, -9.8])
    >>> round(hb.barrier, 3), hb.energies[2]
    (0.5, 0.5)
    """
    total = np.array([endpoint_energies[0], *image_energies, endpoint_energies[1]], dtype=float)
    if not np.all(np.isfinite(total)):
        raise CalculationError(f"hop {hop.hop_index}: missing or non-finite NEB energies")
    relative = total - total[0]
    return HopBarrier(
        hop_index=hop.hop_index,
        length=hop.length,
        isite=hop.isite,
        esite=hop.esite,
        to_jimage=hop.to_jimage,
        multiplicity=hop.multiplicity,
        energies=[float(e) for e in relative],
        barrier=float(relative.max()),
        barrier_from_min=float(relative.max() - relative.min()),
        converged=converged,
        n_steps=n_steps,
    )


@job(name="hop barrier")
def hop_barrier(hop: HopInfo, endpoints: Endpoints, neb_doc: Any) -> HopBarrier:
    """Barrier of one hop from the relaxed-endpoint energies and the NEB task document.

    Parameters
    ----------
    hop : HopInfo
        The distinct hop.
    endpoints : Endpoints
        Relaxed endpoints with ``energy_initial`` and ``energy_final`` (eV).
    neb_doc : NebIntermediateImagesDoc or dict
        atomate2's NEB output: ``energies`` of the intermediate images (eV), ``state``, and
        ``calculations`` (ionic steps per image).

    Raises
    ------
    CalculationError
        If the NEB document holds no energies for some image.
    """
    energies = _get(neb_doc, "energies") or []
    if endpoints.energy_initial is None or endpoints.energy_final is None:
        raise CalculationError(f"hop {hop.hop_index}: endpoint energies missing")
    if not energies or any(e is None for e in energies):
        raise CalculationError(f"hop {hop.hop_index}: the NEB produced no image energies")
    state = str(_get(neb_doc, "state", "")).lower()
    converged = state.endswith("successful")
    steps = []
    for calc in _get(neb_doc, "calculations") or []:
        ionic = _get(_get(calc, "output", {}), "ionic_steps") or []
        steps.append(len(ionic))
    result = hop_barrier_from_energies(
        hop,
        (float(endpoints.energy_initial), float(endpoints.energy_final)),
        [float(e) for e in energies],
        converged=converged,
        n_steps=max(steps) if steps else None,
    )
    log = logger.info if converged else logger.warning
    log(
        "hop %d VASP NEB %s: barrier %.3f eV",
        hop.hop_index,
        "converged" if converged else "NOT converged",
        result.barrier,
    )
    return result


# --------------------------------------------------------------------------- collect


def _plain_dict(structure: Structure) -> dict[str, Any]:
    """``Structure.as_dict()`` without ``@module``/``@class``.

    ``BarrierResult.structure`` is a plain dict; with the MSON keys, jobflow's reference
    resolution (MontyDecoder) turns it back into a Structure, which the schema then rejects.
    ``Structure.from_dict`` reads the plain dict.
    """
    return {k: v for k, v in structure.as_dict().items() if not k.startswith("@")}


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("tavbo", "atomate2", "custodian", "pymatgen", "jobflow"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


@job(name="collect barrier")
def collect_vasp_barrier(
    candidate_id: str,
    hopset: HopSet,
    hops: list[HopBarrier],
    settings: dict[str, Any] | None = None,
) -> BarrierResult:
    """Percolate the per-hop barriers into the composition's E_b.

    Raises
    ------
    CalculationError
        If the hops do not percolate (E_b undefined).
    """
    hops = [HopBarrier.model_validate(h) if isinstance(h, dict) else h for h in hops]
    hops = sorted(hops, key=lambda h: h.hop_index)
    edges = hopset.edges
    result = percolation_barrier(edges, {h.hop_index: h.barrier for h in hops})
    from_min = percolation_barrier(edges, {h.hop_index: h.barrier_from_min for h in hops})
    if result.e_b is None:
        raise CalculationError(
            f"{candidate_id}: the {len(hops)} hops up to {hopset.max_distance} A do not "
            "percolate; raise max_distance"
        )
    structure = hopset.structure
    return BarrierResult(
        candidate_id=candidate_id,
        engine="vasp",
        fidelity="dft-neb",
        e_b=float(result.e_b),
        e_b_from_min=from_min.e_b,
        reference="endpoint",
        percolation_dimension=result.dimension,
        percolating_hops=result.hop_indices,
        hops=hops,
        structure=_plain_dict(structure),
        volume=float(structure.volume),
        settings=settings or {},
        versions=_versions(),
        extra={
            "unconverged_hops": [h.hop_index for h in hops if not h.converged],
            "thresholds": {str(k): v for k, v in result.thresholds.items()},
            "carrier": hopset.carrier,
            "edges": [[e.isite, e.esite, list(e.to_jimage), e.hop_index] for e in edges],
            "supercell_matrix": hopset.supercell_matrix,
        },
    )
