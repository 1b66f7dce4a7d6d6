"""Figures of a finished run: the Fig.-2 and Fig.-3 analogues as PNG (matplotlib, Agg backend).

:func:`plot_optimum` draws P(optimum found) against the number of evaluations and
:func:`plot_threshold` the mean number of compositions below tau found, one panel per tau, both
from the curves of :mod:`.tables`; :func:`plot_stopping` shows where the stopping rule ended each
trial (evaluations, recall) against the fixed-budget recall curve. A strategy keeps one style in
every figure: colour by model (random, oBO, aBO, peers), line style by transfer. matplotlib is
imported on first use only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bo_agent.benchmark.settings import parse_strategy, strategy_label
from bo_agent.benchmark.tables import (
    SUMMARY_T,
    _ordered,
    optimum_curves,
    stopping_trials,
    threshold_curves,
)

if TYPE_CHECKING:
    from bo_agent.benchmark.results import BenchmarkRun

__all__ = ["plot_optimum", "plot_stopping", "plot_threshold"]


_COLOURS = {
    "random": "0.45",
    "obo": "tab:blue",
    "abo": "tab:red",
    "auto": "black",
    "physbo": "tab:green",
    "baybe": "tab:purple",
}
_STYLES = {"none": "-", "hp": ":", "gp": "--", "multitask": "-.", "peer": "-"}


def _style(name: str, source: str) -> dict[str, Any]:
    model, transfer = parse_strategy(name)
    style = "--" if model == "random" else _STYLES[transfer]
    return {
        "color": _COLOURS[model],
        "linestyle": (0, (1, 1)) if "@" in name else style,  # a variant: dotted, same colour
        "label": strategy_label(name, source),
        "linewidth": 1.8 if transfer in ("none", "gp", "peer") else 1.3,
    }


def plot_optimum(run: BenchmarkRun, path: Path) -> Path:
    """Fig.-2 analogue: P(optimum found) against the number of evaluations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = optimum_curves(run)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for name in _ordered({r["strategy"] for r in rows}, run.settings.strategies):
        sub = [r for r in rows if r["strategy"] == name]
        style = _style(name, run.settings.source_label)
        ax.plot([r["t"] for r in sub], [r["p_found"] for r in sub], **style)
    n = rows[0]["n_trials"] if rows else 0
    for t in SUMMARY_T:
        if t <= run.settings.horizon:
            ax.axvline(t, color="0.6", linewidth=0.7, linestyle=":")
    ax.set_xlabel("number of evaluations t")
    ax.set_ylabel("P(optimum found)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, run.settings.horizon)
    ax.set_title(f"{run.settings.carrier}: optimum found ({n} trials)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_threshold(run: BenchmarkRun, path: Path) -> Path:
    """Fig.-3 analogue: mean number of compositions below tau found, one panel per tau."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = threshold_curves(run)
    taus = [t for t in run.taus if any(r["tau_name"] == t for r in rows)]
    fig, axes = plt.subplots(
        1, max(1, len(taus)), figsize=(5.2 * max(1, len(taus)), 4.2), dpi=120, squeeze=False
    )
    for ax, tau_name in zip(axes[0], taus, strict=False):
        sub_tau = [r for r in rows if r["tau_name"] == tau_name]
        for name in _ordered({r["strategy"] for r in sub_tau}, run.settings.threshold_strategies):
            sub = [r for r in sub_tau if r["strategy"] == name]
            style = _style(name, run.settings.source_label)
            ax.plot([r["t"] for r in sub], [r["mean_found"] for r in sub], **style)
        n_below = sub_tau[0]["n_below"]
        ax.axhline(n_below, color="k", linewidth=0.8, alpha=0.5)
        ax.set_xlabel("number of evaluations t")
        ax.set_ylabel(f"compositions found with E_b < {run.taus[tau_name]:.3f} eV")
        ax.set_ylim(0, n_below * 1.05)
        ax.set_xlim(0, run.settings.threshold_horizon)
        ax.set_title(
            f"tau {tau_name}: {n_below} below ({sub_tau[0]['n_trials']} trials)", fontsize=10
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_stopping(run: BenchmarkRun, path: Path) -> Path:
    """Each stopping trial as a point (evaluations at the stop, recall then), one panel per tau;
    lines: the same strategies' Fig.-3 mean recall without the rule, when that was run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    trials = stopping_trials(run)
    curves = threshold_curves(run)
    taus = [t for t in run.taus if any(r["tau_name"] == t for r in trials)]
    fig, axes = plt.subplots(
        1, max(1, len(taus)), figsize=(5.2 * max(1, len(taus)), 4.2), dpi=120, squeeze=False
    )
    rng = np.random.default_rng(0)  # jitter only, so that equal points stay visible
    for ax, tau_name in zip(axes[0], taus, strict=False):
        sub_tau = [r for r in trials if r["tau_name"] == tau_name]
        for name in _ordered({r["strategy"] for r in sub_tau}, run.settings.threshold_strategies):
            style = _style(name, run.settings.source_label)
            pts = [r for r in sub_tau if r["strategy"] == name]
            x = np.array([r["evaluations"] for r in pts]) + rng.uniform(-0.3, 0.3, len(pts))
            y = np.array([r["recall"] for r in pts]) + rng.uniform(-0.01, 0.01, len(pts))
            ax.scatter(x, y, s=14, alpha=0.6, color=style["color"], label=style["label"])
            line = [r for r in curves if r["tau_name"] == tau_name and r["strategy"] == name]
            if line:
                ax.plot([r["t"] for r in line], [r["recall"] for r in line],
                        color=style["color"], linewidth=1.0, alpha=0.8)  # fmt: skip
        ax.set_xlabel("evaluations when the search stopped")
        ax.set_ylabel("recall below tau at the stop")
        ax.set_ylim(-0.03, 1.05)
        ax.set_xlim(0, run.settings.stopping_horizon + 1)
        n_below = len(run.below[tau_name])
        ax.set_title(
            f"tau {tau_name}: {n_below} below\nstop at < {run.settings.stop_undiscovered} "
            f"expected undiscovered and {run.settings.stop_patience} evaluations without a hit",
            fontsize=9,
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
