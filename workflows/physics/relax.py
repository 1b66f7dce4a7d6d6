"""CHGNet evaluation and relaxation: one cached model per process, batched predictions.

Everything CHGNet-specific that is not NEB lives here: the process-wide model
(:func:`get_model`), torch threading (:func:`set_torch_threads`), a batched evaluator that turns
many structures into one CHGNet call (:class:`BatchEvaluator`), an ASE calculator built on it
(:class:`ChgnetImageCalculator`; several of them can share one evaluator so that all NEB images are
evaluated together) and the relaxation itself (:func:`relax_structure`).

CHGNet and torch take several seconds to import, so they are imported inside the functions that
need them.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Lattice, Structure

from workflows.errors import CalculationError, StructureError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms
    from chgnet.model import CHGNet

__all__ = [
    "BatchEvaluator",
    "ChgnetImageCalculator",
    "RelaxResult",
    "get_model",
    "relax_structure",
    "set_torch_threads",
    "to_atoms",
]

logger = logging.getLogger(__name__)

#: CHGNet prediction tasks: energy, forces, stress (magmoms are never needed here).
Task = Literal["e", "ef", "efs"]
#: ASE optimisers for relaxations.
RelaxOptimizer = Literal["LBFGS", "BFGS", "FIRE"]
#: A relaxed cell whose volume changes by more than this factor is rejected as unphysical.
MAX_VOLUME_FACTOR = 2.0
#: Stress in GPa -> eV/A^3 (what ASE expects).
GPA_TO_EV_A3 = 1.0 / 160.21766208


#: Potential names: CHGNet, or a SevenNet model (:mod:`workflows.physics.sevennet`).
CHGNET = "chgnet"


def get_model(potential: str = CHGNET) -> Any:
    """The pretrained potential, loaded once per process (its weights ship in its wheel).

    ``"chgnet"`` gives the CHGNet model; any other name is a SevenNet model such as
    ``"7net-mf-0:PBE"`` (:class:`workflows.physics.sevennet.SevennetModel`). Loading also applies
    the default torch threads (:func:`set_torch_threads`). ``get_model()`` and
    ``get_model("chgnet")`` are the same object.
    """
    return _load_model(potential)


@cache
def _load_model(potential: str) -> Any:
    set_torch_threads()
    if potential != CHGNET:
        from workflows.physics.sevennet import load_sevennet

        return load_sevennet(potential)
    from chgnet.model import CHGNet

    model = CHGNet.load(verbose=False, use_device="cpu")
    model.eval()
    return model


#: Environment variable with the default number of torch threads.
THREADS_ENV = "TAVBO_TORCH_THREADS"


def set_torch_threads(n_threads: int | None = None) -> int:
    """Set torch's intra-op threads; None means ``$TAVBO_TORCH_THREADS``, else 1.

    One thread per job is the default because these CPU-only workers are usually shared: on the
    2-core test machines under load (other jobs running), a 16-atom CHGNet relaxation took 41-56 s
    with one thread and 123-231 s with two (OpenMP threads wait for each other when cores are
    oversubscribed). Run one worker per core, or pass 2 for a single job on an idle machine.

    Returns
    -------
    int
        Threads now in use.
    """
    import torch

    if n_threads is None:
        n_threads = int(os.environ.get(THREADS_ENV, "1") or 1)
    if n_threads < 1:
        raise ValueError(f"invalid {n_threads=}; expected a positive number or None")
    if torch.get_num_threads() != n_threads:
        torch.set_num_threads(n_threads)
    return int(torch.get_num_threads())


def to_atoms(structure: Structure) -> Atoms:
    """ASE Atoms of a structure, without pymatgen's site-property bookkeeping."""
    from ase import Atoms

    return Atoms(
        numbers=[site.specie.Z for site in structure],
        positions=structure.cart_coords,
        cell=structure.lattice.matrix,
        pbc=True,
    )


def _to_structure(atoms: Atoms) -> Structure:
    return Structure(
        Lattice(np.asarray(atoms.cell[:], dtype=float)),
        atoms.get_chemical_symbols(),
        atoms.get_positions(),
        coords_are_cartesian=True,
    )


