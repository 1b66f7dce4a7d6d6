"""BVSE engine: CHGNet relaxation, then bond-valence site-energy percolation barriers (bvlain).

A rough, cheap pre-screen (``fidelity="bvse-rough"``): 5-8 s for the LBFGS relaxation and about 1 s
for the BVSE map of a 16-atom cell on 2 idle cores (``docs/engines.md``). bvlain computes the
carrier's BVSE on a grid and the lowest energies at which the low-energy region percolates in 1, 2
and 3 dimensions; ``e_b`` is E_1D. The BVSE zero is the global minimum of the map, so
``reference="path_minimum"`` and ``e_b_from_min == e_b``. Measured on these machines, BVSE disagrees
with CHGNet-NEB rankings of Li tavorites and gives 2-5 eV for Na ones, and moves by about 0.3 eV for
a 5 % volume change: treat it as a low fidelity, not as E_b.

The flow::

    chgnet relax -> bvse barrier
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from jobflow import Flow, Maker, job

from workflows.engines.jobs import VERSIONED, chgnet_relax, package_versions
from workflows.errors import CalculationError
from workflows.physics.hops import carrier_of
from workflows.physics.schemas import BarrierResult

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["BVSE_NAME", "BvseBarrierMaker", "bvse_barrier", "bvse_percolation_energies"]

logger = logging.getLogger(__name__)

BVSE_NAME = "bvse barrier"


def bvse_percolation_energies(
    structure: Structure,
    carrier: str | None = None,
    *,
    resolution: float = 0.2,
    r_cut: float = 10.0,
    encut: float = 10.0,
) -> dict[str, float | None]:
    """BVSE percolation energies of the carrier: ``{"E_1D": ..., "E_2D": ..., "E_3D": ...}``.

    Parameters
    ----------
    structure : Structure
        Relaxed cell; oxidation states are used if present, else bvlain guesses them
        (pymatgen's BVAnalyzer).
    carrier : str, optional
        Mobile element (charge +1 assumed); default the structure's carrier.
    resolution : float, default=0.2
        Grid spacing, angstrom (bvlain warns against < 0.05).
    r_cut : float, default=10.0
        Cutoff of the mobile ion - framework interaction, angstrom.
    encut : float, default=10.0
        Energies above this (eV) count as no percolation.

    Returns
    -------
    dict of str to float or None
        eV above the BVSE minimum; None where the map does not percolate below ``encut``.

    Raises
    ------
    CalculationError
        If bvlain fails.
    """
    from bvlain import Lain

    carrier = carrier or carrier_of(structure)
    decorated = all(getattr(site.specie, "oxi_state", None) is not None for site in structure)
    try:
        lain = Lain(verbose=False)
        lain.read_structure(structure.copy(), oxi_check=not decorated)
        lain.bvse_distribution(mobile_ion=f"{carrier}1+", resolution=resolution, r_cut=r_cut)
        energies = lain.percolation_barriers(encut=encut)
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CalculationError(f"bvlain BVSE failed: {type(exc).__name__}: {text}") from exc
    return {k: (float(v) if math.isfinite(float(v)) else None) for k, v in energies.items()}


@job(name=BVSE_NAME)
def bvse_barrier(
    structure: Structure,
    candidate_id: str,
    resolution: float = 0.2,
    r_cut: float = 10.0,
    encut: float = 10.0,
    settings: Mapping[str, Any] | None = None,
    wall_times: Sequence[float | None] = (),
    extra: Mapping[str, Any] | None = None,
) -> BarrierResult:
    """BarrierResult from the BVSE 1D percolation energy of a relaxed cell."""
    start = time.perf_counter()
    energies = bvse_percolation_energies(structure, resolution=resolution, r_cut=r_cut, encut=encut)
    e_1d = energies.get("E_1D")
    if e_1d is None:
        raise CalculationError(
            f"{candidate_id}: BVSE map does not percolate below {encut} eV; raise encut"
        )
    total = sum(t for t in wall_times if t is not None) + time.perf_counter() - start
    logger.info("%s: BVSE E_1D %.3f eV (%s)", candidate_id, e_1d, energies)
    return BarrierResult(
        candidate_id=candidate_id,
        engine="bvse",
        fidelity="bvse-rough",
        e_b=e_1d,
        e_b_from_min=e_1d,
        reference="path_minimum",
        percolation_dimension=1,
        structure=structure.as_dict(),
        volume=float(structure.volume),
        settings=dict(settings or {}),
        versions=package_versions((*VERSIONED, "bvlain", "chgnet", "torch")),
        wall_time=total,
        extra={**(extra or {}), **energies, "carrier": carrier_of(structure)},
    )


@dataclass
class BvseBarrierMaker(Maker):
    """Rough E_b: CHGNet relaxation, then bvlain's BVSE 1D percolation energy.

    Parameters
    ----------
    name : str, default="bvse barrier"
        Flow name prefix.
    relax : bool, default=True
        Relax the cell with CHGNet first (BVSE inherits any volume error: about 0.3 eV per 5 %).
    relax_fmax : float, default=0.05
        Force criterion of the relaxation, eV/A.
    relax_max_steps : int, default=500
        Relaxation steps.
    relax_optimizer : {"LBFGS", "BFGS", "FIRE"}, default="LBFGS"
        Relaxation optimiser.
    resolution : float, default=0.2
        BVSE grid spacing, angstrom.
    r_cut : float, default=10.0
        BVSE interaction cutoff, angstrom.
    encut : float, default=10.0
        Percolation search ceiling, eV.
    torch_threads : int or None, default=None
        Torch threads of the relaxation.
    """

    engine: ClassVar[str] = "bvse"

    name: str = "bvse barrier"
    relax: bool = True
    relax_fmax: float = 0.05
    relax_max_steps: int = 500
    relax_optimizer: Literal["LBFGS", "BFGS", "FIRE"] = "LBFGS"
    resolution: float = 0.2
    r_cut: float = 10.0
    encut: float = 10.0
    torch_threads: int | None = None

    def make(self, structure: Structure, candidate_id: str) -> Flow:
        """Flow from a starting cell to the composition's BVSE BarrierResult."""
        settings = {"engine": self.engine, **dataclasses.asdict(self)}
        jobs = []
        extra: dict[str, Any] = {"initial_volume": float(structure.volume)}
        wall_times: list[Any] = []
        if self.relax:
            relax = chgnet_relax(
                structure,
                fmax=self.relax_fmax,
                max_steps=self.relax_max_steps,
                relax_cell=True,
                torch_threads=self.torch_threads,
                optimizer=self.relax_optimizer,
            )
            jobs.append(relax)
            structure = relax.output.structure
            wall_times.append(relax.output.wall_time)
            extra |= {"relax_energy": relax.output.energy, "relax_steps": relax.output.n_steps}
        bvse = bvse_barrier(
            structure,
            candidate_id,
            resolution=self.resolution,
            r_cut=self.r_cut,
            encut=self.encut,
            settings=settings,
            wall_times=wall_times,
            extra=extra,
        )
        jobs.append(bvse)
        return Flow(jobs, output=bvse.output, name=f"{self.name} {candidate_id}")
