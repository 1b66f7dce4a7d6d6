"""Checkpoints of a running NEB band, so that a re-queued NEB resumes instead of starting over.

A CHGNet or SevenNet NEB of a W/Mo oxide hop runs for up to hours on one core. When its job is
killed (walltime, pre-emption, a node lost, a stopped screen), FireWorks re-queues the firework
and the NEB starts again from the interpolated path. ASE has no restart for a NEB (its
optimisers' ``restart`` files keep the optimiser's memory, not the band), so the band is saved
here: the positions of every image, the stage (plain band or climbing) and the steps done,
every :data:`EVERY` steps, written atomically.

The file is named by a hash of everything that defines the NEB (endpoints, image count,
spring, method, interpolation, optimiser, convergence, the potential's tag), so it is only ever
read back by the same NEB: a dip repair's new endpoints or another potential start fresh. The
optimiser's own memory (LBFGS history) is not kept; it rebuilds in a few steps. A finished NEB
removes its file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workflows.physics.endpoints import Endpoints

__all__ = ["EVERY", "BandState", "NebCheckpoint"]

logger = logging.getLogger(__name__)

#: Optimiser steps between two saves (a save costs well under a millisecond; a NEB step of a
#: 90-atom cell 0.3-3 s).
EVERY = 5


@dataclass(frozen=True)
class BandState:
    """A saved band: image positions (n_images + 2, n_atoms, 3), stage and steps done."""

    positions: np.ndarray
    climbing: bool
    n_steps: int


class NebCheckpoint:
    """The checkpoint file of one NEB in ``directory`` (created on the first save)."""

    def __init__(self, directory: str | Path, endpoints: Endpoints, settings: dict[str, Any]):
        self.directory = Path(directory)
        self.path = self.directory / f"neb-{_key(endpoints, settings)}.npz"

    def load(self, n_images: int, n_atoms: int) -> BandState | None:
        """The saved band, or None when there is none or it does not fit this NEB."""
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path) as data:
                positions = np.array(data["positions"], dtype=float)
                climbing, n_steps = bool(data["climbing"]), int(data["n_steps"])
        except (OSError, ValueError, KeyError) as exc:
            logger.warning(
                "NEB checkpoint %s unreadable (%s): starting the band over", self.path, exc
            )
            return None
        if positions.shape != (n_images + 2, n_atoms, 3):
            logger.warning("NEB checkpoint %s has another shape: starting the band over", self.path)
            return None
        return BandState(positions, climbing, n_steps)

    def save(self, state: BandState) -> None:
        """Write the band atomically (a kill during the write leaves the previous save)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, positions=state.positions, climbing=state.climbing, n_steps=state.n_steps)
        os.replace(tmp, self.path)

    def log_file(self) -> str:
        """Where the optimiser's log (step, time, energy, fmax) goes, next to the band."""
        self.directory.mkdir(parents=True, exist_ok=True)
        return str(self.path.with_suffix(".log"))

    def remove(self) -> None:
        """Forget the band (the NEB finished)."""
        self.path.unlink(missing_ok=True)


def _key(endpoints: Endpoints, settings: dict[str, Any]) -> str:
    """Hash of the endpoints (species, lattice, positions to 1e-6 A, energies) and settings."""
    digest = hashlib.sha256()
    for side in (endpoints.initial, endpoints.final):
        digest.update(json.dumps([s.species_string for s in side]).encode())
        digest.update(np.round(side.lattice.matrix, 6).tobytes())
        digest.update(np.round(side.cart_coords, 6).tobytes())
    energies = [endpoints.energy_initial, endpoints.energy_final]
    digest.update(json.dumps([endpoints.hop_index, energies], default=str).encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:24]
