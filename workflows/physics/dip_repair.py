"""Dip repair: a NEB path that falls below its endpoint started from an endpoint that is no minimum.

A positions-only endpoint relaxation can stop on a saddle of a symmetric configuration (W(VI) and
Mo(VI) oxides); the NEB breaks the symmetry and its path falls below the endpoint. Measured from
that endpoint the hop reads as nearly barrier-free. :func:`plan_repair` says which endpoint to
relax again and from which image; :func:`run_neb_repaired` relaxes it from the lowest image (the
deeper well the NEB found), runs the NEB again between the new endpoints, and repeats for at most
``max_rounds`` rounds. Every repair is recorded; a dip that survives the rounds stays visible in the
energies (:func:`workflows.physics.schemas.dipped_hops` flags it, and the campaign keeps the
composition out of the GP). :func:`plan_repair` is engine-agnostic (the VASP engine uses it too).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from workflows.physics.hop_symmetry import PathMirror, span
from workflows.physics.schemas import DIP_TOLERANCE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from workflows.physics.endpoints import Endpoints, Side
    from workflows.physics.neb import NebResult
    from workflows.physics.relax import BatchEvaluator, RelaxOptimizer

__all__ = ["MIN_SPAN", "endpoint_span", "plan_repair", "run_neb_repaired"]

logger = logging.getLogger(__name__)


def plan_repair(
    energies: Sequence[float], tolerance: float = DIP_TOLERANCE
) -> list[tuple[Side, int, float]]:
    """Endpoints to relax again: ``(side, image index, dip depth in eV)``, deepest first.

    Each endpoint owns its half of the band; it is relaxed again from the lowest image of its
    half when that image lies more than ``tolerance`` below it. The middle image of an odd band
    belongs to neither: a state halfway along the hop is no endpoint of it (relaxed and mirrored
    it would give the same state at both ends, a hop of length zero). A path whose lowest point is
    that middle image alone is run through that image relaxed as a site instead
    (:mod:`workflows.physics.midpoint_site`).

    Examples
    --------
    >>> plan_repair([0.0, -0.4, 0.1, -0.4, 0.0])
    [('initial', 1, 0.4), ('final', 3, 0.4)]
    >>> plan_repair([0.0, 0.3, 0.5, 0.3, 0.0])
    []
    >>> plan_repair([0.0, -0.02, -0.3, -0.02, 0.0])
    []
    """
    e = np.asarray(energies, dtype=float)
    last = len(e) - 1
    if last < 2:
        return []
    halves: dict[Side, range] = {
        "initial": range((last + 1) // 2),
        "final": range(last // 2 + 1, last + 1),
    }
    ends = {"initial": 0, "final": last}
    plan = []
    for side, half in halves.items():
        low = min(half, key=lambda i: e[i])
        depth = float(e[ends[side]] - e[low])
        if depth > tolerance:
            plan.append((side, int(low), round(depth, 6)))
    return sorted(plan, key=lambda p: -p[2])


#: Re-relaxed endpoints closer than this (largest atom displacement, angstrom) are one state.
MIN_SPAN = 0.5


def endpoint_span(endpoints: Endpoints) -> float:
    """Largest displacement of an atom between the two endpoints (minimum image), angstrom."""
    return span(endpoints.initial, endpoints.final)


def run_neb_repaired(
    endpoints: Endpoints,
    *,
    evaluator: BatchEvaluator,
    tolerance: float = DIP_TOLERANCE,
    max_rounds: int = 2,
    relax_fmax: float = 0.05,
    relax_max_steps: int = 3000,
    relax_optimizer: RelaxOptimizer = "LBFGS",
    **neb_kwargs: Any,
) -> tuple[NebResult, Endpoints]:
    """:func:`workflows.physics.neb.run_neb`, repairing dips by relaxing endpoints again.

    Returns
    -------
    NebResult, Endpoints
        The last NEB (its ``repairs`` list every repair, its ``endpoint_energy`` is the total
        energy of the initial endpoint it started from) and the endpoints it ran between.
    """
    from workflows.physics.midpoint_site import run_through_midpoint
    from workflows.physics.neb import run_neb
    from workflows.physics.relax import relax_structure

    neb_kwargs = {**neb_kwargs, "store_images": True}
    result = run_neb(endpoints, evaluator=evaluator, **neb_kwargs)
    repairs: list[dict[str, Any]] = []
    for round_ in range(1, max_rounds + 1):
        plan = plan_repair(result.energies, tolerance)
        if not plan:
            break
        mirror = PathMirror.find(endpoints)
        if mirror is not None:  # a symmetric hop: relax one side, mirror it onto the other
            plan = [next(p for p in plan if p[0] == plan[0][0])]
        update: dict[str, Any] = {}
        for side, index, depth in plan:
            before = endpoints.energy_initial if side == "initial" else endpoints.energy_final
            relaxed = relax_structure(
                result.images[index],  # type: ignore[index]
                fmax=relax_fmax,
                max_steps=relax_max_steps,
                relax_cell=False,
                optimizer=relax_optimizer,
                evaluator=evaluator,
            )
            update[side], update[f"energy_{side}"] = relaxed.structure, relaxed.energy
            if mirror is not None:
                other: Side = "final" if side == "initial" else "initial"
                mirrored = mirror.structure(relaxed.structure)
                update[other], update[f"energy_{other}"] = mirrored, relaxed.energy
            repairs.append(
                {
                    "round": round_,
                    "side": side,
                    "mirrored": mirror is not None,
                    "image": index,
                    "dip": depth,
                    "endpoint_energy_before": before,
                    "endpoint_energy_after": relaxed.energy,
                    "relax_steps": relaxed.n_steps,
                    "relax_converged": relaxed.converged,
                }
            )
            logger.info(
                "hop %d: path dips %.3f eV below its %s endpoint; relaxed again from image %d "
                "(%d steps, %.3f eV lower)",
                endpoints.hop_index,
                depth,
                side,
                index,
                relaxed.n_steps,
                (before or 0.0) - relaxed.energy if before is not None else float("nan"),
            )
        candidate = endpoints.model_copy(update=update)
        if endpoint_span(candidate) < MIN_SPAN:
            # both ends relaxed into one state (a well halfway along the hop): no hop to rerun
            repairs[-1]["outcome"] = "endpoints relaxed into one state; path kept as it was"
            logger.warning(
                "hop %d: the re-relaxed endpoints coincide (%.2f A apart); dip kept, flagged",
                endpoints.hop_index,
                endpoint_span(candidate),
            )
            break
        endpoints = candidate
        result = run_neb(endpoints, evaluator=evaluator, **neb_kwargs)
    result = result.model_copy(update={"repairs": repairs})
    if max_rounds > 0:  # a dip at the middle image alone: the path runs through a site there
        result = run_through_midpoint(
            result,
            endpoints,
            evaluator=evaluator,
            tolerance=tolerance,
            relax_fmax=relax_fmax,
            relax_max_steps=relax_max_steps,
            relax_optimizer=relax_optimizer,
            min_span=MIN_SPAN,
            **neb_kwargs,
        )
        repairs = result.repairs
    if plan_repair(result.energies, tolerance):
        logger.warning(
            "hop %d: path still dips below its endpoint after %d repair rounds (flagged)",
            endpoints.hop_index,
            max_rounds,
        )
    result = result.model_copy(
        update={"repairs": repairs, "endpoint_energy": endpoints.energy_initial}
    )
    return result, endpoints
