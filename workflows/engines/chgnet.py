"""CHGNet engine: CHGNet relaxation, then a climbing-image CHGNet NEB of every distinct hop.

The flow (job names are part of the contract; see :mod:`workflows.engines.jobs`)::

    chgnet relax -> find hops -> chgnet nebs
                                 = chgnet endpoints -> chgnet neb hop 0..n-1 -> collect barrier

Its output is a :class:`~workflows.physics.schemas.BarrierResult` with ``fidelity="mlp-neb"``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from jobflow import Flow, Maker

from workflows.engines.jobs import MLP_PACKAGES, chgnet_hop_nebs, chgnet_relax, find_hops_job
from workflows.errors import ConfigError
from workflows.physics.schemas import Reference

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["ChgnetBarrierMaker"]


@dataclass
class ChgnetBarrierMaker(Maker):
    """E_b of one composition from CHGNet climbing-image NEBs of all hops up to 5 A.

    Parameters
    ----------
    name : str, default="chgnet barrier"
        Flow name prefix (the flow is ``"{name} {candidate_id}"``).
    relax_fmax : float, default=0.05
        Force criterion of the cell + ion relaxation, eV/A.
    relax_max_steps : int, default=500
        Steps of the cell relaxation.
    relax_optimizer : {"LBFGS", "BFGS", "FIRE"}, default="LBFGS"
        Optimiser of the cell and endpoint relaxations (half FIRE's steps, lower energies).
    max_hop_distance : float, default=5.0
        Longest hop, angstrom.
    min_image_distance : float, default=10.0
        Smallest distance between periodic images of the NEB supercell, angstrom (about 80 atoms
        for a 16-atom tavorite cell).
    endpoint_fmax : float, default=0.05
        Force criterion of the vacancy endpoint relaxations (positions only), eV/A.
    endpoint_max_steps : int, default=3000
        Steps per endpoint relaxation. Most converge in 5-150; vacancy endpoints of W(VI)
        oxides took 874 (Li-Gd-W-O) and 1622 (Na-Dy-W-O), and lower caps left their NEBs
        unconverged. Only such endpoints use the extra steps.
    n_images : int, default=5
        Moving NEB images.
    climb : bool, default=True
        Climbing image.
    k : float, default=0.3
        Spring constant, eV/A^2.
    method : str, default="improvedtangent"
        ASE NEB method.
    fmax : float, default=0.05
        NEB force criterion, eV/A.
    max_steps : int, default=1000
        NEB steps; a NEB still above ``fmax`` is kept and flagged ``converged=False`` (and a
        campaign fails the evaluation). Converged NEBs of the reference set took 19-300 steps;
        a higher cap changes no result that converged under a lower one.
    interpolation : {"idpp", "linear"}, default="idpp"
        Initial path.
    optimizer : {"LBFGS", "FIRE", "FIRE2", "BFGS", "MDMin"}, default="LBFGS"
        NEB optimiser (LBFGS: 19-43 steps per hop where FIRE took 28-76, same barriers).
    climb_after_fmax : float or None, default=0.5
        Run a plain NEB down to this force (eV/A) before the image starts climbing; None climbs
        from the first step.
    use_symmetry : bool, default=True
        Keep the band of an inversion-symmetric hop symmetric and evaluate only half of it
        (see :func:`workflows.physics.neb.run_neb`).
    stall_steps : int, default=30
        A NEB optimiser whose force has not improved for this many steps and is more than twice
        its lowest starts again from the band of the lowest force (:mod:`workflows.physics.
        neb_stall`; seen to circle at 2-7 eV/A for hundreds of steps); 0 turns it off.
    torch_threads : int or None, default=None
        Torch threads per job; None means ``$TAVBO_TORCH_THREADS``, else 1.
    reference : {"network", "path_minimum", "endpoint"}, default="network"
        What E_b is measured from: the lowest point of the percolating network, the lowest image
        of each hop's path, or the relaxed vacancy endpoint (the others are kept in ``extra``;
        see :mod:`workflows.physics.barrier_reference`).
    dip_tolerance : float, default=0.05
        A path more than this (eV) below an endpoint has it relaxed again from the lowest image,
        and the NEB rerun (:mod:`workflows.physics.dip_repair`).
    repair_rounds : int, default=2
        Repair rounds per hop; a dip that survives them is flagged (0 turns repairs off).
    check_framework : bool, default=True
        Check the framework of the relaxed cell, the endpoints and the NEB images
        (:mod:`workflows.structures.integrity`); a reconstructed one makes the result untrusted.
    committee : str or None, default=None
        Another MLP engine (``sevennet``, or ``chgnet`` for a SevenNet campaign) that evaluates
        the composition too, with the same settings; ``extra["committee"]`` then records both
        E_b and flags them when they differ by more than ``committee_margin``
        (:mod:`workflows.engines.committee`). Doubles the cost.
    committee_margin : float, default=0.2
        Largest E_b difference (eV) the committee accepts without a flag.
    """

    engine: ClassVar[str] = "chgnet"

    name: str = "chgnet barrier"
    relax_fmax: float = 0.05
    relax_max_steps: int = 500
    relax_optimizer: Literal["LBFGS", "BFGS", "FIRE"] = "LBFGS"
    max_hop_distance: float = 5.0
    min_image_distance: float = 10.0
    endpoint_fmax: float = 0.05
    endpoint_max_steps: int = 3000
    n_images: int = 5
    climb: bool = True
    k: float = 0.3
    method: str = "improvedtangent"
    fmax: float = 0.05
    max_steps: int = 1000
    interpolation: Literal["idpp", "linear"] = "idpp"
    optimizer: Literal["LBFGS", "FIRE", "FIRE2", "BFGS", "MDMin"] = "LBFGS"
    climb_after_fmax: float | None = 0.5
    use_symmetry: bool = True
    stall_steps: int = 30
    torch_threads: int | None = None
    reference: Reference = "network"
    dip_tolerance: float = 0.05
    repair_rounds: int = 2
    check_framework: bool = True
    committee: str | None = None
    committee_margin: float = 0.2

    def __post_init__(self) -> None:
        if self.committee is not None and (
            self.committee == self.engine or self.committee not in MLP_PACKAGES
        ):
            others = sorted(set(MLP_PACKAGES) - {self.engine})
            raise ConfigError(
                f"committee {self.committee!r}: a {self.engine} committee needs another "
                f"potential engine, one of {others}"
            )

    @property
    def potential(self) -> str:
        """Name of the potential the jobs load (:func:`workflows.physics.relax.get_model`)."""
        return "chgnet"

    def neb_kwargs(self) -> dict:
        """Keyword arguments of :func:`workflows.physics.neb.run_neb`."""
        return {
            "n_images": self.n_images,
            "climb": self.climb,
            "k": self.k,
            "method": self.method,
            "fmax": self.fmax,
            "max_steps": self.max_steps,
            "interpolation": self.interpolation,
            "optimizer": self.optimizer,
            "climb_after_fmax": self.climb_after_fmax,
            "use_symmetry": self.use_symmetry,
            "stall_steps": self.stall_steps,
        }

    def make(self, structure: Structure, candidate_id: str) -> Flow:
        """Flow from a starting unit cell to the composition's BarrierResult.

        Parameters
        ----------
        structure : Structure
            Starting cell, e.g. ``workflows.structures.tavorite.make_structure(candidate)``.
        candidate_id : str
            Composition ID, e.g. ``"Li-Ga-P-F"``.

        Returns
        -------
        Flow
            Output: the :class:`~workflows.physics.schemas.BarrierResult`.
        """
        checked = candidate_id if self.check_framework else None
        relax = chgnet_relax(
            structure,
            fmax=self.relax_fmax,
            max_steps=self.relax_max_steps,
            relax_cell=True,
            torch_threads=self.torch_threads,
            optimizer=self.relax_optimizer,
            potential=self.potential,
            candidate_id=checked,
        )
        relax.name = f"{self.engine} relax"
        hops = find_hops_job(
            relax.output.structure,
            max_distance=self.max_hop_distance,
            min_image_distance=self.min_image_distance,
        )
        nebs = chgnet_hop_nebs(
            hops.output,
            candidate_id,
            endpoint_kwargs={
                "fmax": self.endpoint_fmax,
                "max_steps": self.endpoint_max_steps,
                "optimizer": self.relax_optimizer,
            },
            neb_kwargs=self.neb_kwargs(),
            settings={"engine": self.engine, **dataclasses.asdict(self)},
            wall_times=[relax.output.wall_time, hops.output.wall_time],
            extra={
                "relax_energy": relax.output.energy,
                "relax_steps": relax.output.n_steps,
                "relax_converged": relax.output.converged,
                "initial_volume": float(structure.volume),
            },
            torch_threads=self.torch_threads,
            reference=self.reference,
            potential=self.potential,
            engine=self.engine,
            repair={
                "tolerance": self.dip_tolerance,
                "max_rounds": self.repair_rounds,
                "relax_fmax": self.endpoint_fmax,
                "relax_max_steps": self.endpoint_max_steps,
                "relax_optimizer": self.relax_optimizer,
            },
            framework_problems=relax.output.framework_problems,
            check_framework=self.check_framework,
        )
        nebs.name = f"{self.engine} nebs"
        flow = Flow([relax, hops, nebs], output=nebs.output, name=f"{self.name} {candidate_id}")
        if self.committee is None:
            return flow
        from workflows.engines.committee import committee_flow

        shared = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(ChgnetBarrierMaker)
            if f.name not in ("name", "committee")
        }
        return committee_flow(
            flow, self.committee, shared, structure, candidate_id, self.committee_margin
        )
