"""The hops of a VASP flow: ``find hops`` and the dynamic ``vasp hops`` job that expands them.

:func:`vasp_find_hops` finds the distinct carrier hops of the relaxed cell; :class:`VaspHopsMaker`
is replaced at run time (a FireWorks detour) by the relaxations of the symmetry-distinct vacancy
endpoints, the endpoint mapping, and per hop the NEB images, the atomate2 NEB and the hop barrier
(:mod:`workflows.engines.vasp.images`, :mod:`workflows.engines.vasp.barriers`).
:class:`workflows.engines.vasp.engine.VaspBarrierMaker` builds both into its flow.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, Response, job

from workflows.engines.vasp.images import Interpolation, endpoint_key, map_endpoints, neb_images
from workflows.engines.vasp.makers import default_endpoint_relax_maker, default_neb_maker
from workflows.engines.vasp.repair import checked_hop_barrier
from workflows.physics.hop_symmetry import plan_endpoint_relaxations
from workflows.physics.hops import HopSet, find_hops, hop_endpoints

if TYPE_CHECKING:
    from atomate2.vasp.jobs.base import BaseVaspMaker
    from atomate2.vasp.jobs.neb import NebFromImagesMaker
    from pymatgen.core import Structure

__all__ = ["VaspHopsMaker", "vasp_find_hops"]

logger = logging.getLogger(__name__)


@job(name="find hops")
def vasp_find_hops(structure: Structure, **kwargs: Any) -> HopSet:
    """:func:`workflows.physics.hops.find_hops` as a job (the VASP-relaxed cell, unsorted)."""
    start = time.time()
    hopset = find_hops(structure, **kwargs)
    hopset.wall_time = time.time() - start
    return hopset


@dataclass
class VaspHopsMaker(Maker):
    """Dynamic job: replaced at run time by the endpoint relaxations and one NEB per hop.

    Parameters
    ----------
    name : str, default="vasp hops"
        Job name.
    endpoint_relax_maker, neb_maker
        As in :class:`workflows.engines.vasp.engine.VaspBarrierMaker` (already configured).
    n_images : int, default=5
        Intermediate NEB images.
    interpolation : {"IDPP", "linear"}, default="IDPP"
        Initial path.
    symprec : float, default=0.01
        Tolerance for mapping relaxed endpoints by symmetry, angstrom.
    tol : float, default=0.05
        Largest atom mismatch of a symmetry mapping, angstrom.
    dip_tolerance : float, default=0.05
        A path this far (eV) below an endpoint is repaired (:mod:`workflows.engines.vasp.repair`).
    repair_rounds : int, default=2
        Repair rounds per hop (0: none; a surviving dip is flagged).
    """

    name: str = "vasp hops"
    endpoint_relax_maker: BaseVaspMaker = field(default_factory=default_endpoint_relax_maker)
    neb_maker: NebFromImagesMaker = field(default_factory=default_neb_maker)
    n_images: int = 5
    interpolation: Interpolation = "IDPP"
    symprec: float = 0.01
    tol: float = 0.05
    dip_tolerance: float = 0.05
    repair_rounds: int = 2

    @job
    def make(self, hopset: HopSet) -> Response:
        """Replace this job by the per-hop VASP jobs; the replacement outputs the HopBarriers."""
        endpoints = [hop_endpoints(hopset, hop.hop_index) for hop in hopset.hops]
        tasks = plan_endpoint_relaxations(
            endpoints, hopset.structure, symprec=self.symprec, tol=self.tol
        )
        by_hop = {ep.hop_index: ep for ep in endpoints}
        jobs: list[Any] = []
        relaxed: dict[str, Any] = {}
        energies: dict[str, Any] = {}
        for task in tasks:
            if task.source is not None:
                continue
            unrelaxed, _ = by_hop[task.hop_index].side(task.side)
            relax = self.endpoint_relax_maker.make(unrelaxed)
            relax.append_name(f" hop {task.hop_index} {task.side}")
            jobs.append(relax)
            key = endpoint_key(task.hop_index, task.side)
            relaxed[key] = relax.output.structure
            energies[key] = relax.output.output.energy
        mapped = map_endpoints(hopset, relaxed, energies, symprec=self.symprec, tol=self.tol)
        jobs.append(mapped)

        barriers = []
        for k, hop in enumerate(hopset.hops):
            images = neb_images(mapped.output[k], self.n_images, self.interpolation)
            images.append_name(f" hop {hop.hop_index}")
            neb = self.neb_maker.make(images.output)
            neb.append_name(f" hop {hop.hop_index}")
            barrier = checked_hop_barrier(
                hop, mapped.output[k], neb.output, self.endpoint_relax_maker, self.neb_maker,
                self.n_images, self.interpolation, self.dip_tolerance, self.repair_rounds,
            )  # fmt: skip
            barrier.append_name(f" {hop.hop_index}")
            jobs += [images, neb, barrier]
            barriers.append(barrier.output)
        logger.info(
            "%d hops: %d endpoint relaxations, %d NEBs",
            len(hopset.hops),
            len(relaxed),
            len(hopset.hops),
        )
        return Response(replace=Flow(jobs, output=barriers, name=self.name))
