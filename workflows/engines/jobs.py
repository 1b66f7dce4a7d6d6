"""jobflow jobs of the barrier engines: thin wrappers over the pure functions, deterministic names.

The CHGNet flow of one composition (:class:`workflows.engines.chgnet.ChgnetBarrierMaker`) is::

    chgnet relax -> find hops -> chgnet nebs  (replaced at run time by:)
                                   chgnet endpoints -> chgnet neb hop 0 .. n-1 -> collect barrier

``chgnet nebs`` only knows how many hops there are once ``find hops`` has run, so it returns
``Response(replace=Flow([...]))``: on FireWorks every hop's NEB becomes its own Firework.
:func:`find_hops_job` and :func:`collect_barrier` are engine-agnostic: another engine (VASP) feeds
``collect_barrier`` one energy profile per hop, as :class:`~workflows.physics.neb.NebResult` objects
or as dicts with ``hop_index``, ``energies`` and optionally ``converged`` and ``n_steps``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Response, job
from pymatgen.core import Structure

from workflows.physics.schemas import BarrierResult, Fidelity, Reference

if TYPE_CHECKING:
    from workflows.physics.endpoints import Endpoints
    from workflows.physics.hops import HopSet
    from workflows.physics.neb import EndpointSet, NebResult
    from workflows.physics.relax import RelaxOptimizer, RelaxResult

__all__ = [
    "COLLECT_NAME",
    "ENDPOINTS_NAME",
    "HOPS_NAME",
    "MLP_PACKAGES",
    "NEBS_NAME",
    "RELAX_NAME",
    "chgnet_endpoints",
    "chgnet_hop_nebs",
    "chgnet_neb",
    "chgnet_relax",
    "collect_barrier",
    "find_hops_job",
    "neb_job_name",
    "package_versions",
]

logger = logging.getLogger(__name__)

RELAX_NAME = "chgnet relax"
HOPS_NAME = "find hops"
NEBS_NAME = "chgnet nebs"
ENDPOINTS_NAME = "chgnet endpoints"
COLLECT_NAME = "collect barrier"
#: Packages of the potential of each machine-learned-potential engine, recorded with its results.
MLP_PACKAGES: dict[str, tuple[str, ...]] = {"chgnet": ("chgnet",), "sevennet": ("sevenn", "e3nn")}
#: Packages whose versions every BarrierResult records.
VERSIONED = ("tavbo", "pymatgen", "pymatgen-analysis-diffusion", "jobflow")


def neb_job_name(hop_index: int, engine: str = "chgnet") -> str:
    """Name of the NEB job of one hop: ``chgnet neb hop 2``."""
    return f"{engine} neb hop {hop_index}"


def package_versions(packages: Sequence[str] = VERSIONED) -> dict[str, str]:
    """Installed versions of ``packages`` (``"not installed"`` for missing ones)."""
    out = {}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# --------------------------------------------------------------------------- engine-agnostic


@job(name=HOPS_NAME)
def find_hops_job(
    structure: Structure,
    carrier: str | None = None,
    max_distance: float = 5.0,
    min_image_distance: float = 10.0,
    symprec: float = 0.1,
) -> HopSet:
    """Distinct carrier hops of a relaxed cell; see :func:`workflows.physics.hops.find_hops`."""
    from workflows.physics.hops import find_hops

    start = time.perf_counter()
    hopset = find_hops(
        structure,
        carrier,
        max_distance=max_distance,
        min_image_distance=min_image_distance,
        symprec=symprec,
    )
    return hopset.model_copy(update={"wall_time": time.perf_counter() - start})


@job(name=COLLECT_NAME)
def collect_barrier(
    candidate_id: str,
    engine: str,
    fidelity: Fidelity,
    hopset: HopSet,
    paths: Sequence[NebResult | Mapping[str, Any]],
    settings: Mapping[str, Any] | None = None,
    packages: Sequence[str] = VERSIONED,
    wall_times: Sequence[float | None] = (),
    extra: Mapping[str, Any] | None = None,
    reference: Reference = "network",
    framework_problems: Sequence[Sequence[str] | None] = (),
) -> BarrierResult:
    """The composition's BarrierResult; ``wall_time`` is the sum of ``wall_times`` and its own.

    ``framework_problems`` (one list per upstream job) land in ``extra["framework_failures"]``:
    a reconstructed framework makes the result untrusted
    (:func:`workflows.physics.schemas.trust_issues`). Hops whose dip repair was skipped for
    it are listed in ``extra["repairs_skipped"]`` (hop index -> why).
    """
    start = time.perf_counter()
    failures = [p for problems in framework_problems for p in problems or []]
    extra = {**(extra or {}), "framework_failures": failures}
    skipped = {}
    for path in paths:
        info = (
            path
            if isinstance(path, Mapping)
            else path.model_dump(include={"hop_index", "repair_skipped"})
        )
        if info.get("repair_skipped"):
            skipped[str(info["hop_index"])] = info["repair_skipped"]
    if skipped:
        extra["repairs_skipped"] = skipped
    from workflows.physics.barrier_result import build_barrier_result

    result = build_barrier_result(
        candidate_id,
        engine,
        fidelity,
        hopset,
        paths,
        settings=settings,
        versions=package_versions(packages),
        extra=extra,
        reference=reference,
    )
    total = sum(t for t in wall_times if t is not None) + time.perf_counter() - start
    logger.info(
        "%s: E_b %.3f eV (%dD, hops %s), from path minimum %s eV",
        candidate_id,
        result.e_b,
        result.percolation_dimension,
        result.percolating_hops,
        f"{result.e_b_from_min:.3f}" if result.e_b_from_min is not None else "-",
    )
    return result.model_copy(update={"wall_time": total})


# --------------------------------------------------------------------------- CHGNet


def _framework_check(
    candidate_id: str | None,
    pairs: Sequence[tuple[Structure, Structure | None, str]],
) -> list[str]:
    """:func:`workflows.structures.integrity.framework_problems` of ``(cell, reference, label)``."""
    if not candidate_id or not pairs:
        return []
    from workflows.structures.integrity import candidate_of, framework_problems

    candidate = candidate_of(pairs[0][0], candidate_id)
    problems: list[str] = []
    for structure, reference, label in pairs:
        problems += framework_problems(structure, candidate, reference, label)
    if problems:
        logger.warning("%s: %s", candidate_id, problems[0])
    return problems


@job(name=RELAX_NAME)
def chgnet_relax(
    structure: Structure,
    fmax: float = 0.05,
    max_steps: int = 500,
    relax_cell: bool = True,
    torch_threads: int | None = None,
    optimizer: RelaxOptimizer = "LBFGS",
    potential: str = "chgnet",
    candidate_id: str | None = None,
) -> RelaxResult:
    """Relaxation with ``potential`` (CHGNet or a SevenNet model); checks the framework.

    See :func:`workflows.physics.relax.relax_structure`; with ``candidate_id`` the relaxed cell's
    framework is checked against ``structure`` (``framework_problems`` of the output).
    """
    from workflows.physics.relax import BatchEvaluator, relax_structure, set_torch_threads

    start = time.perf_counter()
    set_torch_threads(torch_threads)
    result = relax_structure(
        structure,
        fmax=fmax,
        max_steps=max_steps,
        relax_cell=relax_cell,
        optimizer=optimizer,
        evaluator=BatchEvaluator(potential=potential, task="efs" if relax_cell else "ef"),
    )
    problems = _framework_check(candidate_id, [(result.structure, structure, "relaxed cell")])
    return result.model_copy(
        update={"wall_time": time.perf_counter() - start, "framework_problems": problems}
    )


#: NEB outputs hold supercell structures (two per hop, and every image when requested): they go
#: to the JobStore's ``data`` additional store (GridFS on MongoDB), so no job document comes near
#: MongoDB's 16 MB limit whatever the supercell and the number of images.
NEB_DATA = Structure


@job(name=ENDPOINTS_NAME, data=NEB_DATA)
def chgnet_endpoints(
    hopset: HopSet,
    fmax: float = 0.05,
    max_steps: int = 300,
    torch_threads: int | None = None,
    optimizer: RelaxOptimizer = "LBFGS",
    potential: str = "chgnet",
    candidate_id: str | None = None,
) -> EndpointSet:
    """Relaxed endpoints of every hop; see :func:`workflows.physics.neb.relax_endpoints`.

    With ``candidate_id`` each endpoint's framework is checked against the unrelaxed one.
    """
    from workflows.physics.hops import hop_endpoints
    from workflows.physics.neb import relax_endpoints
    from workflows.physics.relax import BatchEvaluator, set_torch_threads

    start = time.perf_counter()
    set_torch_threads(torch_threads)
    result = relax_endpoints(
        hopset,
        fmax=fmax,
        max_steps=max_steps,
        optimizer=optimizer,
        evaluator=BatchEvaluator(potential=potential, task="ef"),
    )
    pairs = []
    for ep in result.endpoints:
        unrelaxed = hop_endpoints(hopset, ep.hop_index)
        label = f"hop {ep.hop_index} endpoint"
        pairs += [(ep.initial, unrelaxed.initial, f"{label} initial")]
        pairs += [(ep.final, unrelaxed.final, f"{label} final")]
    problems = _framework_check(candidate_id, pairs)
    return result.model_copy(
        update={"wall_time": time.perf_counter() - start, "framework_problems": problems}
    )


@job(data=NEB_DATA)
def chgnet_neb(
    endpoints: Endpoints,
    torch_threads: int | None = None,
    potential: str = "chgnet",
    candidate_id: str | None = None,
    repair: Mapping[str, Any] | None = None,
    upstream_problems: Sequence[Sequence[str] | None] = (),
    **neb_kwargs: Any,
) -> NebResult:
    """Climbing-image NEB of one hop with ``potential``, dips repaired, images checked.

    See :func:`workflows.physics.dip_repair.run_neb_repaired` (``repair`` holds its tolerance,
    rounds and relaxation settings; ``{"max_rounds": 0}`` turns repairs off) and
    :func:`workflows.physics.neb.run_neb`. With ``candidate_id`` every final image and every
    re-relaxed endpoint is checked against the initial endpoint's framework.

    The band is checkpointed (``TAVBO_NEB_CHECKPOINT_DIR``, default
    ``<TAVBO_RUN_DIR>/neb-checkpoints``): a NEB whose job was killed and re-queued resumes where
    it was saved (``resumed_at_step``). A stalled optimiser starts again from the band of its
    lowest force (``optimiser_restarts``; :mod:`workflows.physics.neb_stall`).

    ``upstream_problems`` are the framework problems found before this NEB (relaxed cell,
    endpoints). When there are any, no repair is tried: the result is untrusted whatever the
    path does, and each repair round is another NEB (the bulk of the cost of the W/Mo oxides
    that reconstruct). The NEB runs once, so the hop keeps its (flagged) barrier, and
    ``repair_skipped`` says why.
    """
    from workflows.physics.dip_repair import run_neb_repaired
    from workflows.physics.relax import BatchEvaluator, set_torch_threads
    from workflows.settings import WorkflowSettings

    start = time.perf_counter()
    set_torch_threads(torch_threads)
    evaluator = BatchEvaluator(potential=potential, task="ef")
    upstream = [p for problems in upstream_problems for p in problems or []]
    repair = dict(repair or {})
    skipped = None
    if upstream and repair.get("max_rounds") != 0:
        repair["max_rounds"] = 0
        skipped = f"framework reconstructed before the NEB: {upstream[0]}"
        logger.info("hop %d: dip repair skipped (%s)", endpoints.hop_index, skipped)
    neb_kwargs.setdefault("checkpoint_dir", WorkflowSettings().neb_checkpoints)
    neb_kwargs.setdefault("checkpoint_tag", potential)
    result, used = run_neb_repaired(endpoints, evaluator=evaluator, **repair, **neb_kwargs)
    label = f"hop {endpoints.hop_index}"
    pairs = [
        (image, endpoints.initial, f"{label} image {i}")
        for i, image in enumerate(result.images or [])
    ]
    if result.repairs:
        pairs += [(used.initial, endpoints.initial, f"{label} re-relaxed initial endpoint")]
        pairs += [(used.final, endpoints.final, f"{label} re-relaxed final endpoint")]
    problems = _framework_check(candidate_id, pairs)
    return result.model_copy(
        update={
            "wall_time": time.perf_counter() - start,
            "framework_problems": problems,
            "images": None,
            "repair_skipped": skipped,
        }
    )


@job(name=NEBS_NAME)
def chgnet_hop_nebs(
    hopset: HopSet,
    candidate_id: str,
    endpoint_kwargs: Mapping[str, Any] | None = None,
    neb_kwargs: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    wall_times: Sequence[float | None] = (),
    extra: Mapping[str, Any] | None = None,
    torch_threads: int | None = None,
    reference: Reference = "network",
    potential: str = "chgnet",
    engine: str = "chgnet",
    repair: Mapping[str, Any] | None = None,
    framework_problems: Sequence[str] = (),
    check_framework: bool = True,
) -> Response:
    """Replace itself by the endpoint job, one NEB job per hop and ``collect barrier``.

    Parameters
    ----------
    hopset : HopSet
        Output of ``find hops``.
    candidate_id : str
        Composition ID.
    endpoint_kwargs, neb_kwargs : mapping, optional
        Keyword arguments of :func:`chgnet_endpoints` and :func:`workflows.physics.neb.run_neb`.
    settings, extra : mapping, optional
        Passed to ``collect barrier``.
    wall_times : sequence of float
        Seconds of the upstream jobs (relax, find hops), added to the result's wall time.
    torch_threads : int, optional
        Torch threads of every job.
    reference : {"network", "path_minimum", "endpoint"}
        What E_b is measured from (passed to ``collect barrier``).
    potential, engine : str
        The potential every job uses and the engine name (job names and the result).
    repair : mapping, optional
        Dip repair settings of :func:`chgnet_neb`.
    framework_problems : sequence of str
        Problems found upstream (the relaxed cell), kept with the endpoints' and images'.
    check_framework : bool, default=True
        Check the endpoints' and images' framework.
    """
    checked = candidate_id if check_framework else None
    endpoints = chgnet_endpoints(
        hopset,
        torch_threads=torch_threads,
        potential=potential,
        candidate_id=checked,
        **(endpoint_kwargs or {}),
    )
    endpoints.name = f"{engine} endpoints"
    nebs = []
    for hop in hopset.hops:
        neb = chgnet_neb(
            endpoints.output.endpoints[hop.hop_index],
            torch_threads=torch_threads,
            potential=potential,
            candidate_id=checked,
            repair=repair,
            upstream_problems=[list(framework_problems), endpoints.output.framework_problems],
            **(neb_kwargs or {}),
        )
        neb.name = neb_job_name(hop.hop_index, engine)
        nebs.append(neb)
    collect = collect_barrier(
        candidate_id,
        engine,
        "mlp-neb",
        hopset,
        [neb.output for neb in nebs],
        settings=settings,
        packages=(*VERSIONED, *MLP_PACKAGES.get(engine, ()), "torch", "ase"),
        wall_times=[
            *wall_times,
            endpoints.output.wall_time,
            *(neb.output.wall_time for neb in nebs),
        ],
        extra={
            **(extra or {}),
            "n_endpoints_relaxed": endpoints.output.n_relaxed,
            "endpoint_relax_steps": endpoints.output.relax_steps,
            "potential": potential,
        },
        reference=reference,
        framework_problems=[
            list(framework_problems),
            endpoints.output.framework_problems,
            *(neb.output.framework_problems for neb in nebs),
        ],
    )
    flow = Flow([endpoints, *nebs, collect], output=collect.output, name=f"{candidate_id} nebs")
    return Response(replace=flow)
