"""A stalled NEB optimiser is restarted from the best band it reached.

ASE's LBFGS on a NEB band can lose its way: its force falls to a few tenths of eV/A, then the
curvature memory it built sends the images on steps that raise the force to several eV/A, and it
circles there for hundreds of steps until ``max_steps`` ends the NEB unconverged. Seen on the v2
screens: a SevenNet hop of Li-Nd-S-O sat at fmax 3.4 eV/A from step 300 to 417 and fell to
0.5-2 eV/A within 5 steps of a resume (which starts a new optimiser); a CHGNet hop reached 0.27
eV/A at step 22 and swung between 2 and 7 eV/A from step 60 to 170. :class:`StallGuard` watches
the force step by step and calls a stall when it has not improved on its best for ``patience``
steps and is more than ``factor`` times that best; the caller then puts the band back where the
force was lowest and starts a new optimiser there (no memory). A NEB that converges without
stalling never sees it, so results that converged before are unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["StallGuard", "optimise_band"]

logger = logging.getLogger(__name__)


@dataclass
class StallGuard:
    """Tracks the lowest force of a band and says when the optimiser has stalled.

    Parameters
    ----------
    patience : int
        Steps without a new lowest force before a stall can be called (0: never).
    factor : float, default=2.0
        ... and the force must be above this multiple of the lowest one: a band creeping down a
        flat stretch is not stalled.
    max_restarts : int, default=3
        Stalls called at most; after them the optimiser runs on to ``max_steps``.
    """

    patience: int
    factor: float = 2.0
    max_restarts: int = 3
    best_fmax: float = field(default=float("inf"), init=False)
    best_positions: np.ndarray | None = field(default=None, init=False)
    restarts: int = field(default=0, init=False)
    _since: int = field(default=0, init=False)

    def update(self, fmax: float, positions: np.ndarray) -> bool:
        """Record one step's largest force and band positions; True when the optimiser should
        be restarted from :attr:`best_positions` (the caller then calls :meth:`restarted`)."""
        if fmax < self.best_fmax:
            self.best_fmax, self.best_positions, self._since = fmax, positions.copy(), 0
            return False
        self._since += 1
        return (
            self.patience > 0
            and self.restarts < self.max_restarts
            and self._since >= self.patience
            and fmax > self.factor * self.best_fmax
        )

    def restarted(self) -> None:
        """The band is back at its best positions and a new optimiser takes over."""
        self.restarts += 1
        self._since = 0


def optimise_band(
    neb: Any,
    images: Sequence[Any],
    make_optimiser: Callable[[int], Any],
    target: float,
    n_steps: int,
    max_steps: int,
    stall_steps: int,
    hop: int,
) -> tuple[bool, int, int]:
    """Optimise a NEB band down to ``target`` (eV/A) within ``max_steps`` steps in all.

    ``make_optimiser(steps_done)`` gives a new ASE optimiser on ``neb`` (with its log and
    checkpoint attached); a stalled one is replaced by a new one from the band of the lowest
    force. Returns (converged, steps done in all, restarts).
    """
    guard = StallGuard(stall_steps)
    restarts = 0
    while True:
        opt = make_optimiser(n_steps)
        converged = stalled = False
        force = float("nan")
        for converged in opt.irun(fmax=target, steps=max(max_steps - n_steps, 0)):
            force = float(np.linalg.norm(neb.get_forces(), axis=1).max())
            band = np.array([image.get_positions() for image in images])
            if not converged and guard.update(force, band):
                stalled = True
                break
        n_steps += opt.nsteps
        if not stalled:
            return bool(converged), n_steps, restarts
        assert guard.best_positions is not None
        logger.warning(
            "hop %d NEB stalled at step %d (fmax %.2f eV/A, lowest %.3f): a new %s from the "
            "band of the lowest force",
            hop, n_steps, force, guard.best_fmax, type(opt).__name__,
        )  # fmt: skip
        for image, positions in zip(images, guard.best_positions, strict=True):
            image.set_positions(positions, apply_constraint=False)
        guard.restarted()
        restarts += 1
