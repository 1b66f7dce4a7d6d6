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

import numpy as np
from jobflow import Flow, Response, job
from pymatgen.core import Structure

from workflows.errors import CalculationError
from workflows.physics.schemas import (
    BarrierResult,
    Fidelity,
    HopBarrier,
    Reference,
    unconverged_hops,
)

if TYPE_CHECKING:
    from workflows.physics.endpoints import Endpoints
    from workflows.physics.hops import HopSet
    from workflows.physics.neb import EndpointSet, NebResult
    from workflows.physics.relax import RelaxOptimizer, RelaxResult

__all__ = [
    "COLLECT_NAME",
    "ENDPOINTS_NAME",
    "HOPS_NAME",
    "NEBS_NAME",
    "RELAX_NAME",
    "build_barrier_result",
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
#: Packages whose versions every BarrierResult records.
VERSIONED = ("tavbo", "pymatgen", "pymatgen-analysis-diffusion", "jobflow")


def neb_job_name(hop_index: int) -> str:
    """Name of the NEB job of one hop: ``chgnet neb hop 2``."""
    return f"chgnet neb hop {hop_index}"


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


def _path(path: Any) -> dict[str, Any]:
    if hasattr(path, "model_dump"):
        path = path.model_dump(exclude={"images"})
    if not isinstance(path, Mapping) or "hop_index" not in path or "energies" not in path:
        raise CalculationError(f"a hop path needs hop_index and energies, got {path!r:.80}")
    return dict(path)


def build_barrier_result(
    candidate_id: str,
    engine: str,
    fidelity: Fidelity,
    hopset: HopSet,
    paths: Sequence[NebResult | Mapping[str, Any]],
    *,
    settings: Mapping[str, Any] | None = None,
    versions: Mapping[str, str] | None = None,
    wall_time: float | None = None,
    extra: Mapping[str, Any] | None = None,
    reference: Reference = "path_minimum",
) -> BarrierResult:
    """E_b of a composition from the energy profile of each distinct hop.

    Parameters
    ----------
    candidate_id, engine, fidelity
        Recorded as given.
    hopset : HopSet
        Hops and periodic hop graph of the relaxed cell.
    paths : sequence of NebResult or mapping
        One per distinct hop: ``hop_index`` and ``energies`` (eV, any zero; the first is the
        initial endpoint), optionally ``converged`` and ``n_steps``.
    settings, versions, wall_time, extra
        Recorded as given (``extra`` is extended with percolation details).
    reference : {"path_minimum", "endpoint"}
        What ``e_b`` is measured from (:mod:`workflows.physics.barrier_reference`); the endpoint
        value is always kept in ``extra["e_b_endpoint"]``.

    Returns
    -------
    BarrierResult
        ``e_b`` and its percolating network measured from ``reference``; ``e_b_from_min`` always
        from the path minimum.

    Raises
    ------
    CalculationError
        If a hop has no path, or the hops do not percolate.
    """
    from workflows.physics.barrier_reference import percolate_by_reference

    by_hop = {int(p["hop_index"]): p for p in map(_path, paths)}
    missing = [h.hop_index for h in hopset.hops if h.hop_index not in by_hop]
    if missing:
        raise CalculationError(f"{candidate_id}: no energy profile for hops {missing}")
    hops = []
    for info in hopset.hops:
        path = by_hop[info.hop_index]
        energies = np.asarray(path["energies"], dtype=float)
        relative = energies - energies[0]
        hops.append(
            HopBarrier(
                **info.model_dump(),
                energies=[float(e) for e in relative],
                barrier=float(relative.max()),
                barrier_from_min=float(relative.max() - relative.min()),
                converged=bool(path.get("converged", True)),
                n_steps=path.get("n_steps"),
            )
        )
    by_reference = percolate_by_reference(hops, hopset.edges)
    endpoint, from_min = by_reference["endpoint"], by_reference["path_minimum"]
    chosen = by_reference[reference]
    if endpoint.e_b is None:
        raise CalculationError(
            f"{candidate_id}: the {len(hops)} hops up to {hopset.max_distance} A do not "
            "percolate; raise max_hop_distance"
        )
    unconverged = unconverged_hops(hops)
    if unconverged:
        logger.warning("%s: NEB of hops %s did not converge", candidate_id, unconverged)
    structure = hopset.structure
    details = {
        "e_b_endpoint": endpoint.e_b,
        "percolation_thresholds": {f"E_{d}D": e for d, e in endpoint.thresholds.items()},
        "percolation_thresholds_from_min": {f"E_{d}D": e for d, e in from_min.thresholds.items()},
        "percolating_hops_from_min": from_min.hop_indices,
        "percolation_dimension_from_min": from_min.dimension,
        "unconverged_hops": unconverged,
        "carrier": hopset.carrier,
        "hop_cutoff": hopset.max_distance,
        "supercell_matrix": hopset.supercell_matrix,
        "edges": [e.model_dump() for e in hopset.edges],
    }
    return BarrierResult(
        candidate_id=candidate_id,
        engine=engine,
        fidelity=fidelity,
        e_b=chosen.e_b,
        e_b_from_min=from_min.e_b,
        reference=reference,
        percolation_dimension=chosen.dimension,
        percolating_hops=chosen.hop_indices,
        hops=hops,
        structure=structure.as_dict(),
        volume=float(structure.volume),
        settings=dict(settings or {}),
        versions=dict(versions or package_versions()),
        wall_time=wall_time,
        extra={**details, **(extra or {})},
    )


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
    reference: Reference = "path_minimum",
) -> BarrierResult:
    """The composition's BarrierResult; ``wall_time`` is the sum of ``wall_times`` and its own."""
    start = time.perf_counter()
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


