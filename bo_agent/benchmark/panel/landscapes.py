"""Panel problems made from other data: synthetic landscapes of known structure, noisy answers,
an unrelated transfer source.

Each function returns a :class:`~bo_agent.benchmark.data.BenchmarkData` over the default space,
fully determined by its seed, so every panel run sees the same problem:

- :func:`structured_landscape`: E_b of the target carrier built from the standardised
  descriptors the GP sees, ``additive`` (one smooth term per site, no interaction: aBO's
  assumption holds), ``interacting`` (products of descriptors of different sites: it fails) or
  ``needle`` (a nearly flat landscape with one composition 0.2 eV below the rest: no model
  helps, exploration does);
- :func:`noisy`: a data set whose answers carry Gaussian noise (fixed seed) and whose
  ``truth`` keeps the noise-free E_b that "found" is judged on;
- :func:`unrelated_source`: the source-carrier E_b shuffled over the source compositions
  (the same values, no relation to the target), for transfer that must not trust its source.
"""

from __future__ import annotations

import numpy as np

from bo_agent.benchmark.data import BenchmarkData

__all__ = ["LANDSCAPES", "noisy", "structured_landscape", "unrelated_source"]

#: Kinds of :func:`structured_landscape`.
LANDSCAPES: tuple[str, ...] = ("additive", "interacting", "needle")


def _descriptors(carrier: str) -> tuple[list[str], dict[str, np.ndarray]]:
    from bo_agent.features.descriptors import compute_descriptors
    from bo_agent.features.scaling import standardise
    from workflows.space.compositions import default_space

    table = standardise(compute_descriptors(default_space()))
    rows = [i for i, cid in enumerate(table.ids) if cid.split("-", 1)[0] == carrier]
    ids = [table.ids[i] for i in rows]
    cols = {name: np.asarray(table.values)[rows, j] for j, name in enumerate(table.names)}
    return ids, cols


def structured_landscape(kind: str, carrier: str = "Na", seed: int = 19) -> BenchmarkData:
    """A synthetic E_b (eV) of the ``carrier`` compositions with a known structure.

    Parameters
    ----------
    kind : {"additive", "interacting", "needle"}
    carrier : str, default="Na"
    seed : int, default=19
        Draws the small per-composition term and the needle's position.

    Raises
    ------
    ValueError
        For an unknown kind.
    """
    if kind not in LANDSCAPES:
        raise ValueError(f"unknown landscape {kind!r}; expected one of {LANDSCAPES}")
    ids, c = _descriptors(carrier)
    rng = np.random.default_rng([seed, LANDSCAPES.index(kind)])
    m, x, z = c["M_radius"], c["X_electronegativity"], c["Z_radius"]
    if kind == "additive":
        e = 0.55 + 0.12 * np.sin(1.4 * m) + 0.08 * (x - 0.5) ** 2 + 0.06 * np.cos(2.0 * z)
    elif kind == "interacting":
        e = 0.55 + 0.15 * np.sin(1.5 * m * x) + 0.10 * np.cos(1.2 * (z + m)) * x
    else:  # needle: flat within a few tens of meV, one composition far below
        e = 0.60 + 0.02 * np.sin(1.4 * m) + 0.02 * x
    e = e + rng.normal(0.0, 0.005, len(ids))
    if kind == "needle":
        e[int(rng.integers(len(ids)))] = float(e.min()) - 0.20
    values = {cid: round(float(max(v, 0.02)), 4) for cid, v in zip(ids, e, strict=True)}
    return BenchmarkData(values=values, source=f"synthetic {kind} {carrier} (seed {seed})")


def noisy(data: BenchmarkData, sd: float, seed: int = 19) -> BenchmarkData:
    """``data`` with N(0, sd^2) eV added to every answer (floored at 0.01 eV); ``truth`` keeps
    the noise-free values."""
    rng = np.random.default_rng([seed, round(sd * 1e4)])
    ids = sorted(data.values)
    noise = rng.normal(0.0, sd, len(ids))
    values = {
        cid: round(float(max(data.values[cid] + n, 0.01)), 4)
        for cid, n in zip(ids, noise, strict=True)
    }
    return BenchmarkData(
        values=values,
        source=f"{data.source} + N(0, {sd:g} eV) noise (seed {seed})",
        failed=data.failed,
        truth=dict(data.truth or data.values),
    )


def unrelated_source(data: BenchmarkData, carrier: str = "Li", seed: int = 19) -> BenchmarkData:
    """The ``carrier`` results of ``data`` shuffled over its compositions: a transfer source with
    the right distribution of E_b and no relation to any target."""
    src = data.carrier(carrier)
    ids = sorted(src)
    perm = np.random.default_rng([seed, 7]).permutation(len(ids))
    values = {cid: src[ids[int(j)]] for cid, j in zip(ids, perm, strict=True)}
    return BenchmarkData(values=values, source=f"{data.source} {carrier} shuffled (seed {seed})")
