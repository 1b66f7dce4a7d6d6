"""``tavbo benchmark``: replay every strategy on a known data set (the report's Fig. 2 and 3)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from bo_agent.cli.options import SpaceOpt

if TYPE_CHECKING:
    from bo_agent.benchmark.results import BenchmarkRun

__all__ = ["benchmark"]


def _names(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def benchmark(
    data: Annotated[
        str,
        typer.Option(
            "--data",
            "-d",
            help="chgnet or bvse (packaged reference data), synthetic (harness check), or any "
            "CSV/JSON(.gz) barrier table.",
        ),
    ] = "chgnet",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output directory (default: ./benchmark-<data>)."),
    ] = None,
    quick: Annotated[
        bool,
        typer.Option("--quick", help="Smoke run (few trials, short horizons): checks the harness."),
    ] = False,
    trials: Annotated[
        int | None,
        typer.Option(
            "--trials", "-n", help="Trials per strategy of both figures (default 50 and 1000)."
        ),
    ] = None,
    threshold_trials: Annotated[
        int | None,
        typer.Option("--threshold-trials", help="Trials of Fig. 3 (wins over --trials)."),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Worker processes (default: the cores).")
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            help="Run one benchmark only: optimum (Fig. 2), threshold (Fig. 3) or stopping "
            "(threshold searches ended by the stopping rule; not run by default).",
        ),
    ] = None,
    strategies: Annotated[
        str | None,
        typer.Option(
            "--strategies",
            help="Fig. 2 strategies, comma-separated: random, obo, abo, obo+hp, abo+gp, "
            "abo+multitask, ..., physbo, baybe (default: every tavbo strategy).",
        ),
    ] = None,
    threshold_strategies: Annotated[
        str | None,
        typer.Option("--threshold-strategies", help="Fig. 3 strategies (default random,obo,abo)."),
    ] = None,
    peers: Annotated[
        bool,
        typer.Option("--peers", help="Add PHYSBO and BayBE to Fig. 2 (needs the peers extra)."),
    ] = False,
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon", help="Evaluations per trial of every figure (default 60; stopping 100)."
        ),
    ] = None,
    acquisition: Annotated[
        str | None, typer.Option("--acquisition", help="Fig. 2 acquisition: ei, pi, lcb, ts.")
    ] = None,
    hyperprior: Annotated[
        str | None,
        typer.Option(
            "--hyperprior",
            help="GP hyperparameter prior: none (maximum likelihood), gamma or lognormal (MAP), "
            "or a rule over gamma and none: loo, cv, average, alternate (see tavbo run --help).",
        ),
    ] = None,
    groups: Annotated[
        str | None,
        typer.Option("--groups", help="aBO kernel groups: kind (default), site or kind+element."),
    ] = None,
    length_scales: Annotated[
        str | None,
        typer.Option(
            "--length-scales",
            help="GP length scales: auto (default: ard with transfer, shared without), ard "
            "(one per column) or shared (one per kernel or aBO group).",
        ),
    ] = None,
    target_transform: Annotated[
        str | None,
        typer.Option(
            "--target-transform",
            help="Scale the GP models E_b on: none (default, eV) or log (log E_b).",
        ),
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", "-q", help="Proposals per round (1: sequential BO).")
    ] = 1,
    carrier: Annotated[str, typer.Option("--carrier", "-A", help="Target carrier.")] = "Na",
    source_carrier: Annotated[
        str, typer.Option("--source-carrier", help="Carrier the transfer strategies inherit from.")
    ] = "Li",
    source_data: Annotated[
        str | None,
        typer.Option(
            "--source-data",
            help="Data set the transfer strategies inherit from (default: --data); with "
            "--source-carrier equal to --carrier this is the fidelity ladder, e.g. "
            "--data chgnet --source-data bvse --source-carrier Na.",
        ),
    ] = None,
    stop_patience: Annotated[
        int | None,
        typer.Option(
            "--stop-patience",
            min=0,
            help="Stopping benchmark: evaluations without a new hit before the rule may stop "
            "(default 15; 0: the GP posterior alone).",
        ),
    ] = None,
    optimum_tol: Annotated[
        float | None,
        typer.Option(
            "--optimum-tol",
            min=0.0,
            help="Fig. 2: count every composition within this many eV of the lowest E_b as "
            "the optimum (default 0: exact ties only).",
        ),
    ] = None,
    panel: Annotated[
        bool,
        typer.Option(
            "--panel",
            help="Run the benchmark panel instead: every problem (CHGNet Na exact and within 10 "
            "meV, with noise, Li, BVSE, an unrelated source, synthetic landscapes) with random, "
            "the peers and tavbo's strategies; 50 trials of 50 evaluations (--trials, "
            "--horizon, --strategies, --quick apply). Writes panel.md, panel.csv, panel.png "
            "and one directory per problem.",
        ),
    ] = False,
    problems: Annotated[
        str | None,
        typer.Option(
            "--problems",
            help="With --panel: only these problems, comma-separated, run in this order (the "
            "others finished in --out with the same settings stay in panel.md).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of trial 0 (trial i: seed + i).")] = 0,
    space: SpaceOpt = None,
    replot: Annotated[
        Path | None,
        typer.Option(
            "--replot",
            help="Redraw the tables and figures of an earlier run in this directory from its "
            "run.json and traces.csv.gz (no trial is rerun; other options are ignored).",
        ),
    ] = None,
) -> None:
    """Benchmark the search strategies by offline replay on a fully known data set.

    Writes into --out: optimum_curves.csv (P(optimum found) against t, Fig. 2),
    threshold_curves.csv (compositions below tau found against t, Fig. 3), summary.csv and
    summary.md, traces.csv.gz (every evaluation of every trial), run.json and PNG figures.
    """
    from dataclasses import replace

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from bo_agent.benchmark.data import load_benchmark_data
    from bo_agent.benchmark.run import run_benchmark
    from bo_agent.benchmark.settings import FIGURES, PEERS, BenchmarkSettings, default_jobs
    from bo_agent.config import HYPERPRIORS, LENGTH_SCALES
    from bo_agent.features.table import GROUPINGS
    from bo_agent.gp.target_transform import TARGET_TRANSFORMS
    from workflows.errors import ConfigError

    if replot is not None:
        from bo_agent.benchmark.outputs import read_outputs, write_outputs

        run = read_outputs(replot)
        files = write_outputs(run, replot)
        _print_tables(run)
        Console(stderr=True).print(
            f"redrew {replot}/: " + ", ".join(sorted(p.name for p in files.values()))
        )
        return
    fixed_by_panel = {  # options a panel problem sets itself: given with --panel, an error
        "--data": data != "chgnet", "--only": only is not None,
        "--threshold-trials": threshold_trials is not None,
        "--threshold-strategies": threshold_strategies is not None, "--peers": peers,
        "--acquisition": acquisition is not None, "--hyperprior": hyperprior is not None,
        "--groups": groups is not None, "--length-scales": length_scales is not None,
        "--target-transform": target_transform is not None, "--batch": batch != 1,
        "--carrier": carrier != "Na", "--source-carrier": source_carrier != "Li",
        "--source-data": source_data is not None, "--stop-patience": stop_patience is not None,
        "--optimum-tol": optimum_tol is not None, "--space": space is not None,
    }  # fmt: skip
    if panel:
        given = [flag for flag, is_set in fixed_by_panel.items() if is_set]
        if given:
            raise ConfigError(
                f"--panel does not take {given[0]}: each problem sets its data, carrier and "
                "tolerance, and a strategy variant its model (e.g. --strategies abo@ml)"
            )
        from bo_agent.cli.explore.panel import run_panel_command

        run_panel_command(
            out, quick, trials, horizon, jobs, _names(strategies), _names(problems), seed
        )
        return
    if problems is not None:
        raise ConfigError("--problems needs --panel")
    settings = BenchmarkSettings.quick() if quick else BenchmarkSettings()
    updates: dict[str, object] = {
        "carrier": carrier,
        "source_carrier": source_carrier,
        "source_data": source_data,
        "base_seed": seed,
        "q": batch,
        "jobs": jobs if jobs is not None else default_jobs(),
        "space": str(space) if space else None,
    }
    if only is not None:
        if only not in FIGURES:
            raise ConfigError(f"unknown --only {only!r}; expected one of {', '.join(FIGURES)}")
        updates["figures"] = (only,)
    if stop_patience is not None and only != "stopping":
        raise ConfigError("--stop-patience sets the stopping benchmark's rule: add --only stopping")
    if peers and only not in (None, "optimum"):
        raise ConfigError(f"--peers joins Fig. 2 (the optimum); --only {only} does not run it")
    if trials is not None:
        updates["trials"] = updates["threshold_trials"] = updates["stopping_trials"] = trials
    if threshold_trials is not None:
        updates["threshold_trials"] = threshold_trials
    if horizon is not None:
        updates["horizon"] = updates["threshold_horizon"] = updates["stopping_horizon"] = horizon
    if acquisition is not None:
        updates["acquisition"] = acquisition
    if stop_patience is not None:
        updates["stop_patience"] = stop_patience
    if optimum_tol is not None:
        updates["optimum_tol"] = optimum_tol
    if hyperprior is not None:
        if hyperprior not in HYPERPRIORS:
            raise ConfigError(
                f"unknown --hyperprior {hyperprior!r}; expected one of {list(HYPERPRIORS)}"
            )
        updates["hyperprior"] = hyperprior
    if groups is not None:
        if groups not in GROUPINGS:
            raise ConfigError(f"unknown --groups {groups!r}; expected one of {list(GROUPINGS)}")
        updates["groups"] = groups
    if length_scales is not None:
        if length_scales not in LENGTH_SCALES:
            raise ConfigError(
                f"unknown --length-scales {length_scales!r}; expected one of {list(LENGTH_SCALES)}"
            )
        updates["length_scales"] = length_scales
    if target_transform is not None:
        if target_transform not in TARGET_TRANSFORMS:
            raise ConfigError(
                f"unknown --target-transform {target_transform!r}; "
                f"expected one of {list(TARGET_TRANSFORMS)}"
            )
        updates["target_transform"] = target_transform
    names = _names(strategies)
    if names is not None:
        updates["strategies"] = names
    if peers:
        base = updates.get("strategies", settings.strategies)
        updates["strategies"] = tuple(dict.fromkeys([*base, *PEERS]))  # type: ignore[misc]
    names = _names(threshold_strategies)
    if names is not None:
        updates["threshold_strategies"] = names
    settings = replace(settings, **updates)  # type: ignore[arg-type]
    if min(settings.trials, settings.threshold_trials, settings.horizon, settings.q) < 1:
        raise ConfigError("--trials, --threshold-trials, --horizon and --batch must be >= 1")

    out = out or Path(f"benchmark-{Path(data).name.split('.')[0]}")
    dataset = load_benchmark_data(data)
    source_set = None
    if source_data is not None:
        source_set = load_benchmark_data(source_data, "--source-data")
    command = _command(data, out, quick, peers, {
        "--trials": trials, "--threshold-trials": threshold_trials, "--jobs": settings.jobs,
        "--only": only, "--strategies": strategies,
        "--threshold-strategies": threshold_strategies, "--horizon": horizon,
        "--acquisition": acquisition, "--hyperprior": hyperprior, "--groups": groups,
        "--length-scales": length_scales, "--target-transform": target_transform,
        "--stop-patience": stop_patience, "--optimum-tol": optimum_tol,
        "--batch": batch if batch != 1 else None,
        "--carrier": carrier if carrier != "Na" else None,
        "--source-carrier": source_carrier if source_carrier != "Li" else None,
        "--source-data": source_data, "--seed": seed or None, "--space": space,
    })  # fmt: skip
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]benchmark"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
    )
    task = progress.add_task("trials", total=None, info="")

    def on_progress(done: int, total: int, info: str) -> None:
        progress.update(task, completed=done, total=total, info=info)

    with progress:
        run = run_benchmark(
            settings, dataset, out, source_data=source_set, on_progress=on_progress,
            command=command,
        )  # fmt: skip
    _print_tables(run)
    console.print(
        f"{len(run.results)} trials in {run.wall_seconds:.0f} s ({settings.jobs} processes); "
        f"files in {out}/: " + ", ".join(sorted(p.name for p in run.files.values()))
    )


def _print_tables(run: BenchmarkRun) -> None:
    """The summary table (Fig. 2/3) and the stopping table, for the benchmarks that ran."""
    from bo_agent.benchmark.tables import stopping_table, summary_table

    if {r.figure for r in run.results} & {"optimum", "threshold"}:
        sys.stdout.write(summary_table(run))
    sys.stdout.write(stopping_table(run))


def _command(data: str, out: Path, quick: bool, peers: bool, options: dict[str, object]) -> str:
    """The command line that reproduces this run (options that differ from the defaults)."""
    args = ["tavbo", "benchmark", "--data", data, "--out", str(out)]
    if quick:
        args.append("--quick")
    for flag, value in options.items():
        if value is not None:
            args += [flag, str(value)]
    if peers:
        args.append("--peers")
    return shlex.join(args)
