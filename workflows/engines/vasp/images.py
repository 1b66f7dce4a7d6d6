"""The starting path of each VASP NEB: relaxed endpoints for every hop, images between them.

The ``map endpoints`` and ``neb images hop <h>`` jobs of the VASP engine
(:mod:`workflows.engines.vasp.engine`). Only symmetry-distinct vacancy endpoints are relaxed
(:func:`workflows.physics.hop_symmetry.plan_endpoint_relaxations`); :func:`map_endpoints` maps their
relaxed geometry and energy onto every other endpoint, and :func:`neb_images` interpolates the
images atomate2's ``NebFromImagesMaker`` starts from.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from jobflow import job
from pymatgen.core import Structure

from workflows.errors import CalculationError
from workflows.physics.endpoints import Endpoints
from workflows.physics.hop_symmetry import map_relaxed, plan_endpoint_relaxations
from workflows.physics.hops import HopSet, hop_endpoints

__all__ = [
    "Interpolation",
    "as_structure",
    "endpoint_key",
    "in_hop_order",
    "map_endpoints",
    "neb_images",
    "reorder_like",
]

#: Initial path between the relaxed endpoints of a NEB.
Interpolation = Literal["IDPP", "linear"]


def endpoint_key(hop_index: int, side: str) -> str:
    """Key ``"<hop_index>:<side>"`` of an endpoint in :func:`map_endpoints`' dictionaries."""
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

    The plan of :func:`workflows.physics.hop_symmetry.plan_endpoint_relaxations` is recomputed (it
    is deterministic) rather than passed in, because its symmetry mappings do not serialise. A
    mapped endpoint gets the energy of its symmetry-equivalent relaxed source.

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
        key = endpoint_key(task.hop_index, task.side)
        unrelaxed, _ = by_hop[task.hop_index].side(task.side)
        if task.source is None or task.mapping is None:
            if key not in relaxed:
                raise CalculationError(f"endpoint {key} was planned for relaxation but not relaxed")
            done[key] = reorder_like(relaxed[key], unrelaxed)
            done_energy[key] = float(energies[key])
        else:
            src_key = endpoint_key(*task.source)
            source, _ = by_hop[task.source[0]].side(task.source[1])
            done[key] = map_relaxed(task.mapping, source, done[src_key], unrelaxed)
            done_energy[key] = done_energy[src_key]
    return [
        ep.model_copy(
            update={
                "initial": done[endpoint_key(ep.hop_index, "initial")],
                "final": done[endpoint_key(ep.hop_index, "final")],
                "energy_initial": done_energy[endpoint_key(ep.hop_index, "initial")],
                "energy_final": done_energy[endpoint_key(ep.hop_index, "final")],
            }
        )
        for ep in endpoints
    ]


def as_structure(obj: Any) -> Structure:
    """A Structure from a job output (a Structure, or its dict once serialised)."""
    return obj if isinstance(obj, Structure) else Structure.from_dict(obj)


def in_hop_order(relaxed: Any, reference: Structure, start: Any = None) -> Structure:
    """A relaxed VASP structure on ``reference``'s lattice and species: put back in the atom
    order of ``start`` (the structure the relaxation began from; VASP's input sets may sort the
    sites) when given, its coordinates then carried over as they are."""
    structure = as_structure(relaxed)
    if start is not None:
        structure = reorder_like(structure, as_structure(start))
    return Structure(
        reference.lattice, reference.species, structure.cart_coords, coords_are_cartesian=True
    )


def reorder_like(relaxed: Structure, reference: Structure) -> Structure:
    """``relaxed`` in the atom order of ``reference`` (VASP may have re-sorted the sites); as it
    is when the elements already come in the same order (VASP drops oxidation states)."""
    if [s.specie.symbol for s in relaxed] == [s.specie.symbol for s in reference]:
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
