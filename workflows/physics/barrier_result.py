"""One composition's BarrierResult from the energy profile of each of its distinct hops.

Engine-agnostic and pure: the CHGNet/SevenNet ``collect barrier`` job and any other NEB engine
call :func:`build_barrier_result` with one profile per hop; the rules for E_b are in
:mod:`workflows.physics.barrier_reference`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from workflows.errors import CalculationError
from workflows.physics.schemas import (
    BarrierResult,
    Fidelity,
    HopBarrier,
    Reference,
    unconverged_hops,
)

if TYPE_CHECKING:
    from workflows.physics.hops import HopSet
    from workflows.physics.neb import NebResult

__all__ = ["build_barrier_result"]

logger = logging.getLogger(__name__)


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
    reference: Reference = "network",
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
        initial endpoint), optionally ``converged``, ``n_steps``, ``repairs`` and
        ``endpoint_energy`` (total energy of the initial endpoint, eV: when every path has it,
        the hops share the zero of the lowest one, else each starts at zero).
    settings, versions, wall_time, extra
        Recorded as given (``extra`` is extended with percolation details).
    reference : {"network", "path_minimum", "endpoint"}
        What ``e_b`` is measured from (:mod:`workflows.physics.barrier_reference`); the other
        values are kept in ``extra["e_b_endpoint"]``, ``extra["e_b_network"]`` and ``e_b_from_min``.

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
    totals = [by_hop[h.hop_index].get("endpoint_energy") for h in hopset.hops]
    zero = min(totals) if all(t is not None for t in totals) else None
    hops = []
    for info, total in zip(hopset.hops, totals, strict=True):
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
                e_initial=float(total - zero) if zero is not None else 0.0,
                repairs=list(path.get("repairs") or []),
                resumed_at_step=path.get("resumed_at_step"),
                optimiser_restarts=int(path.get("optimiser_restarts") or 0),
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
    network = by_reference["network"]
    details = {
        "e_b_endpoint": endpoint.e_b,
        "e_b_network": network.e_b,
        "percolating_hops_network": network.hop_indices,
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
        versions=dict(versions or {}),
        wall_time=wall_time,
        extra={**details, **(extra or {})},
    )
