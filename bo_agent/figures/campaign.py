"""PNG figures of a campaign (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bo_agent.campaign.report import CampaignSummary

__all__ = ["plot_history"]


def plot_history(summary: CampaignSummary, path: str | Path) -> Path:
    """E_b of each evaluation against iteration, with the best so far; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = summary.history
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    if rows:
        it = [r.iteration for r in rows]
        random_picks = (None, "initial-random", "random", "local-random")
        initial = [r.strategy in random_picks for r in rows]
        ax.scatter(
            [i for i, f in zip(it, initial, strict=True) if f],
            [r.e_b for r, f in zip(rows, initial, strict=True) if f],
            marker="s", color="0.55", label="random (initial, local step)", zorder=3,
        )  # fmt: skip
        ax.scatter(
            [i for i, f in zip(it, initial, strict=True) if not f],
            [r.e_b for r, f in zip(rows, initial, strict=True) if not f],
            color="tab:blue", label="proposed by the GP", zorder=3,
        )  # fmt: skip
        ax.step(it, [r.best for r in rows], where="post", color="tab:red", label="best so far")
        best = min(rows, key=lambda r: r.e_b)
        ax.annotate(
            f"{best.candidate_id}\n{best.e_b:.3f} eV",
            (best.iteration, best.e_b),
            textcoords="offset points", xytext=(-70, 12), fontsize=8,
        )  # fmt: skip
    engine = summary.config.get("engine", "?")
    ax.set_xlabel("iteration (finished evaluations)")
    ax.set_ylabel(f"E_b ({engine}), eV")
    ax.set_title(
        f"campaign {summary.name}: {summary.config.get('carrier')} pool, "
        f"{summary.config.get('model')} / {summary.config.get('acquisition')}"
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