class BatchEvaluator:
    """Evaluates many structures in one CHGNet call (SevenNet: one after the other).

    Parameters
    ----------
    model : CHGNet or SevennetModel, optional
        Defaults to :func:`get_model` of ``potential``.
    task : {"e", "ef", "efs"}, default="ef"
        What to compute. Stress costs a second backward pass; ask for it only for cell relaxations.
    batch_size : int, default=16
        Graphs per forward pass.
    potential : str, default="chgnet"
        Which potential :func:`get_model` loads when ``model`` is None.
    """

    def __init__(
        self,
        model: CHGNet | Any | None = None,
        task: Task = "ef",
        batch_size: int = 16,
        potential: str = CHGNET,
    ) -> None:
        self.model = model if model is not None else get_model(potential)
        self.task = task
        self.batch_size = batch_size
        self.n_calls = 0
        self.n_structures = 0
        self._calculators: list[ChgnetImageCalculator] = []

    def evaluate(self, atoms_list: Sequence[Atoms]) -> list[dict[str, Any]]:
        """Energy (eV, total), forces (eV/A, shape ``(n_atoms, 3)``) and stress (eV/A^3).

        Raises
        ------
        CalculationError
            If CHGNet fails or returns a non-finite value.
        """
        if not atoms_list:
            return []
        if hasattr(self.model, "predict_atoms"):  # SevenNet
            results = self.model.predict_atoms(atoms_list, self.task)
            self.n_calls += 1
            self.n_structures += len(atoms_list)
            for res in results:
                res["free_energy"] = res["energy"]
                if not all(np.all(np.isfinite(v)) for v in res.values()):
                    raise CalculationError("SevenNet returned a non-finite energy, force or stress")
            return results
        try:
            graphs = [self.model.graph_converter(_to_structure(a)) for a in atoms_list]
            preds = self.model.predict_graph(graphs, task=self.task, batch_size=self.batch_size)
        except Exception as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise CalculationError(
                f"CHGNet evaluation failed: {type(exc).__name__}: {msg}"
            ) from exc
        if isinstance(preds, dict):
            preds = [preds]
        self.n_calls += 1
        self.n_structures += len(atoms_list)
        results = []
        for atoms, pred in zip(atoms_list, preds, strict=True):
            factor = len(atoms) if self.model.is_intensive else 1
            res: dict[str, Any] = {"energy": float(pred["e"]) * factor}
            res["free_energy"] = res["energy"]
            if "f" in pred:
                res["forces"] = np.asarray(pred["f"], dtype=float)
            if "s" in pred:
                res["stress"] = np.asarray(pred["s"], dtype=float) * GPA_TO_EV_A3
            finite = [np.all(np.isfinite(v)) for v in res.values()]
            if not all(finite):
                raise CalculationError("CHGNet returned a non-finite energy, force or stress")
            results.append(res)
        return results

    def calculator(self) -> ChgnetImageCalculator:
        """A new calculator for one image; all calculators of this evaluator are batched."""
        calc = ChgnetImageCalculator(self)
        self._calculators.append(calc)
        return calc

    def update(self, requested: ChgnetImageCalculator, atoms: Atoms) -> None:
        """Compute ``atoms`` and every other stale image of this evaluator in one batch."""
        pending = [(requested, atoms)]
        for calc in self._calculators:
            if calc is requested or calc.image is None:
                continue
            if calc.atoms is None or calc.check_state(calc.image):
                pending.append((calc, calc.image))
        results = self.evaluate([a for _, a in pending])
        for (calc, image), res in zip(pending, results, strict=True):
            calc.atoms = image.copy()
            calc.results = res


class ChgnetImageCalculator(Calculator):
    """ASE calculator of one image whose evaluation is batched with its evaluator's other images.

    When ASE asks one image for its energy or forces, every other image attached to the same
    :class:`BatchEvaluator` whose positions changed is evaluated in the same CHGNet call, and their
    results are cached, so a NEB step costs one batched call instead of one call per image.
    """

    implemented_properties = ("energy", "free_energy", "forces", "stress")

    def __init__(self, evaluator: BatchEvaluator) -> None:
        super().__init__()
        self.evaluator = evaluator
        self.image: Atoms | None = None  # set when attached with attach()

    def attach(self, atoms: Atoms) -> None:
        """Attach to ``atoms`` (sets ``atoms.calc``) so that the evaluator can batch it."""
        self.image = atoms
        atoms.calc = self

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: Sequence[str] | None = None,
        system_changes: Sequence[str] = tuple(all_changes),
    ) -> None:
        """Compute this image, batched with the evaluator's other stale images."""
        if atoms is None:
            raise CalculationError("ChgnetImageCalculator.calculate needs atoms")
        self.evaluator.update(self, atoms)


