"""Agreement of two data sets of the same space: is the cheap fidelity a usable proxy?

A low fidelity (BVSE) earns its place in a multi-fidelity search only if it ranks compositions
like the high fidelity (CHGNet NEB) does; its absolute values may be off (BVSE gives 2-5 eV for Na
tavorites). So the figures are rank and linear correlations per carrier and overall on the
compositions both sets hold, and how many of the high fidelity's best compositions the low
fidelity also puts among its best, plus a parity plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

    from bo_agent.benchmark.data import BenchmarkData

__all__ = ["Agreement", "agreement", "agreement_markdown", "plot_parity"]

#: Size of the "best compositions" set compared between the two data sets (the report's 17).
TOP_K = 17


@dataclass(frozen=True)
class Agreement:
    """Correlation of two data sets on the compositions they share, for one group of IDs.

    Attributes
    ----------
    group : str
        ``"all"`` or a carrier (``"Li"``, ``"Na"``).
    ids : tuple of str
        Shared IDs, sorted.
    low, high : tuple of float
        E_b of each ID in the low / high fidelity data set, eV.
    pearson, spearman, kendall : float
        Correlations (NaN below 3 shared compositions).
    top_k, top_overlap : int
        ``top_overlap`` of the ``top_k`` lowest high-fidelity E_b are also among the ``top_k``
        lowest low-fidelity E_b; ``top_k`` is 17 (the report's count below 0.3 eV), or a third
        of the compositions when there are fewer than 51.
    """

    group: str
    ids: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    pearson: float
    spearman: float
    kendall: float
    top_k: int
    top_overlap: int

    @property
    def n(self) -> int:
        """Number of shared compositions."""
        return len(self.ids)

    @property
    def mae(self) -> float:
        """Mean absolute difference of the two E_b, eV (NaN without shared compositions)."""
        return float(np.mean(np.abs(np.subtract(self.high, self.low)))) if self.ids else math.nan

    @property
    def bias(self) -> float:
        """Mean of high minus low E_b, eV (NaN without shared compositions)."""
        return float(np.mean(np.subtract(self.high, self.low))) if self.ids else math.nan


def _group(ids: list[str], low: dict[str, float], high: dict[str, float], group: str) -> Agreement:
    from scipy import stats

    x = np.array([low[i] for i in ids])
    y = np.array([high[i] for i in ids])
    if len(ids) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
        pearson = float(stats.pearsonr(x, y).statistic)
        spearman = float(stats.spearmanr(x, y).statistic)
        kendall = float(stats.kendalltau(x, y).statistic)
    else:
        pearson = spearman = kendall = math.nan
    k = min(TOP_K, max(1, len(ids) // 3))  # a third at most, or the overlap is trivial
    best_high = {ids[j] for j in np.argsort(y, kind="stable")[:k]}
    best_low = {ids[j] for j in np.argsort(x, kind="stable")[:k]}
    return Agreement(
        group=group,
        ids=tuple(ids),
        low=tuple(float(v) for v in x),
        high=tuple(float(v) for v in y),
        pearson=pearson,
        spearman=spearman,
        kendall=kendall,
        top_k=k,
        top_overlap=len(best_high & best_low),
    )


def agreement(low: BenchmarkData, high: BenchmarkData) -> list[Agreement]:
    """Agreement over all shared compositions, then per carrier (carriers in sorted order)."""
    shared = sorted(set(low.values) & set(high.values))
    carriers = sorted({i.split("-", 1)[0] for i in shared})
    out = [_group(shared, low.values, high.values, "all")]
    for carrier in carriers:
        ids = [i for i in shared if i.split("-", 1)[0] == carrier]
        out.append(_group(ids, low.values, high.values, carrier))
    return out


def agreement_markdown(rows: list[Agreement], low_name: str, high_name: str) -> str:
    """A markdown table of the agreement figures."""
    header = (
        f"| compositions | n | Pearson | Spearman | Kendall tau | MAE (eV) | "
        f"mean {high_name} - {low_name} (eV) | best k by {high_name} also best k by {low_name} |"
    )
    body = [
        f"| {r.group} | {r.n} | {r.pearson:.2f} | {r.spearman:.2f} | {r.kendall:.2f} | "
        f"{r.mae:.3f} | {r.bias:+.3f} | {r.top_overlap} of {r.top_k} |"
        for r in rows
    ]
    return "\n".join([header, "| --- | --- | --- | --- | --- | --- | --- | --- |", *body])


def plot_parity(rows: list[Agreement], path: Path, low_name: str, high_name: str) -> Path:
    """Parity plot (low fidelity against high fidelity), one colour per carrier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for r in rows:
        if r.group == "all":
            continue
        ax.scatter(
            r.high,
            r.low,
            s=14,
            alpha=0.75,
            label=f"{r.group} (n={r.n}, Spearman {r.spearman:.2f})",
        )
    lo = min(min(r.low + r.high) for r in rows if r.n)
    hi = max(max(r.low + r.high) for r in rows if r.n)
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="y = x")
    ax.set_xlabel(f"E_b {high_name} (eV)")
    ax.set_ylabel(f"E_b {low_name} (eV)")
    ax.set_title(f"{low_name} vs {high_name}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
