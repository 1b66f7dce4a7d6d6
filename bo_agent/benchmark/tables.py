"""Tables of a finished run: the figures' curves, the summary rows and the markdown summary.

Each function reads a :class:`~bo_agent.benchmark.results.BenchmarkRun` and returns rows (lists
of dicts, ready for CSV) or markdown text, using :mod:`.metrics` for the numbers; none writes a
file (:mod:`.outputs` does). :func:`optimum_curves` and :func:`threshold_curves` are the Fig.-2
and Fig.-3 curves, :func:`summary_rows` / :func:`summary_table` one row per strategy,
:func:`stopping_rows` / :func:`stopping_table` the stopping-rule benchmark, and
:func:`summary_markdown` the ``summary.md`` page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bo_agent.benchmark.metrics import (
    found_curve,
    hit_times,
    median_evaluations,
    p_found_curve,
    stop_summary,
)
from bo_agent.benchmark.settings import strategy_label

if TYPE_CHECKING:
    from bo_agent.benchmark.results import BenchmarkRun, TrialResult

__all__ = [
    "SUMMARY_T",
    "optimum_curves",
    "stopping_rows",
    "stopping_table",
    "stopping_trials",
    "summary_markdown",
    "summary_rows",
    "summary_table",
    "threshold_curves",
]


#: Evaluation counts of the summary table.
SUMMARY_T = (20, 50)


def _by(
    results: Iterable[TrialResult], figure: str, tau_name: str = ""
) -> dict[str, list[TrialResult]]:
    out: dict[str, list[TrialResult]] = {}
    for r in results:
        if r.figure == figure and r.tau_name == tau_name:
            out.setdefault(r.strategy, []).append(r)
    return out


def _ordered(names: Iterable[str], preferred: Sequence[str]) -> list[str]:
    names = set(names)
    first = [n for n in dict.fromkeys(preferred) if n in names]
    return first + sorted(names - set(first))


def optimum_curves(run: BenchmarkRun) -> list[dict[str, Any]]:
    """Rows ``strategy, label, t, p_found, se, n_trials`` of the Fig.-2 curves."""
    rows = []
    groups = _by(run.results, "optimum")
    for name in _ordered(groups, run.settings.strategies):
        hits = hit_times([r.ids for r in groups[name]], run.optimum)
        p = p_found_curve(hits, run.settings.horizon)
        n = hits.size
        for t, value in enumerate(p, start=1):
            rows.append(
                {
                    "strategy": name,
                    "label": strategy_label(name, run.settings.source_label),
                    "t": t,
                    "p_found": float(value),
                    "se": float(math.sqrt(value * (1 - value) / n)) if n else math.nan,
                    "n_trials": n,
                }
            )
    return rows


def threshold_curves(run: BenchmarkRun) -> list[dict[str, Any]]:
    """Rows ``strategy, label, tau_name, tau, n_below, t, mean_found, recall, sd_found,
    n_trials`` of the Fig.-3 curves."""
    rows = []
    for tau_name, tau in run.taus.items():
        targets = run.below[tau_name]
        groups = _by(run.results, "threshold", tau_name)
        for name in _ordered(groups, run.settings.threshold_strategies):
            found = found_curve(
                [r.ids for r in groups[name]], targets, run.settings.threshold_horizon
            )
            mean, sd = found.mean(axis=0), found.std(axis=0)
            rows.extend(
                {
                    "strategy": name,
                    "label": strategy_label(name, run.settings.source_label),
                    "tau_name": tau_name,
                    "tau": tau,
                    "n_below": len(targets),
                    "t": t + 1,
                    "mean_found": float(mean[t]),
                    "recall": float(mean[t] / len(targets)),
                    "sd_found": float(sd[t]),
                    "n_trials": found.shape[0],
                }
                for t in range(found.shape[1])
            )
    return rows


def summary_rows(run: BenchmarkRun) -> list[dict[str, Any]]:
    """One row per strategy: P(optimum) at t = 20 and 50, median evaluations to the optimum,
    recall below each tau at t = 50 (or the horizon if shorter), CPU seconds per trial."""
    s = run.settings
    opt = _by(run.results, "optimum")
    names = _ordered(
        set(opt) | {r.strategy for r in run.results if r.figure == "threshold"},
        [*s.strategies, *s.threshold_strategies],
    )
    rows = []
    t_recall = min(50, s.threshold_horizon)
    for name in names:
        row: dict[str, Any] = {"strategy": name, "label": strategy_label(name, s.source_label)}
        if name in opt:
            hits = hit_times([r.ids for r in opt[name]], run.optimum)
            p = p_found_curve(hits, s.horizon)
            row["trials"] = hits.size
            for t in SUMMARY_T:
                row[f"p_optimum_t{t}"] = float(p[t - 1]) if t <= s.horizon else None
            row["median_to_optimum"] = median_evaluations(hits)
            row["cpu_s_per_trial"] = float(np.mean([r.cpu_seconds for r in opt[name]]))
        for tau_name in run.taus:
            group = _by(run.results, "threshold", tau_name).get(name)
            key = f"recall_t{t_recall} ({tau_name})"
            if group and run.below[tau_name]:
                found = found_curve([r.ids for r in group], run.below[tau_name], t_recall)
                row[key] = float(found[:, -1].mean() / len(run.below[tau_name]))
                row[f"threshold_trials ({tau_name})"] = len(group)
                row.setdefault("trials", len(group))
            else:
                row[key] = None
        rows.append(row)
    return rows


def _fired(result: TrialResult) -> bool:
    return "expected undiscovered" in (result.stop_reason or "")


def stopping_trials(run: BenchmarkRun) -> list[dict[str, Any]]:
    """One row per stopping trial: where it stopped, what it had found, and why it stopped."""
    rows = []
    for r in run.results:
        if r.figure != "stopping":
            continue
        targets = set(run.below[r.tau_name])
        found = len(targets & set(r.ids))
        rows.append(
            {
                "strategy": r.strategy,
                "tau_name": r.tau_name,
                "trial": r.trial,
                "seed": r.seed,
                "evaluations": len(r.ids),
                "found": found,
                "recall": found / len(targets) if targets else math.nan,
                "stopped_by_rule": _fired(r),
                "stop_reason": r.stop_reason,
            }
        )
    return rows


def stopping_rows(run: BenchmarkRun) -> list[dict[str, Any]]:
    """One row per (tau, strategy) of the stopping benchmark (:func:`stop_summary`), with the
    recall the same strategy reached in Fig. 3 at the same (median) number of evaluations."""
    rows = []
    for tau_name, tau in run.taus.items():
        groups = _by(run.results, "stopping", tau_name)
        fixed = _by(run.results, "threshold", tau_name)
        for name in _ordered(groups, run.settings.threshold_strategies):
            group = groups[name]
            stats = stop_summary(
                [r.ids for r in group], run.below[tau_name], [_fired(r) for r in group]
            )
            row: dict[str, Any] = {
                "strategy": name,
                "label": strategy_label(name, run.settings.source_label),
                "tau_name": tau_name,
                "tau": tau,
                "n_below": len(run.below[tau_name]),
                **stats,
                "stop_undiscovered": run.settings.stop_undiscovered,
                "stop_patience": run.settings.stop_patience,
                "budget": run.settings.stopping_horizon,
            }
            t = int(stats["median_evals"]) if math.isfinite(stats["median_evals"]) else 0
            if name in fixed and 0 < t <= run.settings.threshold_horizon:
                found = found_curve([r.ids for r in fixed[name]], run.below[tau_name], t)
                row["fixed_budget_recall"] = float(found[:, -1].mean() / row["n_below"])
            rows.append(row)
    return rows


def stopping_table(run: BenchmarkRun) -> str:
    """The stopping benchmark as markdown ('' when it was not run)."""
    rows = stopping_rows(run)
    if not rows:
        return ""
    s = run.settings
    header = ["tau", "strategy", "trials", "stopped by the rule", "median evals at stop",
              "recall at stop", "all found", "median evals after the last hit",
              "Fig. 3 recall at that t"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [
            f"{row['tau']:.3f} eV ({row['n_below']} below)",
            row["label"],
            str(row["trials"]),
            _fmt(row["p_fired"]),
            _fmt(row["median_evals"], "median"),
            _fmt(row["mean_recall"]),
            _fmt(row["p_all_found"]),
            _fmt(row["median_overrun"], "median"),
            _fmt(row.get("fixed_budget_recall")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        (
            "Stopping rule: stop when the expected number of undiscovered compositions below "
            f"tau is < {s.stop_undiscovered} and none was found in the last {s.stop_patience} "
            f"evaluations (budget {s.stopping_horizon} evaluations otherwise). 'All found': "
            "fraction of trials that had found every composition below tau when they stopped. "
            "'Fig. 3 recall at that t': the same strategy's mean recall "
            "after as many evaluations, without the rule."
        ),
    ]
    return "\n".join(lines) + "\n"


def _fmt(value: Any, kind: str = "p") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "median":
        return f"> {value}" if isinstance(value, str) else f"{value:g}"
    if kind == "s":
        return f"{value:.1f}"
    return f"{value:.2f}"


def summary_table(run: BenchmarkRun) -> str:
    """The summary table (markdown): one row per strategy, as :func:`summary_rows`."""
    s = run.settings
    t_recall = min(50, s.threshold_horizon)
    header = ["strategy", "trials"]
    header += [f"P(opt) t={t}" for t in SUMMARY_T]
    header += ["median evals to opt"]
    header += [f"recall t={t_recall}, {name}" for name in run.taus]
    header += ["CPU s / trial (Fig. 2)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in summary_rows(run):
        median = row.get("median_to_optimum")
        if median is not None and math.isinf(median):
            median_txt = f"> {s.horizon}"
        else:
            median_txt = _fmt(median, "median")
        cells = [row["label"], str(row.get("trials", "–"))]
        cells += [_fmt(row.get(f"p_optimum_t{t}")) for t in SUMMARY_T]
        cells += [median_txt]
        cells += [_fmt(row.get(f"recall_t{t_recall} ({name})")) for name in run.taus]
        cells += [_fmt(row.get("cpu_s_per_trial"), "s")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_LENGTH_SCALES_TEXT = {"auto": "auto: ARD with transfer, shared without"}


def summary_markdown(run: BenchmarkRun) -> str:
    """The markdown summary: data set, command, settings, the table, figures and runtime."""
    s = run.settings
    opt = ", ".join(f"{k} ({v:.3f} eV)" for k, v in sorted(run.optimum.items()))
    lines = [
        "# tavbo benchmark",
        "",
        (
            f"- data set: `{run.data.source}`; {run.n_pool} {s.carrier} compositions with a "
            f"result (the pool), {run.n_source} {s.source_carrier} results for transfer"
            + (f" from `{s.source_data}`" if s.source_data else "")
        ),
    ]
    if run.n_failed:
        lines.append(
            f"- {run.n_failed} more {s.carrier} "
            f"{'composition' if run.n_failed == 1 else 'compositions'} in the pool whose result is "
            "untrusted (unconverged NEB, dipped path or reconstructed framework): evaluating one "
            "fails and costs an evaluation, as in a campaign; "
            + {
                "worst": "the GP learns it as the highest E_b observed so far (failed_value: "
                "worst)",
                "none": "the GP gets nothing (failed_value: none)",
                "classify": "the GP gets nothing and a classifier of trusted against failed "
                "outcomes weights the acquisition (failed_value: classify)",
                "auto": "without a transfer source the GP learns it as the highest E_b observed "
                "so far, with one it gets nothing (failed_value: auto)",
            }.get(s.failed_value, f"failed_value: {s.failed_value}")
            + "; peer codes never see them"
        )
    lines += [
        f"- optimum: {opt}"
        + (f" (every E_b within {s.optimum_tol:g} eV of the lowest)" if s.optimum_tol else ""),
    ]
    for tau_name, tau in run.taus.items():
        lines.append(
            f"- threshold {tau_name}: tau = {tau:.4f} eV, {len(run.below[tau_name])} "
            f"{s.carrier} compositions below it"
        )
    figures = {r.figure for r in run.results}
    n_trials = max(
        s.trials if "optimum" in figures else 0,
        s.threshold_trials if "threshold" in figures else 0,
        s.stopping_trials if "stopping" in figures else 0,
    )
    seeds = f"{s.base_seed}..{s.base_seed + max(n_trials, 1) - 1}"
    lines += [
        (
            f"- settings: {s.n_initial} random initial points, q = {s.q}, acquisition "
            f"{s.acquisition} (Fig. 2) / below (Fig. 3), kernel {s.kernel} "
            f"({_LENGTH_SCALES_TEXT.get(s.length_scales, s.length_scales)} length scales), "
            "hyperprior "
            f"{s.hyperprior}, GP on {'log E_b' if s.target_transform == 'log' else 'E_b'}, "
            f"aBO groups by {s.groups}; horizon {s.horizon} (Fig. 2), "
            f"{s.threshold_horizon} (Fig. 3); "
            f"trial i uses seed base_seed + i (seeds {seeds}), the same for every strategy"
        ),
        (
            f"- wall time {run.wall_seconds:.0f} s with {s.jobs} worker process(es); "
            f"{sum(r.cpu_seconds for r in run.results):.0f} CPU s in the trials"
        ),
        "",
        "Command:",
        "",
        "```",
        run.command or "(library call)",
        "```",
        "",
    ]
    if figures & {"optimum", "threshold"}:
        lines += summary_table(run).splitlines()
    if stopping := stopping_table(run):
        lines += ["", "Stopping rule of the threshold goal:", "", *stopping.splitlines()]
    lines += [
        "",
        (
            "P(opt) t=N: fraction of trials that evaluated the optimum within N evaluations "
            "(random initial points included). Median evals to opt: median over trials, a trial "
            f"that never found it counting as infinite ('> {s.horizon}': half or more did not "
            "find it). Recall: mean fraction of the compositions below tau found. '–': not run, "
            "or beyond the horizon."
        ),
        "",
    ]
    for key, path in run.files.items():
        if path.suffix == ".png":
            lines.append(f"![{key}]({path.name})")
    return "\n".join(lines) + "\n"
