"""CHGNet climbing-image NEB of one hop, and the endpoint relaxations it starts from.

:func:`relax_endpoints` relaxes (positions only, fixed supercell) just the symmetry-distinct vacancy
endpoints of all hops and maps the relaxed geometry onto the others
(:func:`workflows.physics.hop_symmetry.plan_endpoint_relaxations`); in a tavorite with one carrier
orbit that is one relaxation per composition instead of two per hop.

:func:`run_neb` interpolates images (IDPP by default), then runs ASE's NEB (climbing image, improved
tangent) with LBFGS. All images are evaluated in one CHGNet call per step
(:class:`workflows.physics.relax.BatchEvaluator`): a calculator shared between images, evaluated one
image at a time, was measured 3.7 times slower. A NEB that runs out of steps returns with
``converged=False``; a crashed one raises :class:`~workflows.errors.CalculationError`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Structure

from workflows.errors import CalculationError
from workflows.physics.endpoints import Endpoints
from workflows.physics.hop_symmetry import (
    MirrorCalculator,
    PathMirror,
    map_relaxed,
    plan_endpoint_relaxations,
    symmetric_neb_class,
)
from workflows.physics.hops import HopSet, hop_endpoints
from workflows.physics.neb_checkpoint import EVERY as CHECKPOINT_EVERY
from workflows.physics.neb_checkpoint import BandState, NebCheckpoint
from workflows.physics.neb_stall import optimise_band
from workflows.physics.relax import BatchEvaluator, RelaxOptimizer, relax_structure, to_atoms

if TYPE_CHECKING:
    from ase import Atoms

    from workflows.physics.endpoints import Side

__all__ = ["EndpointSet", "NebResult", "relax_endpoints", "run_neb"]

logger = logging.getLogger(__name__)

Interpolation = Literal["idpp", "linear"]
#: A symmetry mapping this exact (angstrom) reuses the source endpoint's energy unevaluated.
EXACT_SYMMETRY = 1e-3
NebMethod = Literal["improvedtangent", "aseneb", "eb", "spline", "string"]
NebOptimizer = Literal["LBFGS", "FIRE", "FIRE2", "BFGS", "MDMin"]


class EndpointSet(BaseModel):
    """Relaxed endpoints of every distinct hop of one composition."""

    endpoints: list[Endpoints] = Field(description="One pair per distinct hop, in hop order")
    n_relaxed: int = Field(description="Endpoints relaxed with CHGNet")
    n_mapped: int = Field(description="Endpoints obtained by a symmetry operation")
    relax_steps: list[int] = Field(default_factory=list, description="Steps of each relaxation")
    framework_problems: list[str] = Field(
        default_factory=list, description="Framework integrity failures, filled in by the job"
    )
    wall_time: float | None = Field(None, description="Seconds spent, filled in by the job")


class NebResult(BaseModel):
    """A CHGNet climbing-image NEB of one hop. Energies in eV."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hop_index: int
    energies: list[float] = Field(description="Image energies relative to the initial endpoint")
    barrier: float = Field(description="max(E) - E(initial endpoint)")
    barrier_from_min: float = Field(description="max(E) - min(E) along the path")
    converged: bool = Field(description="Whether the NEB force fell below fmax")
    n_steps: int = Field(description="Optimiser steps")
    max_force: float = Field(description="Largest NEB force at the end, eV/A")
    n_evaluations: int = Field(description="Structures evaluated by CHGNet")
    symmetric: bool = Field(False, description="Whether the band was kept inversion-symmetric")
    endpoint_energy: float | None = Field(None, description="Total energy of the initial endpoint")
    repairs: list[dict] = Field(default_factory=list, description="Dip repairs before this NEB")
    repair_skipped: str | None = Field(
        None, description="Why dip repairs were not tried (the framework had reconstructed before)"
    )
    framework_problems: list[str] = Field(
        default_factory=list, description="Framework integrity failures, filled in by the job"
    )
    images: list[Structure] | None = Field(None, description="Final images, if requested")
    wall_time: float | None = Field(None, description="Seconds spent, filled in by the job")
    resumed_at_step: int | None = Field(
        None, description="Step at which a re-queued NEB resumed from its checkpoint (None: fresh)"
    )
    optimiser_restarts: int = Field(
        0, description="Times a stalled optimiser started again from the best band (neb_stall)"
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def relax_endpoints(
    hopset: HopSet,
    *,
    fmax: float = 0.05,
    max_steps: int = 300,
    symprec: float = 0.01,
    tol: float = 0.05,
    optimizer: RelaxOptimizer = "LBFGS",
    evaluator: BatchEvaluator | None = None,
) -> EndpointSet:
    """Relaxed vacancy-mode endpoints of every hop (positions only, the supercell is fixed).

    Only symmetry-distinct endpoints are relaxed; the others get the relaxed geometry (and energy)
    by a bulk symmetry operation. If the bulk is only approximately symmetric (mapping error above
    :data:`EXACT_SYMMETRY`), mapped endpoints are evaluated in one batch and relaxed further when
    their largest force exceeds ``2 * fmax``.

    Parameters
    ----------
    hopset : HopSet
        From :func:`workflows.physics.hops.find_hops` on the relaxed cell.
    fmax : float, default=0.05
        Force criterion, eV/A.
    max_steps : int, default=300
        Steps per relaxation (unconverged ones are logged and used).
    symprec, tol : float
        Symmetry tolerances, angstrom (see
        :func:`~workflows.physics.hop_symmetry.plan_endpoint_relaxations`).
    optimizer : {"LBFGS", "BFGS", "FIRE"}, default="LBFGS"
        ASE optimiser of the relaxations.
    evaluator : BatchEvaluator, optional
        Reuse a CHGNet evaluator.

    Returns
    -------
    EndpointSet
        With ``energy_initial`` and ``energy_final`` (eV) filled in.
    """
    evaluator = evaluator or BatchEvaluator(task="ef")
    endpoints = {h.hop_index: hop_endpoints(hopset, h.hop_index) for h in hopset.hops}
    tasks = plan_endpoint_relaxations(
        list(endpoints.values()), hopset.structure, symprec=symprec, tol=tol
    )
    relaxed: dict[tuple[int, Side], Structure] = {}
    energies: dict[tuple[int, Side], float] = {}
    steps = []
    to_check = []
    for task in tasks:
        key = (task.hop_index, task.side)
        unrelaxed, _ = endpoints[task.hop_index].side(task.side)
        if task.source is None or task.mapping is None:
            result = relax_structure(
                unrelaxed,
                fmax=fmax,
                max_steps=max_steps,
                relax_cell=False,
                optimizer=optimizer,
                evaluator=evaluator,
            )
            relaxed[key], energies[key] = result.structure, result.energy
            steps.append(result.n_steps)
            continue
        source, _ = endpoints[task.source[0]].side(task.source[1])
        relaxed[key] = map_relaxed(task.mapping, source, relaxed[task.source], unrelaxed)
        if task.mapping.max_error <= EXACT_SYMMETRY:
            energies[key] = energies[task.source]  # CHGNet is invariant: same energy
        else:
            to_check.append(key)

    results = evaluator.evaluate([to_atoms(relaxed[k]) for k in to_check])
    for key, res in zip(to_check, results, strict=True):
        force = float(np.linalg.norm(res["forces"], axis=1).max())
        if force > 2 * fmax:
            logger.warning("mapped endpoint %s has max force %.3f eV/A; relaxing it", key, force)
            result = relax_structure(
                relaxed[key],
                fmax=fmax,
                max_steps=max_steps,
                relax_cell=False,
                optimizer=optimizer,
                evaluator=evaluator,
            )
            relaxed[key], energies[key] = result.structure, result.energy
            steps.append(result.n_steps)
        else:
            energies[key] = res["energy"]

    out = []
    for hop_index, ep in endpoints.items():
        out.append(
            ep.model_copy(
                update={
                    "initial": relaxed[(hop_index, "initial")],
                    "final": relaxed[(hop_index, "final")],
                    "energy_initial": energies[(hop_index, "initial")],
                    "energy_final": energies[(hop_index, "final")],
                }
            )
        )
    return EndpointSet(
        endpoints=out,
        n_relaxed=len(steps),
        n_mapped=len(tasks) - len(steps),
        relax_steps=steps,
    )


def run_neb(
    endpoints: Endpoints,
    *,
    n_images: int = 5,
    climb: bool = True,
    k: float = 0.3,
    method: NebMethod = "improvedtangent",
    fmax: float = 0.05,
    max_steps: int = 300,
    interpolation: Interpolation = "idpp",
    optimizer: NebOptimizer = "LBFGS",
    climb_after_fmax: float | None = 0.5,
    use_symmetry: bool = True,
    batch_size: int | None = None,
    store_images: bool = False,
    evaluator: BatchEvaluator | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_tag: str = "",
    stall_steps: int = 30,
) -> NebResult:
    """Climbing-image NEB of one hop between relaxed endpoints, all images in one CHGNet call.

    Parameters
    ----------
    endpoints : Endpoints
        Relaxed endpoints with the same atom order (:func:`relax_endpoints`); their energies are
        reused when given.
    n_images : int, default=5
        Moving images between the endpoints (``n_images + 2`` energies come back).
    climb : bool, default=True
        Climbing image (the highest image climbs to the saddle point).
    k : float, default=0.3
        Spring constant, eV/A^2.
    method : str, default="improvedtangent"
        ASE NEB method.
    fmax : float, default=0.05
        Largest NEB force for convergence, eV/A.
    max_steps : int, default=300
        Optimiser steps in all; a NEB still above ``fmax`` then returns with ``converged=False``.
    interpolation : {"idpp", "linear"}, default="idpp"
        Initial path.
    optimizer : {"LBFGS", "FIRE", "FIRE2", "BFGS", "MDMin"}, default="LBFGS"
        ASE optimiser. On the 7 hops of Li-/Na-Ga-P-F, LBFGS needed 19-43 steps where FIRE needed
        28-76 (same barriers within 0.02 eV); BFGS needs as few steps but diagonalises a
        (3 N_images N_atoms)^2 Hessian every step, which costs more than the forces here.
    climb_after_fmax : float or None, default=0.5
        With ``climb``, relax the band without climbing until its largest force is below this
        (eV/A), then climb; None climbs from the first step. On Li-Ga-P-F this cut the FIRE steps
        of a hop from 41 to 28 for the same barrier.
    use_symmetry : bool, default=True
        If the hop's midpoint is an inversion centre of the endpoints (every hop between the two
        carrier sites of a P-1 tavorite), keep the band symmetric and evaluate only its first half
        and middle image: 3 instead of 5 CHGNet evaluations per step.
    batch_size : int, optional
        Graphs per CHGNet forward pass; default 1 (measured fastest on CPU; still one call).
    store_images : bool, default=False
        Return the final images as structures.
    evaluator : BatchEvaluator, optional
        Reuse an evaluator's model (a fresh evaluator holds the images).
    checkpoint_dir : path, optional
        Save the band there every few steps and resume from it when the same NEB is run again
        (:mod:`workflows.physics.neb_checkpoint`); the optimiser's log (step, energy, fmax) goes
        next to it. None: no checkpoint.
    checkpoint_tag : str, default=""
        What else defines the NEB for its checkpoint (the potential and model).
    stall_steps : int, default=30
        Patience of the stall guard (:mod:`workflows.physics.neb_stall`); 0 turns it off.

    Returns
    -------
    NebResult

    Raises
    ------
    CalculationError
        If CHGNet or the optimiser fails, or the endpoints do not match.
    """
    from ase import optimize
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.geometry import find_mic
    from ase.mep import NEB
    from ase.mep.neb import idpp_interpolate

    if n_images < 1:
        raise ValueError(f"invalid {n_images=}; expected at least 1")
    hop = endpoints.hop_index
    initial, final = endpoints.initial, endpoints.final
    species = [s.species_string for s in initial]
    if len(initial) != len(final) or species != [s.species_string for s in final]:
        raise CalculationError(f"hop {hop}: endpoints differ in atoms or order")
    displacement = final.cart_coords - initial.cart_coords
    mic, _ = find_mic(displacement, initial.lattice.matrix, pbc=True)
    if np.abs(mic - displacement).max() > 1e-6:
        logger.warning(
            "hop %d is longer than half the supercell's image distance: periodic images of the "
            "migrating ion interact; raise min_image_distance for production",
            hop,
        )
    model = evaluator.model if evaluator is not None else None
    batch = BatchEvaluator(model, task="ef", batch_size=batch_size or 1)
    mirror = PathMirror.find(endpoints) if use_symmetry else None

    first, last = to_atoms(initial), to_atoms(final)
    images = [first] + [first.copy() for _ in range(n_images)] + [last]
    two_stage = climb and climb_after_fmax is not None and climb_after_fmax > fmax
    kwargs = {"k": k, "climb": climb and not two_stage, "method": method}
    checkpoint: NebCheckpoint | None = None
    state: BandState | None = None
    try:
        neb = (
            NEB(images, **kwargs)
            if mirror is None
            else symmetric_neb_class()(images, mirror, **kwargs)
        )
        if checkpoint_dir is not None:
            defining = {
                "n_images": n_images, "climb": climb, "k": k, "method": method, "fmax": fmax,
                "max_steps": max_steps, "interpolation": interpolation, "optimizer": optimizer,
                "climb_after_fmax": climb_after_fmax, "use_symmetry": use_symmetry,
                "tag": checkpoint_tag,
            }  # fmt: skip
            checkpoint = NebCheckpoint(checkpoint_dir, endpoints, defining)
            state = checkpoint.load(n_images, len(first))
        if state is not None:
            for image, positions in zip(images, state.positions, strict=True):
                image.set_positions(positions, apply_constraint=False)
            where = checkpoint.path if checkpoint is not None else None
            logger.info("hop %d NEB resumed at step %d from %s", hop, state.n_steps, where)
        else:
            # endpoints are continuous (no atom wrapped): interpolate the true displacements,
            # and let IDPP see minimum-image pair distances
            neb.interpolate(method="linear", mic=False, apply_constraint=False)
            if interpolation == "idpp":
                idpp_interpolate(neb, traj=None, log=None, mic=True)
        last_index = len(images) - 1
        known = {0: endpoints.energy_initial, last_index: endpoints.energy_final}
        for i, image in enumerate(images):
            energy = known.get(i)
            if energy is not None:
                image.calc = SinglePointCalculator(
                    image, energy=energy, forces=np.zeros((len(image), 3))
                )
            elif mirror is not None and last_index / 2 < i < last_index:
                image.calc = MirrorCalculator(images[last_index - i], mirror)
            else:
                batch.calculator().attach(image)
        if mirror is not None:
            neb.symmetrize()
        n_steps = state.n_steps if state is not None else 0
        climbing = state is not None and state.climbing

        def optimiser(base: int) -> Any:
            logfile = None if checkpoint is None else checkpoint.log_file()
            opt = getattr(optimize, optimizer)(neb, logfile=logfile)
            if checkpoint is not None:

                def save() -> None:
                    positions = np.array([image.get_positions() for image in images])
                    checkpoint.save(BandState(positions, bool(neb.climb), base + opt.nsteps))

                opt.attach(save, interval=CHECKPOINT_EVERY)
            return opt

        restarts = 0
        if two_stage and not climbing:  # plain band down to climb_after_fmax, then climb
            _, n_steps, restarts = optimise_band(
                neb, images, optimiser, climb_after_fmax, n_steps, max_steps, stall_steps, hop
            )  # type: ignore[arg-type]
        neb.climb = climb  # the climbing stage (the only stage unless two_stage)
        converged, n_steps, more = optimise_band(
            neb, images, optimiser, fmax, n_steps, max_steps, stall_steps, hop
        )
        restarts += more
        energies = np.array([image.get_potential_energy() for image in images])
        max_force = float(np.linalg.norm(neb.get_forces(), axis=1).max())
    except CalculationError as exc:
        raise CalculationError(f"hop {hop}: {exc}") from exc
    except Exception as exc:
        raise CalculationError(f"CHGNet NEB of hop {hop} failed: {_one_line(exc)}") from exc

    relative = energies - energies[0]
    result = NebResult(
        hop_index=hop,
        energies=[float(e) for e in relative],
        barrier=float(relative.max()),
        barrier_from_min=float(relative.max() - relative.min()),
        converged=converged,
        n_steps=int(n_steps),
        max_force=max_force,
        n_evaluations=batch.n_structures,
        symmetric=mirror is not None,
        endpoint_energy=float(energies[0]),
        images=[_image_structure(a, initial) for a in images] if store_images else None,
        resumed_at_step=state.n_steps if state is not None else None,
        optimiser_restarts=restarts,
    )
    if checkpoint is not None:
        checkpoint.remove()
    log = logger.info if converged else logger.warning
    log(
        "hop %d NEB %s after %d steps (%d evaluations%s): barrier %.3f eV "
        "(from path min %.3f), max force %.3f",
        hop,
        "converged" if converged else "NOT converged",
        result.n_steps,
        result.n_evaluations,
        ", symmetric band" if result.symmetric else "",
        result.barrier,
        result.barrier_from_min,
        max_force,
    )
    return result


def _image_structure(atoms: Atoms, template: Structure) -> Structure:
    return Structure(
        template.lattice, template.species, atoms.get_positions(), coords_are_cartesian=True
    )
