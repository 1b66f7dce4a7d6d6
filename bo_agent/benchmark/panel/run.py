"""Run the benchmark panel: every problem through :func:`bo_agent.benchmark.run.run_benchmark`.

Each problem is one ordinary benchmark run (Fig. 2 analogue, the optimum found) with its own
data set, tolerance and strategies, written to ``<out>/<problem>/`` as any benchmark is
(``optimum.png``, ``summary.md``, traces, ``run.json``); the panel adds ``panel.md`` (one
table of every problem and strategy, and the goals), ``panel.csv`` and ``panel.png`` (one
plot per problem). A problem whose directory already holds a finished run of the same settings
is read back, not rerun, so an interrupted panel continues where it stopped; a run of some
problems only (``problems``, in the order given: the most informative first when time is short)
still lists every problem of the panel finished in ``out`` with the same settings.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bo_agent.benchmark.outputs import _write_csv, read_outputs
from bo_agent.benchmark.panel.problems import PANEL, PanelProblem, load_problem, panel_strategies
from bo_agent.benchmark.panel.report import PanelResult, panel_markdown, panel_rows, plot_panel
from bo_agent.benchmark.results import BenchmarkRun
from bo_agent.benchmark.run import run_benchmark
from bo_agent.benchmark.settings import (
    PEER_POOL,
    BenchmarkSettings,
    parse_strategy,
    settings_dict,
)

__all__ = ["panel_settings", "run_panel"]

logger = logging.getLogger(__name__)


def panel_settings(
    problem: PanelProblem,
    *,
    trials: int = 50,
    horizon: int = 50,
    quick: bool = False,
    jobs: int = 1,
    strategies: Sequence[str] | None = None,
    seed: int = 0,
) -> BenchmarkSettings:
    """Benchmark settings of one problem (``quick``: 2 trials, horizon 8, no BayBE; trial ``i``
    uses seed ``seed + i``)."""
    if quick:
        trials, horizon = 2, 8
    names = tuple(strategies) if strategies else panel_strategies(problem, quick)
    if problem.source_carrier is None:
        names = tuple(n for n in names if "+" not in n)
    return BenchmarkSettings(
        carrier=problem.carrier,
        source_carrier=problem.source_carrier or "Li",
        strategies=names,
        trials=trials,
        horizon=horizon,
        optimum_tol=problem.optimum_tol,
        figures=("optimum",),
        jobs=jobs,
        base_seed=seed,
    )


def _finished(out: Path, settings: BenchmarkSettings) -> BenchmarkRun | None:
    """The run stored in ``out`` if it was made with these settings."""
    record = out / "run.json"
    if not record.exists():
        return None
    try:
        recorded = json.loads(record.read_text())
        stored = recorded["settings"]
    except (OSError, ValueError, KeyError):
        return None
    peers = any(parse_strategy(s)[1] == "peer" for s in settings.strategies)
    if peers and recorded.get("peer_pool") != PEER_POOL:  # its peers had the trusted pool
        return None
    wanted = json.loads(json.dumps(settings_dict(settings)))
    if {k: v for k, v in wanted.items() if k != "jobs"} != {
        k: v for k, v in stored.items() if k != "jobs"
    }:  # the worker count changes no trial
        return None
    return read_outputs(out) if (out / "traces.csv.gz").exists() else None


def run_panel(
    out: Path,
    *,
    problems: Sequence[PanelProblem] = PANEL,
    trials: int = 50,
    horizon: int = 50,
    quick: bool = False,
    jobs: int = 1,
    strategies: Sequence[str] | None = None,
    seed: int = 0,
    on_progress: Callable[[str, int, int, str], None] | None = None,
    command: str = "",
) -> list[PanelResult]:
    """Run (or read back) every problem and write the panel's files into ``out``.

    Parameters
    ----------
    out : Path
    problems : sequence of PanelProblem, default=PANEL
    trials, horizon : int, default=50, 50
    quick : bool, default=False
        2 trials of horizon 8 per strategy, BayBE left out (a smoke run of every code path).
    jobs : int, default=1
        Worker processes.
    strategies : sequence of str, optional
        Instead of each problem's own list (transfer strategies run only with a source).
    seed : int, default=0
        Trial ``i`` uses seed ``seed + i`` (new seeds for a second batch of trials, e.g. 50).
    on_progress : callable, optional
        ``on_progress(problem, done, total, info)`` after each trial.
    command : str, default=""
        Recorded in ``panel.md``.

    Returns
    -------
    list of PanelResult
    """
    out.mkdir(parents=True, exist_ok=True)
    results: list[PanelResult] = []

    def settings_of(problem: PanelProblem) -> BenchmarkSettings:
        return panel_settings(
            problem, trials=trials, horizon=horizon, quick=quick, jobs=jobs,
            strategies=strategies, seed=seed,
        )  # fmt: skip

    for problem in problems:
        settings = settings_of(problem)
        where = out / problem.name
        done = _finished(where, settings)
        if done is not None:
            logger.info("%s: finished run read back from %s", problem.name, where)
            results.append(PanelResult(problem, done))
            continue
        data, source = load_problem(problem)
        started = time.perf_counter()

        def progress(n: int, total: int, info: str, name: str = problem.name) -> None:
            if on_progress is not None:
                on_progress(name, n, total, info)

        run = run_benchmark(
            settings, data, where, source_data=source, on_progress=progress, command=command
        )
        logger.info("%s: %.0f s", problem.name, time.perf_counter() - started)
        results.append(PanelResult(problem, run))
        write_panel(_with_finished(results, out, settings_of), out, command)  # grows as it goes
    write_panel(_with_finished(results, out, settings_of), out, command)
    return results


def _with_finished(
    results: Sequence[PanelResult],
    out: Path,
    settings_of: Callable[[PanelProblem], BenchmarkSettings],
) -> list[PanelResult]:
    """``results`` and every other problem of :data:`PANEL` finished in ``out`` with the same
    settings, in the panel's order."""
    ran = {r.problem.name: r for r in results}
    merged = []
    for problem in PANEL:
        if problem.name in ran:
            merged.append(ran.pop(problem.name))
            continue
        done = _finished(out / problem.name, settings_of(problem))
        if done is not None:
            merged.append(PanelResult(problem, done))
    return [*merged, *ran.values()]  # problems outside PANEL (tests) last


def write_panel(results: Sequence[PanelResult], out: Path, command: str = "") -> dict[str, Path]:
    """``panel.md``, ``panel.csv`` and ``panel.png`` of the problems finished so far."""
    files = {
        "panel_csv": _write_csv(out / "panel.csv", panel_rows(results)),
        "panel_plot": plot_panel(results, out / "panel.png"),
    }
    (out / "panel.md").write_text(panel_markdown(results, command))
    files["panel"] = out / "panel.md"
    return files
