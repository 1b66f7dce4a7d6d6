"""SevenNet as a second universal potential: the pretrained models that ship in the sevenn wheel.

``sevenn`` 0.13.0 carries ``7net-0`` (MPtrj, 11 Jul 2024), ``7net-l3i5`` and the multi-fidelity
``7net-mf-0`` (needs a modality, ``PBE`` or ``R2SCAN``) inside its wheel, so they load offline;
other names download and fail without a network. :class:`SevennetModel` gives them the interface
:class:`workflows.physics.relax.BatchEvaluator` needs (one energy/forces/stress dict per
structure). SevenNet's ASE calculator evaluates one graph per call; batching several structures
into one forward pass was slower per structure on CPU (physics notes), so images are evaluated in
turn within one evaluator call.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from workflows.errors import CalculationError, ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = ["OFFLINE_MODELS", "SevennetModel", "load_sevennet", "parse_model"]

#: Models in the sevenn 0.13.0 wheel, and the modalities a multi-fidelity one needs.
OFFLINE_MODELS: dict[str, tuple[str, ...]] = {
    "7net-0": (),
    "7net-l3i5": (),
    "7net-mf-0": ("PBE", "R2SCAN"),
}


def parse_model(spec: str) -> tuple[str, str | None]:
    """``"7net-mf-0:PBE"`` -> ``("7net-mf-0", "PBE")``; checks that it ships offline.

    Raises
    ------
    ConfigError
        For a model that is not in the wheel, or a missing or unknown modality.
    """
    name, _, modal = spec.partition(":")
    if name not in OFFLINE_MODELS:
        raise ConfigError(
            f"SevenNet model {name!r} does not ship with sevenn (it would download); use one of "
            f"{sorted(OFFLINE_MODELS)}"
        )
    modalities = OFFLINE_MODELS[name]
    if modalities and modal not in modalities:
        raise ConfigError(f"SevenNet model {name} needs a modality: {name}:{modalities[0]}")
    if not modalities and modal:
        raise ConfigError(f"SevenNet model {name} has no modality (got {modal!r})")
    return name, modal or None


class SevennetModel:
    """A pretrained SevenNet on the CPU, evaluated structure by structure."""

    #: Energies come back per cell (BatchEvaluator multiplies intensive ones by the atom count).
    is_intensive = False

    def __init__(self, spec: str = "7net-mf-0:PBE") -> None:
        import torch
        from sevenn.calculator import SevenNetCalculator

        # TorchScript's profiling executor re-specialises the e3nn layers as shapes change
        # (every NEB image has its own edge count): an 80-atom energy+forces call took 6 s with
        # it and 2.9 s without, on one loaded core (CHGNet: 1.9 s). Process-wide, so only here.
        torch._C._jit_set_profiling_executor(False)
        self.spec = spec
        name, modal = parse_model(spec)
        self.calculator = SevenNetCalculator(model=name, modal=modal, device="cpu")

    def predict_atoms(self, atoms_list: Sequence[Atoms], task: str) -> list[dict[str, Any]]:
        """Energy (eV), forces (eV/A) and, when ``"s" in task``, the stress (eV/A^3, Voigt)."""
        out = []
        for atoms in atoms_list:
            image = atoms.copy()
            try:
                self.calculator.calculate(image)
            except Exception as exc:
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise CalculationError(
                    f"SevenNet evaluation failed: {type(exc).__name__}: {text}"
                ) from exc
            res = self.calculator.results
            pred: dict[str, Any] = {
                "energy": float(res["energy"]),
                "forces": np.asarray(res["forces"], dtype=float).copy(),
            }
            if "s" in task:
                pred["stress"] = np.asarray(res["stress"], dtype=float).copy()
            out.append(pred)
        return out


@cache
def load_sevennet(spec: str = "7net-mf-0:PBE") -> SevennetModel:
    """The SevenNet model ``spec``, loaded once per process."""
    return SevennetModel(spec)
