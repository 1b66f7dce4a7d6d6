"""Dip repair for the VASP engine: the chgnet engine's rule, as FireWorks detours.

``hop barrier <h>`` (:func:`checked_hop_barrier`) computes the hop's barrier from the endpoint
and NEB energies. If the path falls more than ``tolerance`` below an endpoint
(:func:`workflows.physics.dip_repair.plan_repair`) and rounds are left, it replaces itself by a
repair: relax that endpoint again from the lowest NEB image (the endpoint relax maker), mirror it
onto the other endpoint when the hop is inversion-symmetric, interpolate, run the NEB again and
check again. Each repair is recorded in the hop's ``repairs``; ``e_initial`` puts a repaired hop
back on the common zero (the composition's relaxed vacancy endpoint). A path whose lowest point is
its middle image alone (:func:`workflows.physics.midpoint_site.midpoint_dip`) is run through that
image relaxed as a site instead (:mod:`workflows.engines.vasp.midpoint`), once no endpoint needs
relaxing again or the rounds are spent.
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
from workflows.engines.vasp.images import as_structure, in_hop_order, neb_images
from workflows.engines.vasp.midpoint import midpoint_detour
from workflows.errors import CalculationError
from workflows.physics.dip_repair import MIN_SPAN, endpoint_span, plan_repair
from workflows.physics.hop_symmetry import PathMirror
from workflows.physics.midpoint_site import midpoint_dip
from workflows.physics.schemas import DIP_TOLERANCE, HopBarrier

if TYPE_CHECKING:
    from workflows.physics.endpoints import Endpoints, Side
    from workflows.physics.hops import HopInfo

__all__ = ["checked_hop_barrier", "repaired_endpoints"]

logger = logging.getLogger(__name__)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


@job(name="repaired endpoints")
def repaired_endpoints(
    endpoints: Endpoints, side: Side, structure: Structure, energy: float
) -> Endpoints:
    """``endpoints`` with ``side`` replaced by a relaxed structure (mirrored onto the other side
    when the hop is inversion-symmetric)."""
    ordered = in_hop_order(structure, endpoints.initial, start=getattr(endpoints, side))
    update: dict[str, Any] = {side: ordered, f"energy_{side}": float(energy)}
    mirror = PathMirror.find(endpoints)
    if mirror is not None:
        other = "final" if side == "initial" else "initial"
        update[other] = mirror.structure(ordered)
        update[f"energy_{other}"] = float(energy)
    repaired = endpoints.model_copy(update=update)
    if (
        endpoint_span(repaired) < MIN_SPAN
    ):  # both ends relaxed into one state: keep the hop as it was
        logger.warning("hop %d: re-relaxed endpoints coincide; dip kept", endpoints.hop_index)
        return endpoints
    return repaired


@job(name="hop barrier")
def checked_hop_barrier(
    hop: HopInfo,
    endpoints: Endpoints,
    neb_doc: Any,
    endpoint_relax_maker: Any = None,
    neb_maker: Any = None,
    n_images: int = 5,
    interpolation: str = "IDPP",
    tolerance: float = DIP_TOLERANCE,
    rounds_left: int = 2,
    zero: float | None = None,
    repairs: list[dict[str, Any]] | None = None,
    relax_calc: Any = None,
) -> HopBarrier | Response:
    """The hop's barrier, or a repair detour when its path dips below an endpoint (relax it
    again) or at its middle image alone (relax that as a site, run the NEB through it).

    ``zero`` is the energy of the composition's relaxed vacancy endpoint (the first round's
    initial endpoint); ``repairs`` the repairs of earlier rounds; ``relax_calc`` the last
    calculation of the relaxation that made the latest one (its steps and convergence join
    that record).
    """
    if endpoints.energy_initial is None or endpoints.energy_final is None:
        raise CalculationError(f"hop {hop.hop_index}: endpoint energies missing")
    energies, converged, n_steps = read_neb_doc(hop.hop_index, neb_doc)
    zero = float(endpoints.energy_initial) if zero is None else zero
    repairs = list(repairs or [])
    if repairs and relax_calc is not None:
        repairs[-1] = {**repairs[-1], **read_relax_calc(relax_calc)}
    barrier = hop_barrier_from_energies(
        hop,
        (float(endpoints.energy_initial), float(endpoints.energy_final)),
        energies,
        converged=converged,
        n_steps=n_steps,
    )
    barrier = barrier.model_copy(
        update={"e_initial": float(endpoints.energy_initial) - zero, "repairs": repairs}
    )
    plan = plan_repair(barrier.energies, tolerance) if rounds_left > 0 else []
    # a dip at the middle image alone runs through a site there once the endpoints hold (as
    # run_neb_repaired does: when repair is on, after the endpoint rounds)
    on = rounds_left > 0 or bool(repairs)
    midpoint = midpoint_dip(barrier.energies, tolerance) if on and not plan else 0.0
    images = _get(neb_doc, "images") or []
    if not (plan or midpoint) or endpoint_relax_maker is None or neb_maker is None:
        return barrier
    if len(images) != len(barrier.energies) - 2:
        logger.warning("hop %d dips but its NEB document has no images; flagged", hop.hop_index)
        return barrier
    if midpoint:
        image = as_structure(images[len(images) // 2])
        return midpoint_detour(
            hop, endpoints, barrier, image, midpoint, endpoint_relax_maker, neb_maker,
            n_images, interpolation,
        )  # fmt: skip
    side, index, depth = plan[0]
    relax = endpoint_relax_maker.make(as_structure(images[index - 1]))
    relax.append_name(f" hop {hop.hop_index} {side} repair")
    fixed = repaired_endpoints(endpoints, side, relax.output.structure, relax.output.output.energy)
    path = neb_images(fixed.output, n_images, interpolation)
    path.append_name(f" hop {hop.hop_index} repair")
    neb = neb_maker.make(path.output)
    neb.append_name(f" hop {hop.hop_index} repair")
    record = {"round": len(repairs) + 1, "side": side, "image": index, "dip": depth,
              "endpoint_energy_before": _get(endpoints, f"energy_{side}"),
              "endpoint_energy_after": relax.output.output.energy}  # fmt: skip
    again = checked_hop_barrier(
        hop,
        fixed.output,
        neb.output,
        endpoint_relax_maker=endpoint_relax_maker,
        neb_maker=neb_maker,
        n_images=n_images,
        interpolation=interpolation,
        tolerance=tolerance,
        rounds_left=rounds_left - 1,
        zero=zero,
        repairs=[*repairs, record],
        relax_calc=relax.output.calcs_reversed[0],
    )
    again.append_name(f" {hop.hop_index}")
    logger.info(
        "hop %d: path dips %.3f eV below its %s endpoint; relaxing it again from image %d",
        hop.hop_index, depth, side, index,
    )  # fmt: skip
    return Response(replace=Flow([relax, fixed, path, neb, again], output=again.output))
