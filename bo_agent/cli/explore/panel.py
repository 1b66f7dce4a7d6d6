"""``tavbo benchmark --panel``: every panel problem with a progress bar each, then its table."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from rich.console import Console

__all__ = ["run_panel_command"]


def run_panel_command(
    out: Path | None,
    quick: bool,
    trials: int | None,
    horizon: int | None,
    jobs: int | None,
    strategies: tuple[str, ...] | None,
    problem_names: tuple[str, ...] | None = None,
    seed: int = 0,
) -> None:
    """``--panel``: run every problem of the panel (or ``problem_names``), with a progress bar
    per problem (a line per tenth of a problem when stderr is not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bo_agent.benchmark.panel.problems import PANEL
    from bo_agent.benchmark.panel.report import panel_markdown
    from bo_agent.benchmark.panel.run import run_panel
    from bo_agent.benchmark.settings import default_jobs, parse_strategy
    from workflows.errors import ConfigError

    for name in strategies or ():
        parse_strategy(name)
    if min(trials or 1, horizon or 1) < 1:
        raise ConfigError("--trials and --horizon must be >= 1")
    by_name = {p.name: p for p in PANEL}
    unknown = [n for n in problem_names or () if n not in by_name]
    if unknown:
        raise ConfigError(f"unknown problem {unknown[0]!r}; expected one of {list(by_name)}")
    problems = [by_name[n] for n in problem_names] if problem_names else list(PANEL)
    out = out or Path("benchmark-panel")
    args = ["tavbo", "benchmark", "--panel", "--out", str(out)]
    for flag, value in (
        ("--trials", trials), ("--horizon", horizon), ("--jobs", jobs), ("--seed", seed or None)
    ):  # fmt: skip
        if value is not None:
            args += [flag, str(value)]
    if strategies:
        args += ["--strategies", ",".join(strategies)]
    if problem_names:
        args += ["--problems", ",".join(problem_names)]
    if quick:
        args.append("--quick")
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.fields[info]}"), console=console,
    )  # fmt: skip
    tasks: dict[str, object] = {}

    def on_progress(problem: str, done: int, total: int, info: str) -> None:
        if not console.is_terminal and (done == total or done % max(1, total // 10) == 0):
            stamp = time.strftime("%H:%M:%S")
            sys.stderr.write(f"{stamp} {problem}: {done}/{total} trials {info}\n")
            sys.stderr.flush()
        if problem not in tasks:
            tasks[problem] = progress.add_task(problem, total=total, info="")
        progress.update(tasks[problem], completed=done, total=total, info=info)  # type: ignore[arg-type]

    with progress:
        results = run_panel(
            out, problems=problems, trials=trials or 50, horizon=horizon or 50, quick=quick,
            jobs=jobs if jobs is not None else default_jobs(), strategies=strategies, seed=seed,
            on_progress=on_progress, command=shlex.join(args),
        )  # fmt: skip
    sys.stdout.write(panel_markdown(results, shlex.join(args)))
    console.print(f"files in {out}/: panel.md, panel.csv, panel.png and one directory per problem")
