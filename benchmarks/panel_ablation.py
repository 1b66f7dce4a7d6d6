"""Paired ablations of the default strategy's parts on panel problems (docs/benchmarks.md).

Runs a few strategies of one or more panel problems (``bo_agent.benchmark.panel``) with the
acquisition variants given, each as an ordinary ``run_benchmark`` with the panel's settings
(paired seeds, horizon 50), and writes one JSON per (problem, variant) with every trial's
evaluations to the optimum (``hits``: the problem's tolerance; ``hits10``: within 10 meV of
the noise-free optimum), the CPU seconds per trial and the decision strategies. A file that
exists is not rerun. Prints one line per strategy.

Run::

    python benchmarks/panel_ablation.py OUT TRIALS PROBLEMS STRATEGIES VARIANTS [--jobs 2]
        [--trust-min-results 3]

    # e.g. the incumbent and the stall guard on the exact CHGNet Na optimum
    python benchmarks/panel_ablation.py benchmarks/results/panel-dev 10 chgnet-na-exact auto \\
        A:observed:0,B:posterior:0,C:posterior:0.001

``VARIANTS`` is a comma-separated list of ``name:incumbent:stall_guard``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import bo_agent.decide.selection as selection
from bo_agent.benchmark.metrics import hit_times
from bo_agent.benchmark.panel.problems import PANEL, load_problem
from bo_agent.benchmark.panel.run import panel_settings
from bo_agent.benchmark.run import run_benchmark


def _summary(hits: list[float]) -> str:
    h = np.asarray(hits)
    return f"P20 {np.mean(h <= 20):.2f} P50 {np.mean(h <= 50):.2f} median {np.median(h)}"


def main() -> None:
    """Parse the arguments and run every (problem, variant)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("trials", type=int)
    parser.add_argument("problems", help="comma-separated panel problem names")
    parser.add_argument("strategies", help="comma-separated strategies")
    parser.add_argument("variants", help="comma-separated name:incumbent:stall_guard")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--trust-min-results", type=int, default=selection.TRUST_MIN_RESULTS,
        help="results before model auto tests its transfer source",
    )  # fmt: skip
    args = parser.parse_args()
    selection.TRUST_MIN_RESULTS = args.trust_min_results  # worker processes fork with it
    args.out.mkdir(parents=True, exist_ok=True)
    problems = {p.name: p for p in PANEL}
    for name in args.problems.split(","):
        problem = problems[name]
        data, source = load_problem(problem)
        truth = data.truth or data.values
        carrier = {k: v for k, v in truth.items() if k.split("-", 1)[0] == problem.carrier}
        within = {k for k, v in carrier.items() if v <= min(carrier.values()) + 0.01 + 1e-9}
        for variant in args.variants.split(","):
            label, incumbent, stall = variant.split(":")
            path = args.out / f"{name}__{label}.json"
            if path.exists():
                continue
            settings = panel_settings(
                problem, trials=args.trials, jobs=args.jobs,
                strategies=args.strategies.split(","),
            )  # fmt: skip
            settings = replace(settings, incumbent=incumbent, stall_guard=float(stall))
            started = time.time()
            run = run_benchmark(settings, data, None, source_data=source)
            record = {}
            for strategy in settings.strategies:
                trials = sorted(
                    (r for r in run.results if r.strategy == strategy), key=lambda r: r.trial
                )
                record[strategy] = {
                    "hits": hit_times([r.ids for r in trials], run.optimum).tolist(),
                    "hits10": hit_times([r.ids for r in trials], within).tolist(),
                    "cpu": float(np.mean([r.cpu_seconds for r in trials])),
                    "steps": [r.steps for r in trials],
                }
                print(
                    f"{name} {label} {strategy}: {_summary(record[strategy]['hits'])} | "
                    f"10 meV: {_summary(record[strategy]['hits10'])} | "
                    f"{record[strategy]['cpu']:.1f} CPU s/trial, {time.time() - started:.0f} s",
                    flush=True,
                )
            path.write_text(json.dumps(record))


if __name__ == "__main__":
    main()
