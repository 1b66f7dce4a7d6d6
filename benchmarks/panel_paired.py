"""Paired differences between two panel runs, or two strategies of one (docs/benchmarks.md).

For every problem directory found in both NEW and OLD (``tavbo benchmark --panel`` outputs) and
every strategy both ran, prints P(found) at t = 20 and t = 50 of each, the paired difference
(NEW minus OLD on the same seeds) ± the standard error of the paired mean, and the failed
evaluations per trial out of the evaluations per trial (a trial stops when it finds the
optimum). ``--pair A=B`` compares strategy A with strategy B inside NEW instead (e.g. the
default ``abo`` against ``abo@keep``, the behaviour before ``failed_value: worst``), or, when NEW
lacks B or B is written ``old:B``, NEW's A with OLD's B (e.g. a peer run on its own with the
same seeds). ``--t 5 10 15`` gives other budgets than t = 20 and t = 50.

Run::

    python benchmarks/panel_paired.py NEW OLD             # the same strategies, two runs
    python benchmarks/panel_paired.py NEW --pair abo=abo@keep --pair abo+gp=abo+gp@keep
    python benchmarks/panel_paired.py benchmarks/results/panel benchmarks/results/panel-peers \
        --pair abo=old:baybe --pair abo=old:physbo   # the default against like-for-like peers

OLD may be a directory extracted from git (``git archive COMMIT benchmarks/results/panel``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from bo_agent.benchmark.metrics import hit_times
from bo_agent.benchmark.outputs import read_outputs
from bo_agent.benchmark.results import BenchmarkRun

T = (20, 50)  # the two budgets; --t replaces them (e.g. --t 5 10 15 ... 50)


def _trials(run: BenchmarkRun, strategy: str) -> list:
    return sorted((r for r in run.results if r.strategy == strategy), key=lambda r: r.trial)


def _hits(run: BenchmarkRun, strategy: str) -> np.ndarray:
    return hit_times([r.ids for r in _trials(run, strategy)], run.optimum)


def _failures(run: BenchmarkRun, strategy: str) -> str:
    trials = _trials(run, strategy)
    failed = np.mean([sum(e is None for e in r.e_b) for r in trials])
    used = np.mean([len(r.ids) for r in trials])
    return f"{failed:.1f}/{used:.1f}"


def _line(problem: str, label: str, new: tuple, old: tuple, ts: tuple[int, ...] = T) -> str:
    (run_a, a), (run_b, b) = new, old
    ha, hb = _hits(run_a, a), _hits(run_b, b)
    n = min(ha.size, hb.size)
    cells = []
    for t in ts:
        pa, pb = float(np.mean(ha[:n] <= t)), float(np.mean(hb[:n] <= t))
        d = (ha[:n] <= t).astype(float) - (hb[:n] <= t).astype(float)
        se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        cells.append(f"{pa:.2f} / {pb:.2f} ({d.mean():+.2f} ± {se:.2f})")
    fails = f"{_failures(run_a, a)} / {_failures(run_b, b)}"
    return f"| {problem} | {label} | {n} | {' | '.join(cells)} | {fails} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path)
    parser.add_argument("old", type=Path, nargs="?")
    parser.add_argument("--pair", action="append", default=[], help="A=B: strategy A against B")
    parser.add_argument("--t", type=int, nargs="+", default=list(T), help="budgets (20 50)")
    args = parser.parse_args()
    if args.old is None and not args.pair:
        parser.error("give OLD or --pair A=B")
    ts = tuple(args.t)
    cols = " | ".join(f"P(t={t}) new / old (paired difference)" for t in ts)
    print(f"| problem | strategy | trials | {cols} | failed/evaluations per trial new / old |")
    print("|" + " --- |" * (len(ts) + 4))
    for where in sorted(p for p in args.new.iterdir() if (p / "run.json").exists()):
        new = read_outputs(where)
        old = None
        if args.old is not None and (args.old / where.name / "run.json").exists():
            old = read_outputs(args.old / where.name)
            both = [s for s in new.settings.strategies if s in old.settings.strategies]
            for s in both:
                if _trials(new, s) and _trials(old, s) and not args.pair:
                    print(_line(where.name, s, (new, s), (old, s), ts))
        for pair in args.pair:
            a, b = pair.split("=")
            forced = b.startswith("old:")
            b = b.removeprefix("old:")
            other = old if forced or not _trials(new, b) else new
            if _trials(new, a) and other is not None and _trials(other, b):
                print(_line(where.name, f"{a} vs {b}", (new, a), (other, b), ts))


if __name__ == "__main__":
    main()
