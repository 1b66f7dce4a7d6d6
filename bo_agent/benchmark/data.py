"""Benchmark data sets: every E_b of the space known in advance, so trials are answered offline.

A :class:`BenchmarkData` maps candidate IDs of both carriers to E_b (eV). It comes from a
packaged reference set (:data:`REFERENCE_DATA`, made with ``tavbo screen --export``), from any
CSV/JSON barrier table, or from :func:`synthetic_data`, a rugged synthetic landscape for harness
checks. Loading is kept apart from running so a data set can be read and checked (missing
reference file, no finite E_b) before any trial starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workflows.errors import ConfigError
from workflows.results.reference_data import REFERENCE_DATA, read_barrier_values

__all__ = [
    "BenchmarkData",
    "load_benchmark_data",
    "synthetic_data",
]


@dataclass(frozen=True)
class BenchmarkData:
    """A fully known data set: E_b (eV) by candidate ID, and where it came from.

    ``failed`` lists compositions whose evaluation fails: a NEB did not converge, a path dips
    below its endpoint or the framework reconstructed, so a campaign (options ``unconverged`` and
    ``untrusted: fail``, the defaults) leaves them out of the GP. They stay in
    a benchmark's pool; proposing one costs an evaluation and teaches the GP nothing.

    ``truth`` (optional) holds the noise-free E_b when ``values`` are noisy measurements: the
    strategies see ``values``, and what counts as found (the optimum, the compositions below
    tau) is judged on ``truth``.
    """

    values: dict[str, float]
    source: str
    failed: frozenset[str] = frozenset()
    truth: dict[str, float] | None = None

    def carrier(self, carrier: str) -> dict[str, float]:
        """The entries of one carrier (IDs start with ``"<carrier>-"``)."""
        return {k: v for k, v in self.values.items() if k.split("-", 1)[0] == carrier}


def synthetic_data(seed: int = 2024) -> BenchmarkData:
    """A rugged synthetic data set over the default space (harness checks and demos, not physics).

    The smooth landscape of ``tests/bo_agent/conftest.py`` (linear in the M radius and the X
    electronegativity, quadratic in the Z radius, +0.25 eV for Na) plus a random term per
    framework M-X-Z shared by the Li and Na analogue (sd 0.10 eV: Li results are informative),
    a random term per composition (sd 0.03 eV) and -0.35 eV for Na; floored at 0.02 eV. With the
    default seed, 17 Na compositions lie below 0.3 eV.
    """
    from bo_agent.features.descriptors import compute_descriptors
    from bo_agent.features.scaling import standardise
    from workflows.space.compositions import default_space

    table = standardise(compute_descriptors(default_space()))
    col = {n: i for i, n in enumerate(table.names)}
    v = table.values
    na = np.asarray([i.startswith("Na") for i in table.ids], dtype=float)
    smooth = (
        0.55
        + 0.12 * v[:, col["M_radius"]]
        - 0.08 * v[:, col["X_electronegativity"]]
        + 0.05 * v[:, col["Z_radius"]] ** 2
        + 0.25 * na
    )
    base = {cid: round(float(x), 4) for cid, x in zip(table.ids, smooth, strict=True)}
    rng = np.random.default_rng(seed)
    frames = sorted({cid.split("-", 1)[1] for cid in base})
    shared = dict(zip(frames, rng.normal(0.0, 0.10, len(frames)), strict=True))
    values = {}
    for cid, e in sorted(base.items()):
        carrier, frame = cid.split("-", 1)
        e = e + shared[frame] + rng.normal(0.0, 0.03) - (0.35 if carrier == "Na" else 0.0)
        values[cid] = round(float(max(e, 0.02)), 4)
    return BenchmarkData(values=values, source=f"synthetic (seed {seed})")


def load_benchmark_data(spec: str | Path, option: str = "--data") -> BenchmarkData:
    """Read ``chgnet``/``bvse`` (packaged reference data) or any barrier table.

    Parameters
    ----------
    spec : str or Path
        ``"chgnet"``, ``"bvse"``, ``"synthetic"`` (:func:`synthetic_data`), or a CSV/JSON(.gz)
        table the ``table`` engine reads, such as a ``tavbo screen --export`` file.

    Raises
    ------
    ConfigError
        If the reference file has not been generated yet (the message says how), the file does
        not exist or cannot be parsed.
    """
    if str(spec) == "synthetic":
        return synthetic_data()
    if str(spec) not in REFERENCE_DATA and not Path(spec).expanduser().exists():
        raise ConfigError(
            f"{option} {spec}: no such file; expected one of {[*REFERENCE_DATA, 'synthetic']} "
            "or a CSV/JSON barrier table"
        )
    values, path, flagged = read_barrier_values(spec, option)
    return BenchmarkData(values=values, source=str(path), failed=flagged)
