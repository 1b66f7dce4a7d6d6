"""Fixtures for agent tests: a full synthetic barrier table and a clean campaign state."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest


def synthetic_barriers() -> dict[str, float]:
    """A smooth, known E_b (eV) for every default composition, from its descriptors."""
    from bo_agent.descriptors import compute_descriptors, standardise
    from workflows.composition_space import default_space

    table = standardise(compute_descriptors(default_space()))
    col = {n: i for i, n in enumerate(table.names)}
    v = table.values
    e = (
        0.55
        + 0.12 * v[:, col["M_radius"]]
        - 0.08 * v[:, col["X_electronegativity"]]
        + 0.05 * v[:, col["Z_radius"]] ** 2
        + 0.25 * (np.asarray([i.startswith("Na") for i in table.ids], dtype=float))
    )
    return {cid: round(float(x), 4) for cid, x in zip(table.ids, e, strict=True)}


@pytest.fixture(scope="session")
def full_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CSV table with E_b for all 318 compositions."""
    path = tmp_path_factory.mktemp("table") / "synthetic.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["candidate_id", "e_b"])
        writer.writerows(sorted(synthetic_barriers().items()))
    return path


@pytest.fixture
def clean_lp(launchpad):
    """The reset LaunchPad with tavbo's campaign collections emptied too."""
    for name in ("tavbo_campaigns", "tavbo_candidates", "tavbo_decisions"):
        launchpad.db[name].delete_many({})
    return launchpad
