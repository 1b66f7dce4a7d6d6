"""Barriers from VASP outputs: one HopBarrier per NEB, then the composition's BarrierResult.

The ``hop barrier <h>`` and ``collect barrier`` jobs of the VASP engine
(:mod:`workflows.engines.vasp.engine`). VASP does not compute the NEB endpoints (``00``, ``N+1``):
:func:`hop_barrier` takes their energies from the endpoint relaxations, read from the task
documents rather than by re-parsing directories (which breaks when the job runs on another
host). :func:`collect_vasp_barrier` percolates the hop barriers into E_b.
"""

from __future__ import annotations

import logging
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import job

from workflows.errors import CalculationError
from workflows.physics.barrier_reference import percolate_by_reference
from workflows.physics.endpoints import Endpoints
from workflows.physics.hops import HopInfo, HopSet
from workflows.physics.schemas import BarrierResult, HopBarrier, Reference, unconverged_hops

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["collect_vasp_barrier", "hop_barrier", "hop_barrier_from_energies", "read_neb_doc"]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- per hop


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


def read_neb_doc(hop_index: int, neb_doc: Any) -> tuple[list[float], bool, int | None]:
    """Image energies (eV), whether the NEB converged and its ionic steps (the most any image
    took) from atomate2's NEB document (or its dict).

    Raises
    ------
    CalculationError
        If the document holds no energy for some image.
    """
    energies = _get(neb_doc, "energies") or []
    if not energies or any(e is None for e in energies):
        raise CalculationError(f"hop {hop_index}: the NEB produced no image energies")
    steps = [
        len(_get(_get(calc, "output", {}), "ionic_steps") or [])
        for calc in _get(neb_doc, "calculations") or []
    ]
    converged = str(_get(neb_doc, "state", "")).lower().endswith("successful")
    return [float(e) for e in energies], converged, max(steps) if steps else None


def read_relax_calc(calc: Any) -> dict[str, Any]:
    """What a relaxation reports for a repair record: its ionic steps and whether VASP
    finished converged (``relax_steps``, ``relax_converged``), from the last calculation of
    atomate2's task document (or its dict); empty without one."""
    if calc is None:
        return {}
    steps = len(_get(_get(calc, "output", {}), "ionic_steps") or [])
    done = str(_get(calc, "has_vasp_completed", "")).lower()
    return {"relax_steps": steps, "relax_converged": done.endswith("successful")}


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
    if endpoints.energy_initial is None or endpoints.energy_final is None:
        raise CalculationError(f"hop {hop.hop_index}: endpoint energies missing")
    energies, converged, n_steps = read_neb_doc(hop.hop_index, neb_doc)
    result = hop_barrier_from_energies(
        hop,
        (float(endpoints.energy_initial), float(endpoints.energy_final)),
        energies,
        converged=converged,
        n_steps=n_steps,
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
    reference: Reference = "network",
) -> BarrierResult:
    """Percolate the per-hop barriers into the composition's E_b, measured from ``reference``.

    Raises
    ------
    CalculationError
        If the hops do not percolate (E_b undefined).
    """
    hops = [HopBarrier.model_validate(h) if isinstance(h, dict) else h for h in hops]
    hops = sorted(hops, key=lambda h: h.hop_index)
    edges = hopset.edges
    by_reference = percolate_by_reference(hops, edges)
    endpoint, from_min = by_reference["endpoint"], by_reference["path_minimum"]
    result = by_reference[reference]
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
        reference=reference,
        percolation_dimension=result.dimension,
        percolating_hops=result.hop_indices,
        hops=hops,
        structure=_plain_dict(structure),
        volume=float(structure.volume),
        settings=settings or {},
        versions=_versions(),
        extra={
            "e_b_endpoint": endpoint.e_b,
            "e_b_network": by_reference["network"].e_b,
            "unconverged_hops": unconverged_hops(hops),
            "thresholds": {str(k): v for k, v in result.thresholds.items()},
            "carrier": hopset.carrier,
            "hop_cutoff": hopset.max_distance,
            "edges": [[e.isite, e.esite, list(e.to_jimage), e.hop_index] for e in edges],
            "supercell_matrix": hopset.supercell_matrix,
        },
    )
