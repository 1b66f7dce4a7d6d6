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

The steps after the relaxation (:func:`site_record`, :func:`kept_at_endpoint`,
:func:`site_mirror`, :func:`half_endpoints`, :func:`join_halves`) are shared with the VASP
engine, which runs them as jobflow detours (:mod:`workflows.engines.vasp.midpoint`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from workflows.physics.hop_symmetry import PathMirror, span
from workflows.physics.schemas import DIP_TOLERANCE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

    from workflows.physics.endpoints import Endpoints
    from workflows.physics.neb import NebResult
    from workflows.physics.relax import BatchEvaluator, RelaxOptimizer

__all__ = [
    "THROUGH_SITE",
    "half_endpoints",
    "join_halves",
    "kept_at_endpoint",
    "midpoint_dip",
    "run_through_midpoint",
    "site_mirror",
    "site_record",
]

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
    record = site_record(
        len(result.repairs) + 1,
        middle,
        depth,
        site_energy,
        relax_steps=relaxed.n_steps,
        relax_converged=relaxed.converged,
    )
    kept = kept_at_endpoint(record, relaxed.structure, endpoints, min_span)
    if kept is not None:
        return result.model_copy(update={"repairs": [*result.repairs, kept]})
    neb_kwargs = {**neb_kwargs, "store_images": True}
    half, other = half_endpoints(endpoints, relaxed.structure, relaxed.energy)
    first = run_neb(half, evaluator=evaluator, **neb_kwargs)
    images = list(first.images or [])
    mirror = site_mirror(endpoints, relaxed.structure)
    if mirror is not None:  # the second half is the first one inverted through the midpoint
        second_energies = None
        images += [mirror.structure(s) for s in reversed(images[:-1])]
        second_steps, second_evals, second_force, second_converged = 0, 0, 0.0, True
    else:
        second = run_neb(other, evaluator=evaluator, **neb_kwargs)
        second_energies = second.energies
        images += list(second.images or [])[1:]
        second_steps, second_evals = second.n_steps, second.n_evaluations
        second_force, second_converged = second.max_force, second.converged
    energies, site = join_halves(first.energies, second_energies, site_energy)
    record.update(site_image=site, outcome=THROUGH_SITE)
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


# --------------------------------------------------------------------------- shared steps
# (the VASP engine runs the same steps as jobflow detours: workflows.engines.vasp.midpoint)

#: ``outcome`` of a midpoint repair whose path now runs through the relaxed site.
THROUGH_SITE = "relaxed as a site; NEB run endpoint -> site -> endpoint"


def site_record(
    round_: int, image: int, depth: float, site_energy: float, **relaxation: Any
) -> dict[str, Any]:
    """The ``repairs`` entry of a midpoint repair before its outcome is known: the middle
    ``image`` whose ``depth`` (eV) triggered it, and the relaxed site's energy relative to the
    initial endpoint; ``relaxation`` adds what the relaxation reports (steps, converged)."""
    record: dict[str, Any] = {"round": round_, "side": "midpoint", "image": image, "dip": depth}
    return {**record, "site_energy": round(float(site_energy), 6), **relaxation}


def kept_at_endpoint(
    record: dict[str, Any], site: Structure, endpoints: Endpoints, min_span: float
) -> dict[str, Any] | None:
    """``record`` with the outcome "path kept" when the relaxed middle image lies within
    ``min_span`` angstrom of an endpoint (no site: the path stays as it was, flagged); else None."""
    gap = min(span(site, endpoints.initial), span(site, endpoints.final))
    if gap >= min_span:
        return None
    outcome = f"relaxed into an endpoint ({gap:.2f} A away); path kept as it was"
    logger.warning("hop %d: the middle image is no site (%s)", endpoints.hop_index, outcome)
    return {**record, "outcome": outcome}


def site_mirror(endpoints: Endpoints, site: Structure, tol: float = 0.05) -> PathMirror | None:
    """The hop's :class:`PathMirror` when the relaxed ``site`` stays on its inversion centre
    (within ``tol`` angstrom): the second half path is then the first one inverted."""
    mirror = PathMirror.find(endpoints)
    if mirror is None or span(site, mirror.structure(site)) > tol:
        return None  # no symmetric hop, or the site relaxed off the centre: run both halves
    return mirror


def half_endpoints(
    endpoints: Endpoints, site: Structure, energy: float
) -> tuple[Endpoints, Endpoints]:
    """The endpoints of the half paths initial -> site and site -> final (``energy``: the
    site's total energy, eV)."""
    first = endpoints.model_copy(update={"final": site, "energy_final": energy})
    update = {"initial": site, "energy_initial": energy, "vacancy_initial": endpoints.vacancy_final}
    return first, endpoints.model_copy(update=update)


def join_halves(
    first: Sequence[float], second: Sequence[float] | None, site_energy: float
) -> tuple[list[float], int]:
    """One path endpoint -> site -> endpoint and the site's index on it.

    ``first`` runs from the initial endpoint to the site, ``second`` from the site to the final
    endpoint, each relative to its own start (eV); ``second`` None: the mirror of ``first``.
    The joined energies are relative to the initial endpoint.

    Examples
    --------
    >>> join_halves([0.0, 0.2, -0.1], [0.0, 0.4, 0.1], -0.1)
    ([0.0, 0.2, -0.1, 0.30000000000000004, 0.0], 2)
    >>> join_halves([0.0, 0.2, -0.1], None, -0.1)
    ([0.0, 0.2, -0.1, 0.2, 0.0], 2)
    """
    head = [float(e) for e in first]
    tail = list(reversed(head)) if second is None else [float(e) + site_energy for e in second]
    return head + tail[1:], len(head) - 1
