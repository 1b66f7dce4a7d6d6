"""The panel's report: one row per (problem, strategy), the markdown table, the goals, the grid.

Everything is computed from the runs' traces with :mod:`bo_agent.benchmark.metrics`. P(found) at
t has the binomial standard error; comparisons of two strategies on one problem are paired (the
same seeds, so the same initial points): the difference of the found-by-t indicators, averaged
over trials, with the standard error of that mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bo_agent.benchmark.metrics import hit_times, median_evaluations
from bo_agent.benchmark.panel.problems import (
    CANDIDATES,
    DEFAULT,
    DEFAULT_TRANSFER,
    PEER_NAMES,
    PanelProblem,
)
from bo_agent.benchmark.results import BenchmarkRun
from bo_agent.benchmark.settings import strategy_label

__all__ = [
    "REPORT_T",
    "PanelResult",
    "candidate_lines",
    "goal_lines",
    "panel_markdown",
    "panel_rows",
    "plot_panel",
]

#: Evaluation counts the panel reports.
REPORT_T = (20, 50)


@dataclass
class PanelResult:
    """One problem of the panel and its benchmark run."""

    problem: PanelProblem
    run: BenchmarkRun

    def hits(self, strategy: str) -> np.ndarray:
        """Evaluations to the optimum per trial (inf: not found), in trial order."""
        trials = sorted(
            (r for r in self.run.results if r.strategy == strategy), key=lambda r: r.trial
        )
        return hit_times([r.ids for r in trials], self.run.optimum)

    def strategies(self) -> list[str]:
        """Strategies in the order they were configured."""
        return [s for s in self.run.settings.strategies if any(self.hits(s).shape)]


def _report_t(horizon: int) -> list[int]:
    """The t of :data:`REPORT_T` within the horizon, or the horizon (short, quick runs)."""
    return [t for t in REPORT_T if t <= horizon] or [horizon]


def _p(hits: np.ndarray, t: int) -> tuple[float, float]:
    p = float(np.mean(hits <= t)) if hits.size else math.nan
    return p, math.sqrt(p * (1 - p) / hits.size) if hits.size else math.nan


def _paired(a: np.ndarray, b: np.ndarray, t: int) -> tuple[float, float]:
    """Mean and standard error of found_by_t(a) - found_by_t(b) over paired trials."""
    n = min(a.size, b.size)
    d = (a[:n] <= t).astype(float) - (b[:n] <= t).astype(float)
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan


def panel_rows(results: Sequence[PanelResult]) -> list[dict[str, Any]]:
    """One row per (problem, strategy): P(found) and its standard error at t = 20 and 50, the
    median evaluations to the optimum, trials and CPU seconds per trial."""
    rows = []
    for res in results:
        horizon = res.run.settings.horizon
        for name in res.strategies():
            hits = res.hits(name)
            row: dict[str, Any] = {
                "problem": res.problem.name,
                "title": res.problem.title,
                "strategy": name,
                "label": strategy_label(name, res.run.settings.source_label),
                "trials": int(hits.size),
            }
            for t in REPORT_T:
                p, se = _p(hits, t) if t <= horizon else (math.nan, math.nan)
                row[f"p_t{t}"], row[f"se_t{t}"] = p, se
            row["median_to_optimum"] = median_evaluations(hits)
            cpu = [r.cpu_seconds for r in res.run.results if r.strategy == name]
            row["cpu_s_per_trial"] = float(np.mean(cpu))
            rows.append(row)
    return rows


def _cell(p: float, se: float) -> str:
    return "-" if math.isnan(p) else f"{p:.2f} ± {se:.2f}"


def _median(value: float, horizon: int) -> str:
    return f"> {horizon}" if math.isinf(value) else f"{value:g}"


def goal_lines(results: Sequence[PanelResult]) -> list[str]:
    """The issue's goals, judged on this panel: one markdown bullet each."""
    lines = []
    for res in results:
        names = res.strategies()
        peers = [p for p in PEER_NAMES if p in names]
        if DEFAULT not in names or not peers:
            continue
        own = res.hits(DEFAULT)
        parts = []
        for t in _report_t(res.run.settings.horizon):
            best = max(peers, key=lambda p: _p(res.hits(p), t)[0])
            diff, se = _paired(own, res.hits(best), t)
            mark = "met" if diff >= 0 else "missed"
            parts.append(f"t = {t}: {mark}, {diff:+.2f} ± {se:.2f} against {best}")
        lines.append(f"- default >= best peer, {res.problem.title}: " + "; ".join(parts))
    for res in results:
        names = res.strategies()
        if res.problem.optimum_tol == 0.0 and "random" in names and DEFAULT in names:
            horizon = res.run.settings.horizon
            own, rnd = res.hits(DEFAULT), res.hits("random")
            diffs = [float(np.mean(own <= t) - np.mean(rnd <= t)) for t in range(1, horizon + 1)]
            worst = int(np.argmin(diffs)) + 1
            mark = "met" if min(diffs) >= 0 else "missed"
            lines.append(
                f"- exact optimum above random at every t, {res.problem.title}: {mark} "
                f"(smallest difference {min(diffs):+.2f}, at t = {worst})"
            )
        if DEFAULT_TRANSFER in names and DEFAULT in names:
            own, plain = res.hits(DEFAULT_TRANSFER), res.hits(DEFAULT)
            horizon = res.run.settings.horizon
            parts = [
                "t = {}: {:+.2f} ± {:.2f}".format(t, *_paired(own, plain, t))
                for t in _report_t(horizon)
            ]
            lines.append(
                f"- transfer against none, {res.problem.title}: median "
                f"{_median(median_evaluations(own), horizon)} against "
                f"{_median(median_evaluations(plain), horizon)}; P(found) difference "
                + "; ".join(parts)
            )
    return lines


