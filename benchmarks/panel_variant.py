"""Panel problems with tavbo's strategies under other settings, or on the trusted pool only.

Each problem runs as an ordinary ``run_benchmark`` with the panel's settings (paired seeds 0..
TRIALS-1, horizon 50, the problem's tolerance and source) and writes the usual run directory
``OUT/<problem>/`` (``run.json``, traces, ``summary.md``), so ``benchmarks/panel_paired.py``
pairs it with any other panel run. Two changes are possible (docs/benchmarks.md, "BayBE on the
panel"):

- ``--trusted-pool``: the compositions whose evaluation fails are left out of the pool, the
  oracle the ``<peer>@trusted-pool`` peers get, so tavbo's model and acquisition can be
  compared with a peer's on the same pool;
- ``--set FIELD=VALUE``: a ``BenchmarkSettings`` field (``hyperprior``, ``kernel``,
  ``acquisition``, ``length_scales``, ``failed_value``, ...), e.g. a GP setting tried for the
  default.

A problem whose directory holds a finished run is not rerun. Progress goes to stderr.

Run::

    python benchmarks/panel_variant.py OUT PROBLEMS STRATEGIES [--trials 50] [--jobs 2]
        [--trusted-pool] [--set FIELD=VALUE ...]

    # the default aBO on the pool BayBE@trusted-pool searched
    python benchmarks/panel_variant.py benchmarks/results/panel-trusted-abo \\
        chgnet-li,chgnet-na abo --trusted-pool
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

from bo_agent.benchmark.data import BenchmarkData
from bo_agent.benchmark.panel.problems import PANEL, load_problem
from bo_agent.benchmark.panel.run import panel_settings
from bo_agent.benchmark.run import run_benchmark
from bo_agent.benchmark.settings import BenchmarkSettings


def _setting(settings: BenchmarkSettings, item: str) -> BenchmarkSettings:
    """``settings`` with ``FIELD=VALUE`` applied; ValueError names a bad item."""
    name, _, value = item.partition("=")
    known = {f.name for f in fields(BenchmarkSettings)}
    if name not in known or not value:
        raise ValueError(f"--set {item!r}: expected FIELD=VALUE, FIELD one of {sorted(known)}")
    current = getattr(settings, name)
    typed: object = type(current)(value) if isinstance(current, (int, float)) else value
    return replace(settings, **{name: typed})


def main() -> None:
    """Parse the arguments and run every problem."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("problems", help="comma-separated panel problem names")
    parser.add_argument("strategies", help="comma-separated strategies")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--trusted-pool", action="store_true", help="leave failing ones out")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args()
    problems = {p.name: p for p in PANEL}
    unknown = [n for n in args.problems.split(",") if n not in problems]
    if unknown:
        parser.error(f"unknown problems {unknown}; expected some of {sorted(problems)}")
    for name in args.problems.split(","):
        problem = problems[name]
        settings = panel_settings(
            problem, trials=args.trials, jobs=args.jobs, strategies=args.strategies.split(",")
        )
        try:
            for item in args.set:
                settings = _setting(settings, item)
        except ValueError as exc:
            parser.error(str(exc))  # one line, exit 2
        where = args.out / name
        if (where / "run.json").exists():
            print(f"{name}: finished run in {where}, not rerun", file=sys.stderr)
            continue
        data, source = load_problem(problem)
        if args.trusted_pool:
            data = BenchmarkData(data.values, data.source, frozenset(), data.truth)
        started = time.perf_counter()

        def progress(n: int, total: int, info: str, name: str = name) -> None:
            print(f"{time.strftime('%H:%M:%S')} {name}: {n}/{total} {info}", file=sys.stderr)

        run_benchmark(
            settings,
            data,
            where,
            source_data=source,
            on_progress=progress,
            command=" ".join(sys.argv),
        )
        print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
