"""Midpoint repair for the VASP engine: the chgnet engine's rule, as FireWorks detours.

When a hop's path dips at its middle image alone
(:func:`workflows.physics.midpoint_site.midpoint_dip`), ``hop barrier <h>``
(:func:`workflows.engines.vasp.repair.checked_hop_barrier`) replaces itself by
:func:`midpoint_detour`: the endpoint relax maker relaxes the middle image (positions only), then
``midpoint site <h>`` (:func:`through_site`) looks at the relaxed structure. Within ``min_span``
of an endpoint it is no site: the hop keeps its path, flagged, with the relaxation recorded. Else
it replaces itself by the NEB endpoint -> site (``neb images`` and ``neb`` jobs), the NEB site ->
endpoint unless the hop is inversion-symmetric with the site on its centre (then the second half
is the mirror of the first), and ``hop through site <h>`` (:func:`joined_barrier`), which joins
their energies into one path through the site. The decision is a job of its own because it
depends on the relaxation's output (jobflow's dynamic branch: a job returning a replacement).
The steps are those of :func:`workflows.physics.midpoint_site.run_through_midpoint`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Response, job
from pymatgen.core import Structure

from workflows.engines.vasp.barriers import (
    hop_barrier_from_energies,
    read_neb_doc,
    read_relax_calc,
)
from workflows.engines.vasp.images import in_hop_order, neb_images
from workflows.physics.dip_repair import MIN_SPAN
from workflows.physics.midpoint_site import (
    THROUGH_SITE,
    half_endpoints,
    join_halves,
    kept_at_endpoint,
    site_mirror,
    site_record,
)
from workflows.physics.schemas import HopBarrier

if TYPE_CHECKING:
    from workflows.physics.endpoints import Endpoints
    from workflows.physics.hops import HopInfo

__all__ = ["joined_barrier", "midpoint_detour", "through_site"]

logger = logging.getLogger(__name__)


def midpoint_detour(
    hop: HopInfo,
    endpoints: Endpoints,
    barrier: HopBarrier,
    image: Structure,
    depth: float,
    endpoint_relax_maker: Any,
    neb_maker: Any,
    n_images: int,
    interpolation: str,
) -> Response:
    """The detour that replaces ``hop barrier <h>`` when ``barrier`` dips ``depth`` (eV) at its
    middle ``image``: relax it, then :func:`through_site` on the relaxed structure."""
    relax = endpoint_relax_maker.make(image)
    relax.append_name(f" hop {hop.hop_index} midpoint site")
    decide = through_site(
        hop, endpoints, barrier, relax.output.structure, relax.output.output.energy, depth,
        neb_maker, n_images, interpolation, start=image,
        relax_calc=relax.output.calcs_reversed[0],
    )  # fmt: skip
    decide.append_name(f" {hop.hop_index}")
    logger.info(
        "hop %d: the path's lowest point is its middle image (%.3f eV below the endpoint); "
        "relaxing it as a site",
        hop.hop_index, depth,
    )  # fmt: skip
    return Response(replace=Flow([relax, decide], output=decide.output))


@job(name="midpoint site")
def through_site(
    hop: HopInfo,
    endpoints: Endpoints,
    barrier: HopBarrier,
    site: Structure,
    energy: float,
    depth: float,
    neb_maker: Any,
    n_images: int = 5,
    interpolation: str = "IDPP",
    min_span: float = MIN_SPAN,
    start: Structure | None = None,
    relax_calc: Any = None,
) -> HopBarrier | Response:
    """``barrier`` kept with the record when the relaxed middle image (``site``, total
    ``energy``) lies on an endpoint; else the half NEBs through it and :func:`joined_barrier`.

    ``start`` is the image the relaxation started from: the site is put back in its atom order
    (VASP's input set may have sorted the atoms). ``relax_calc``, the relaxation's last
    calculation, puts its ionic steps and convergence in the record.
    """
    barrier = HopBarrier.model_validate(barrier) if isinstance(barrier, dict) else barrier
    ordered = in_hop_order(site, endpoints.initial, start=start)
    site_energy = float(energy) - float(endpoints.energy_initial or 0.0)
    middle = len(barrier.energies) // 2
    record = site_record(
        len(barrier.repairs) + 1, middle, depth, site_energy, **read_relax_calc(relax_calc)
    )
    kept = kept_at_endpoint(record, ordered, endpoints, min_span)
    if kept is not None:
        return barrier.model_copy(update={"repairs": [*barrier.repairs, kept]})
    halves = list(half_endpoints(endpoints, ordered, float(energy)))
    if site_mirror(endpoints, ordered) is not None:
        halves = halves[:1]  # the second half is the first one inverted through the midpoint
    jobs: list[Any] = []
    docs = []
    for k, half in enumerate(halves, start=1):
        path = neb_images(half, n_images, interpolation)
        path.append_name(f" hop {hop.hop_index} half {k}")
        neb = neb_maker.make(path.output)
        neb.append_name(f" hop {hop.hop_index} half {k}")
        jobs += [path, neb]
        docs.append(neb.output)
    join = joined_barrier(hop, barrier, endpoints, float(energy), record, *docs)
    join.append_name(f" {hop.hop_index}")
    return Response(replace=Flow([*jobs, join], output=join.output))


@job(name="hop through site")
def joined_barrier(
    hop: HopInfo,
    barrier: HopBarrier,
    endpoints: Endpoints,
    energy: float,
    record: dict[str, Any],
    first_doc: Any,
    second_doc: Any = None,
) -> HopBarrier:
    """``barrier`` with its path replaced by the one through the site (total ``energy``, eV):
    the NEB initial endpoint -> site (``first_doc``), then site -> final endpoint
    (``second_doc``; None: the mirror of the first half). ``record`` gains the site's index."""
    barrier = HopBarrier.model_validate(barrier) if isinstance(barrier, dict) else barrier
    e_initial, e_final = (
        float(endpoints.energy_initial or 0.0),
        float(endpoints.energy_final or 0.0),
    )
    first, converged, n_steps = read_neb_doc(hop.hop_index, first_doc)
    halves = [hop_barrier_from_energies(hop, (e_initial, energy), first).energies]
    steps = [barrier.n_steps, n_steps]
    if second_doc is not None:
        second, second_converged, second_steps = read_neb_doc(hop.hop_index, second_doc)
        halves.append(hop_barrier_from_energies(hop, (energy, e_final), second).energies)
        converged, steps = converged and second_converged, [*steps, second_steps]
    second_half = halves[1] if len(halves) > 1 else None
    energies, site = join_halves(halves[0], second_half, energy - e_initial)
    joined = hop_barrier_from_energies(
        hop,
        (e_initial, e_initial + energies[-1]),
        [e_initial + e for e in energies[1:-1]],
        converged=converged,
        n_steps=sum(s for s in steps if s is not None) if any(steps) else None,
    )
    record = {**record, "site_image": site, "outcome": THROUGH_SITE}
    logger.info(
        "hop %d: NEB run through the relaxed site (%.3f eV): barrier %.3f eV from the endpoint",
        hop.hop_index, energy - e_initial, joined.barrier,
    )  # fmt: skip
    return joined.model_copy(
        update={"e_initial": barrier.e_initial, "repairs": [*barrier.repairs, record]}
    )
