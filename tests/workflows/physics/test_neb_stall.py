"""The stall guard: when the NEB optimiser restarts from the best band, and when it does not."""

from __future__ import annotations

import numpy as np

from workflows.physics.neb_stall import StallGuard


def _feed(guard: StallGuard, forces: list[float]) -> list[int]:
    """Steps at which the guard called a stall (restarting each time it did)."""
    calls = []
    for step, force in enumerate(forces):
        if guard.update(force, np.full((2, 3), float(step))):
            calls.append(step)
            guard.restarted()
    return calls


def test_a_force_that_keeps_falling_is_never_a_stall() -> None:
    guard = StallGuard(patience=5)
    assert _feed(guard, list(np.geomspace(3.0, 0.05, 200))) == []


def test_a_force_circling_far_above_its_best_is_a_stall_and_the_best_band_is_kept() -> None:
    guard = StallGuard(patience=5)
    forces = [2.0, 1.0, 0.3, *[3.0, 5.0] * 10]  # best 0.3 at step 2, then 2-7 eV/A
    assert _feed(guard, forces)[0] == 2 + 5
    assert guard.best_fmax == 0.3
    assert np.all(guard.best_positions == 2.0)  # the band of step 2


def test_a_slow_creep_near_the_best_force_is_not_a_stall() -> None:
    guard = StallGuard(patience=5)
    assert _feed(guard, [0.3, *[0.4, 0.35] * 20]) == []  # within twice the best


def test_stalls_are_called_at_most_max_restarts_times_and_never_with_patience_0() -> None:
    circling = [0.2, *[4.0] * 100]
    assert len(_feed(StallGuard(patience=5, max_restarts=3), circling)) == 3
    assert _feed(StallGuard(patience=0), circling) == []