class RelaxResult(BaseModel):
    """A CHGNet relaxation: the relaxed structure, its energy and how it got there."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    structure: Structure = Field(description="Relaxed structure (input species and site order)")
    energy: float = Field(description="CHGNet total energy of the relaxed structure, eV")
    n_steps: int = Field(description="Optimiser steps taken")
    converged: bool = Field(description="Whether max force (and stress) fell below fmax")
    relax_cell: bool = Field(description="Whether the cell was relaxed with the ions")
    framework_problems: list[str] = Field(
        default_factory=list, description="Framework integrity failures, filled in by the job"
    )
    wall_time: float | None = Field(None, description="Seconds spent, filled in by the job")


def relax_structure(
    structure: Structure,
    *,
    fmax: float = 0.05,
    max_steps: int = 500,
    relax_cell: bool = True,
    optimizer: RelaxOptimizer = "LBFGS",
    evaluator: BatchEvaluator | None = None,
) -> RelaxResult:
    """Relax a structure with CHGNet (FIRE; cell and ions, or ions only).

    Parameters
    ----------
    structure : Structure
        Starting structure (not modified). Species, oxidation states and site order are kept.
    fmax : float, default=0.05
        Force criterion, eV/A (with the cell, the Frechet-filter generalised force, which includes
        the stress times the volume).
    max_steps : int, default=500
        Optimiser steps before giving up (the result is then flagged ``converged=False``).
    relax_cell : bool, default=True
        Relax the lattice too (ASE's ``FrechetCellFilter``); False keeps the cell fixed.
    optimizer : {"LBFGS", "BFGS", "FIRE"}, default="LBFGS"
        ASE optimiser. (L)BFGS needed about half the steps of FIRE (16-atom cells: 30 vs 54-69
        for Li, 46-50 vs 88-102 for Na tavorites; 79-atom vacancy cells: 20 vs 39, 51 vs 82) and
        ended lower in energy: FIRE stopped Na-Ga-P-F 19 meV (unit cell) and 31 meV (vacancy
        supercell) higher at the same fmax. LBFGS and BFGS took identical steps; LBFGS avoids
        BFGS's dense Hessian.
    evaluator : BatchEvaluator, optional
        Reuse an evaluator (and its model); default one from :func:`get_model`.

    Returns
    -------
    RelaxResult

    Raises
    ------
    CalculationError
        If CHGNet fails.
    StructureError
        If the volume changed by more than a factor :data:`MAX_VOLUME_FACTOR`.
    """
    from ase import optimize
    from ase.filters import FrechetCellFilter

    task: Task = "efs" if relax_cell else "ef"
    if evaluator is None or evaluator.task != task:
        evaluator = BatchEvaluator(evaluator.model if evaluator else None, task=task)
    atoms = to_atoms(structure)
    evaluator.calculator().attach(atoms)
    target = FrechetCellFilter(atoms) if relax_cell else atoms
    opt_cls = getattr(optimize, optimizer)
    try:
        opt = opt_cls(target, logfile=None)
        converged = bool(opt.run(fmax=fmax, steps=max_steps))
        energy = float(atoms.get_potential_energy())
    except CalculationError:
        raise
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CalculationError(f"CHGNet relaxation failed: {type(exc).__name__}: {msg}") from exc

    relaxed = Structure(
        Lattice(np.asarray(atoms.cell[:], dtype=float)),
        structure.species,
        atoms.get_positions(),
        coords_are_cartesian=True,
    )
    ratio = relaxed.volume / structure.volume
    if not 1 / MAX_VOLUME_FACTOR < ratio < MAX_VOLUME_FACTOR:
        raise StructureError(
            f"CHGNet relaxation changed the volume by a factor {ratio:.2f} "
            f"({structure.volume:.1f} -> {relaxed.volume:.1f} A^3); check the starting structure"
        )
    if not converged:
        logger.warning(
            "CHGNet relaxation not converged after %d steps (fmax %.3f)", opt.nsteps, fmax
        )
    logger.info(
        "relaxed %s (%d atoms, cell %s): %d steps, E %.4f eV, V %.2f A^3",
        structure.composition.reduced_formula,
        len(structure),
        relax_cell,
        opt.nsteps,
        energy,
        relaxed.volume,
    )
    return RelaxResult(
        structure=relaxed,
        energy=energy,
        n_steps=int(opt.nsteps),
        converged=converged,
        relax_cell=relax_cell,
    )
