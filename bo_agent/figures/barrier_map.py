"""The E_b map of a composition space: one M x X grid per carrier and Z anion, as a PNG.

Chemical trends (which M and X lower the barrier, how Z and the carrier shift it) are easier to
see on the space's own grid than in a ranked list. Cells outside the space (no charge-balanced
composition) stay blank; compositions of the space without a result are grey.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from workflows.space.compositions import CompositionSpace

__all__ = ["BarrierGrid", "barrier_grids", "plot_barrier_map"]


@dataclass(frozen=True)
class BarrierGrid:
    """E_b of one carrier and Z anion on the M (rows) x X (columns) grid of the space.

    ``values`` is NaN where there is no result; ``in_space`` says which cells are compositions
    of the space at all.
    """

    carrier: str
    z: str
    m: tuple[str, ...]
    x: tuple[str, ...]
    values: np.ndarray
    in_space: np.ndarray

    @property
    def n_results(self) -> int:
        """Compositions of this grid with a result."""
        return int(np.isfinite(self.values).sum())


def barrier_grids(values: Mapping[str, float], space: CompositionSpace) -> list[BarrierGrid]:
    """One grid per (carrier, Z) of the space, sites in the space file's order."""
    cands = list(space)
    m_order = tuple(dict.fromkeys(c.m for c in cands))
    x_order = tuple(dict.fromkeys(c.x for c in cands))
    grids = []
    for carrier in dict.fromkeys(c.carrier for c in cands):
        for z in dict.fromkeys(c.z for c in cands):
            grid = np.full((len(m_order), len(x_order)), np.nan)
            member = np.zeros(grid.shape, dtype=bool)
            for c in cands:
                if c.carrier == carrier and c.z == z:
                    i, j = m_order.index(c.m), x_order.index(c.x)
                    member[i, j] = True
                    if c.id in values:
                        grid[i, j] = float(values[c.id])
            grids.append(BarrierGrid(carrier, z, m_order, x_order, grid, member))
    return grids


def plot_barrier_map(
    values: Mapping[str, float],
    space: CompositionSpace,
    path: str | Path,
    title: str = "",
) -> Path:
    """Draw :func:`barrier_grids` side by side (rows: carriers, columns: Z); returns the PNG.

    One colour scale for every panel, from the lowest E_b to the 95th percentile (higher
    values saturate, so one outlier does not wash out the trends); each cell is labelled.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grids = barrier_grids(values, space)
    carriers = list(dict.fromkeys(g.carrier for g in grids))
    zs = list(dict.fromkeys(g.z for g in grids))
    finite = np.concatenate([g.values[np.isfinite(g.values)] for g in grids])
    vmin = float(finite.min()) if finite.size else 0.0
    vmax = float(np.percentile(finite, 95)) if finite.size else 1.0
    vmax = max(vmax, vmin + 1e-6)
    m, x = grids[0].m, grids[0].x
    size = (1.0 + 0.55 * len(x) * len(zs), 0.8 + 0.3 * len(m) * len(carriers))
    fig, axes = plt.subplots(
        len(carriers),
        len(zs),
        figsize=size,
        dpi=120,
        squeeze=False,
        sharex=True,
        sharey=True,
        layout="constrained",
    )
    cmap = plt.get_cmap("RdYlGn_r").copy()
    cmap.set_bad("0.85")
    image = None
    for g in grids:
        ax = axes[carriers.index(g.carrier), zs.index(g.z)]
        image = ax.imshow(
            np.ma.masked_invalid(g.values), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto"
        )
        for i, j in zip(*np.nonzero(~g.in_space), strict=True):
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, color="white", zorder=2))
        for i, j in zip(*np.nonzero(np.isfinite(g.values)), strict=True):
            ax.text(j, i, f"{g.values[i, j]:.2f}", ha="center", va="center", fontsize=5.5)
        ax.set_title(f"{g.carrier}MXO4{g.z}: {g.n_results} of {int(g.in_space.sum())}", fontsize=9)
        ax.set_xticks(range(len(x)), x, fontsize=7)
        ax.set_yticks(range(len(m)), m, fontsize=7)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="E_b (eV); grey: not computed")
    if title:
        fig.suptitle(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
