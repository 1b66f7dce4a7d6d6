"""A path whose lowest point is its middle image: the ion passes through a site halfway.

:func:`workflows.physics.dip_repair.plan_repair` relaxes an endpoint again when the path falls
below it in that endpoint's half of the band. The middle image of an odd band belongs to neither
half: when the path's lowest point is that image alone, the hop runs through an intermediate
well (an interstitial site between the two carrier sites), and the NEB image there is no minimum
(its forces along the path are projected out), so the depth it reports is only an upper bound
and the path stays flagged as dipped.

:func:`run_through_midpoint` relaxes that image as a site of its own (positions only, as the
endpoints were) and runs the NEB in two halves, endpoint -> site -> endpoint; a hop that is
inversion-symmetric about its midpoint mirrors the first half onto the second, so one NEB
suffices. The result is one path whose energies run through the relaxed site; the site's index
on it is recorded in ``repairs`` (``side: "midpoint"``, ``site_image``) and
:func:`workflows.physics.schemas.dip_depth` measures a dip from the lowest relaxed state on the
path (endpoints and sites), so the hop is trusted unless a half path still falls below it. The
network rule (:mod:`workflows.physics.barrier_reference`) already measures E_b from the lowest
energy the ion reaches, now the relaxed site's. A middle image that relaxes back into an endpoint
is no site: the path is kept as it was, flagged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from workflows.physics.hop_symmetry import PathMirror, span
from workflows.physics.schemas import DIP_TOLERANCE

if TYPE_CHECKING:
    from workflows.physics.endpoints import Endpoints
    from workflows.physics.neb import NebResult
    from workflows.physics.relax import BatchEvaluator, RelaxOptimizer

__all__ = ["midpoint_dip", "run_through_midpoint"]

logger = logging.getLogger(__name__)


def midpoint_dip(energies: list[float] | np.ndarray, tolerance: float = DIP_TOLERANCE) -> float:
    """Depth (eV) of the middle image below the lower endpoint when it is the path's lowest
    point by more than ``tolerance``; 0 otherwise (even band, no such dip).

    Examples
    --------
    >>> midpoint_dip([0.0, 0.1, -0.3, 0.1, 0.0])
    0.3
    >>> midpoint_dip([0.0, -0.4, -0.3, 0.1, 0.0])
    0.0
    """
    e = np.asarray(energies, dtype=float)
    last = len(e) - 1
    if last < 2 or last % 2:
        return 0.0
    middle = last // 2
    depth = float(min(e[0], e[-1]) - e[middle])
    if depth <= tolerance or int(np.argmin(e)) != middle:
        return 0.0
    return round(depth, 6)


def run_through_midpoint(
    result: NebResult,
    endpoints: Endpoints,
    *,
    evaluator: BatchEvaluator,
    tolerance: float = DIP_TOLERANCE,
    relax_fmax: float = 0.05,
    relax_max_steps: int = 3000,
    relax_optimizer: RelaxOptimizer = "LBFGS",
    min_span: float = 0.5,
    **neb_kwargs: Any,
) -> NebResult:
    """``result`` run again through its relaxed middle image when that image is its only dip.

    Returns ``result`` unchanged when its lowest point is not the middle image (see
    :func:`midpoint_dip`), or with the relaxation recorded but the path kept when the relaxed
    image lies within ``min_span`` angstrom of an endpoint. ``result.images`` is required.
    """
    from workflows.physics.neb import run_neb
    from workflows.physics.relax import relax_structure

    depth = midpoint_dip(result.energies, tolerance)
    if not depth or not result.images or endpoints.energy_initial is None:
        return result
    middle = len(result.energies) // 2
    relaxed = relax_structure(
        result.images[middle],
        fmax=relax_fmax,
        max_steps=relax_max_steps,
        relax_cell=False,
        optimizer=relax_optimizer,
        evaluator=evaluator,
    )
    site_energy = relaxed.energy - endpoints.energy_initial
    record: dict[str, Any] = {
        "round": len(result.repairs) + 1,
        "side": "midpoint",
        "image": middle,
        "dip": depth,
        "site_energy": round(site_energy, 6),
        "relax_steps": relaxed.n_steps,
        "relax_converged": relaxed.converged,
    }
    gap = min(span(relaxed.structure, endpoints.initial), span(relaxed.structure, endpoints.final))
    if gap < min_span:
        record["outcome"] = f"relaxed into an endpoint ({gap:.2f} A away); path kept as it was"
        logger.warning(
            "hop %d: the middle image is no site (%s)", endpoints.hop_index, record["outcome"]
        )
        return result.model_copy(update={"repairs": [*result.repairs, record]})
    neb_kwargs = {**neb_kwargs, "store_images": True}
    half = endpoints.model_copy(update={"final": relaxed.structure, "energy_final": relaxed.energy})
    first = run_neb(half, evaluator=evaluator, **neb_kwargs)
    images = list(first.images or [])
    mirror = PathMirror.find(endpoints)
    if mirror is not None and span(relaxed.structure, mirror.structure(relaxed.structure)) > 0.05:
        mirror = None  # the site relaxed off the inversion centre: run the second half too
    if mirror is not None:  # the second half is the first one inverted through the midpoint
        second_energies = [float(e) for e in reversed(first.energies)]
        images += [mirror.structure(s) for s in reversed(images[:-1])]
        second_steps, second_evals, second_force, second_converged = 0, 0, 0.0, True
    else:
        other = endpoints.model_copy(
            update={
                "initial": relaxed.structure,
                "energy_initial": relaxed.energy,
                "vacancy_initial": endpoints.vacancy_final,
            }
        )
        second = run_neb(other, evaluator=evaluator, **neb_kwargs)
        second_energies = [float(e) + site_energy for e in second.energies]
        images += list(second.images or [])[1:]
        second_steps, second_evals = second.n_steps, second.n_evaluations
        second_force, second_converged = second.max_force, second.converged
    energies = [float(e) for e in first.energies] + second_energies[1:]
    site = len(first.energies) - 1
    record["site_image"] = site
    record["outcome"] = "relaxed as a site; NEB run endpoint -> site -> endpoint"
    logger.info(
        "hop %d: the path's lowest point is its middle image (%.3f eV below the endpoint); "
        "relaxed as a site (%.3f eV, %d steps) and the NEB run through it",
        endpoints.hop_index,
        depth,
        site_energy,
        relaxed.n_steps,
    )
    e = np.asarray(energies)
    return result.model_copy(
        update={
            "energies": energies,
            "barrier": float(e.max() - e[0]),
            "barrier_from_min": float(e.max() - e.min()),
            "converged": bool(first.converged and second_converged),
            "n_steps": result.n_steps + first.n_steps + second_steps,
            "max_force": max(first.max_force, second_force),
            "n_evaluations": result.n_evaluations + first.n_evaluations + second_evals,
            "repairs": [*result.repairs, record],
            "images": images,
        }
    )