def candidate_lines(results: Sequence[PanelResult]) -> list[str]:
    """Each candidate for the default (and any other variant run) against the default, per
    problem: the paired difference of P(found) at t = 20 and 50 with its standard error (how a
    default change is judged)."""
    head = [
        "## Candidates for the default against it (paired)",
        "",
        (
            "P(found) of the candidate minus that of the default on the same seeds ± the "
            "standard error of the paired mean; positive: the candidate is ahead."
        ),
        "",
        "| problem | candidate | t = 20 | t = 50 | median: candidate / default |",
        "| --- | --- | --- | --- | --- |",
    ]
    body = []
    for res in results:
        names = res.strategies()
        transfer = [DEFAULT_TRANSFER] if DEFAULT_TRANSFER in names else []
        others = [c for c in names if "@" in c and "+" not in c and c not in CANDIDATES]
        pairs = [(c, DEFAULT) for c in (*CANDIDATES, *others) if c != DEFAULT and c in names]
        pairs += [
            (c, DEFAULT_TRANSFER) for c in names if "+" in c and transfer and c not in transfer
        ]
        if DEFAULT not in names:
            continue
        horizon = res.run.settings.horizon
        for cand, base in pairs:
            a, b = res.hits(cand), res.hits(base)
            cells = [
                "{:+.2f} ± {:.2f}".format(*_paired(a, b, t)) if t <= horizon else "-"
                for t in REPORT_T
            ]
            label = strategy_label(cand, res.run.settings.source_label)
            if base != DEFAULT:
                label += f" vs {strategy_label(base, res.run.settings.source_label)}"
            body.append(
                f"| {res.problem.title} | {label} | {cells[0]} | {cells[1]} "
                f"| {_median(median_evaluations(a), horizon)} / "
                f"{_median(median_evaluations(b), horizon)} |"
            )
    return [*head, *body, ""] if body else []


def panel_markdown(results: Sequence[PanelResult], command: str = "") -> str:
    """The panel's page: the table (every problem and strategy), the goals, the cost."""
    rows = panel_rows(results)
    out = ["# Benchmark panel", ""]
    if command:
        out += [f"`{command}`", ""]
    base = sorted({r.run.settings.base_seed for r in results}) or [0]
    seed = "i" if base == [0] else " or ".join(f"{b} + i" for b in base)
    out += [
        (
            "P(optimum found) by t evaluations (5 random initial ones included) ± its standard "
            "error, and the median evaluations to the optimum; paired seeds (trial i uses seed "
            f"{seed} for every strategy). Found means evaluating a composition within the "
            "problem's tolerance of the lowest noise-free E_b."
        ),
        "",
        "| problem | strategy | trials | P(t=20) | P(t=50) | median evals | CPU s/trial |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    horizon = {res.problem.name: res.run.settings.horizon for res in results}
    for r in rows:
        out.append(
            f"| {r['title']} | {r['label']} | {r['trials']} | {_cell(r['p_t20'], r['se_t20'])} "
            f"| {_cell(r['p_t50'], r['se_t50'])} "
            f"| {_median(r['median_to_optimum'], horizon[r['problem']])} "
            f"| {r['cpu_s_per_trial']:.1f} |"
        )
    out += ["", "## Goals", "", f"The default: {strategy_label(DEFAULT)}.", ""]
    out += [*goal_lines(results), ""]
    out += candidate_lines(results)
    wall = sum(res.run.wall_seconds for res in results)
    cpu = sum(r.cpu_seconds for res in results for r in res.run.results)
    out += [f"{len(results)} problems, {wall:.0f} s wall, {cpu:.0f} CPU s in the trials.", ""]
    return "\n".join(out)


def plot_panel(results: Sequence[PanelResult], path: Path) -> Path:
    """One panel per problem: P(optimum found) against t for every strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bo_agent.benchmark.plots import _style

    cols = 5 if len(results) > 4 else len(results)
    nrows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(
        nrows, cols, figsize=(3.2 * cols, 2.8 * nrows + 0.6), dpi=110, squeeze=False
    )
    for ax, res in zip(axes.flat, results, strict=False):
        horizon = res.run.settings.horizon
        t = np.arange(1, horizon + 1)
        for name in res.strategies():
            hits = res.hits(name)
            ax.plot(t, [np.mean(hits <= k) for k in t], **_style(name, "src"))
        ax.set_title(res.problem.title, fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(0, horizon)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(results) :]:
        ax.axis("off")
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    ncol = min(8, max(3, 2 * cols))  # a narrow figure (few problems) wraps its legend
    fig.legend(handles.values(), handles.keys(), loc="upper center", ncol=ncol, fontsize=7,
               bbox_to_anchor=(0.5, 0.0))  # fmt: skip
    fig.supxlabel("evaluations t", fontsize=8)
    fig.supylabel("P(optimum found)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")  # the legend below the axes included
    plt.close(fig)
    return path