@job(name=RELAX_NAME)
def chgnet_relax(
    structure: Structure,
    fmax: float = 0.05,
    max_steps: int = 500,
    relax_cell: bool = True,
    torch_threads: int | None = None,
    optimizer: RelaxOptimizer = "LBFGS",
) -> RelaxResult:
    """CHGNet relaxation; see :func:`workflows.physics.relax.relax_structure`."""
    from workflows.physics.relax import relax_structure, set_torch_threads

    start = time.perf_counter()
    set_torch_threads(torch_threads)
    result = relax_structure(
        structure, fmax=fmax, max_steps=max_steps, relax_cell=relax_cell, optimizer=optimizer
    )
    return result.model_copy(update={"wall_time": time.perf_counter() - start})


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
) -> EndpointSet:
    """Relaxed endpoints of every hop; see :func:`workflows.physics.neb.relax_endpoints`."""
    from workflows.physics.neb import relax_endpoints
    from workflows.physics.relax import set_torch_threads

    start = time.perf_counter()
    set_torch_threads(torch_threads)
    result = relax_endpoints(hopset, fmax=fmax, max_steps=max_steps, optimizer=optimizer)
    return result.model_copy(update={"wall_time": time.perf_counter() - start})


@job(data=NEB_DATA)
def chgnet_neb(
    endpoints: Endpoints, torch_threads: int | None = None, **neb_kwargs: Any
) -> NebResult:
    """CHGNet climbing-image NEB of one hop; see :func:`workflows.physics.neb.run_neb`."""
    from workflows.physics.neb import run_neb
    from workflows.physics.relax import set_torch_threads

    start = time.perf_counter()
    set_torch_threads(torch_threads)
    result = run_neb(endpoints, **neb_kwargs)
    return result.model_copy(update={"wall_time": time.perf_counter() - start})


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
    reference: Reference = "path_minimum",
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
        Torch threads of every CHGNet job.
    reference : {"path_minimum", "endpoint"}
        What E_b is measured from (passed to ``collect barrier``).
    """
    endpoints = chgnet_endpoints(hopset, torch_threads=torch_threads, **(endpoint_kwargs or {}))
    nebs = []
    for hop in hopset.hops:
        neb = chgnet_neb(
            endpoints.output.endpoints[hop.hop_index],
            torch_threads=torch_threads,
            **(neb_kwargs or {}),
        )
        neb.name = neb_job_name(hop.hop_index)
        nebs.append(neb)
    collect = collect_barrier(
        candidate_id,
        "chgnet",
        "mlp-neb",
        hopset,
        [neb.output for neb in nebs],
        settings=settings,
        packages=(*VERSIONED, "chgnet", "torch", "ase"),
        wall_times=[
            *wall_times,
            endpoints.output.wall_time,
            *(neb.output.wall_time for neb in nebs),
        ],
        extra={
            **(extra or {}),
            "n_endpoints_relaxed": endpoints.output.n_relaxed,
            "endpoint_relax_steps": endpoints.output.relax_steps,
        },
        reference=reference,
    )
    flow = Flow([endpoints, *nebs, collect], output=collect.output, name=f"{candidate_id} nebs")
    return Response(replace=flow)
