"""The entry point, :func:`run_benchmark`: check, plan, run the trials, write the files.

It checks the settings against the data set (enough target results, known strategies, source
results for transfer strategies, installed peers), finds the optimum and the thresholds (tau
given, or matched to the data set: :func:`_matched_tau`), plans one task per (figure, tau,
strategy, trial) with seed ``base_seed + trial``, runs them (:mod:`.trials`), collects a
:class:`~bo_agent.benchmark.results.BenchmarkRun` and, given ``out``, writes it
(:func:`~bo_agent.benchmark.outputs.write_outputs`). It sits at the top of the package: it uses
every other module and none uses it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from bo_agent.benchmark.data import BenchmarkData
from bo_agent.benchmark.outputs import write_outputs
from bo_agent.benchmark.results import BenchmarkRun
from bo_agent.benchmark.settings import FIGURES, BenchmarkSettings, parse_strategy
from bo_agent.benchmark.trials import _Context, _run_tasks, _Task
from workflows.errors import ConfigError

__all__ = ["run_benchmark"]

logger = logging.getLogger(__name__)


def _matched_tau(values: Sequence[float], count: int) -> float:
    v = sorted(values)
    if len(v) <= count:
        raise ConfigError(
            f"the matched threshold needs more than {count} target results; the data set has "
            f"{len(v)}"
        )
    return 0.5 * (v[count - 1] + v[count])


def _check_strategies(
    names: Iterable[str], has_source: bool, source: str, own_answers: bool = False
) -> None:
    for name in names:
        model, transfer = parse_strategy(name)
        if transfer == "peer":
            from bo_agent.benchmark.peers import check_peer

            check_peer(model)
        elif transfer != "none" and own_answers:
            raise ConfigError(
                f"transfer from {source} to {source} within one data set would show the "
                "strategies the answers; give another --source-carrier or a --source-data set"
            )
        elif transfer != "none" and not has_source:
            raise ConfigError(
                f"strategy {name!r} transfers from {source}, but the data set has no "
                f"{source} results; leave the transfer strategies out (--strategies)"
            )


def run_benchmark(
    settings: BenchmarkSettings,
    data: BenchmarkData,
    out: str | Path | None = None,
    *,
    source_data: BenchmarkData | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    command: str = "",
) -> BenchmarkRun:
    """Run the configured benchmarks and (with ``out``) write their files.

    Parameters
    ----------
    settings : BenchmarkSettings
    data : BenchmarkData
        From :func:`load_benchmark_data`; target-carrier IDs without a result are left out of
        the pool, those in ``data.failed`` (unconverged NEBs) stay in it as failed evaluations.
    source_data : BenchmarkData, optional
        Source results of the transfer strategies (``settings.source_data``); default ``data``.
    out : str or Path, optional
        Directory for ``optimum_curves.csv``, ``threshold_curves.csv``, ``traces.csv.gz``,
        ``summary.md``, ``run.json`` and the PNG figures (see :func:`write_outputs`).
    on_progress : callable, optional
        Called as ``on_progress(done, total, info)`` after each trial.
    command : str, default=""
        The command line, recorded in the summary.

    Returns
    -------
    BenchmarkRun

    Raises
    ------
    ConfigError
        For an unknown strategy, too few target results, a transfer strategy without source
        results, or a peer that is not installed.
    """
    from workflows.space.compositions import load_space

    started = time.perf_counter()
    space = load_space(settings.space)
    target = {
        c.id: data.values[c.id] for c in space.filter(A=settings.carrier) if c.id in data.values
    }
    if len(target) < settings.n_initial + 2:
        raise ConfigError(
            f"data set {data.source} has {len(target)} {settings.carrier} results in the space; "
            f"a benchmark needs at least {settings.n_initial + 2}"
        )
    failed = frozenset(c.id for c in space.filter(A=settings.carrier) if c.id in data.failed)
    source_set = source_data if source_data is not None else data
    source = {
        c.id: source_set.values[c.id]
        for c in space.filter(A=settings.source_carrier)
        if c.id in source_set.values
    }
    figures = set(settings.figures)
    unknown_fig = figures - set(FIGURES)
    if unknown_fig:
        raise ConfigError(f"unknown figures {sorted(unknown_fig)}; expected one of {FIGURES}")
    thresholds = bool(figures & {"threshold", "stopping"})
    used = set(settings.strategies if "optimum" in figures else ())
    used |= set(settings.threshold_strategies if thresholds else ())
    own_answers = source_data is None and settings.source_carrier == settings.carrier
    _check_strategies(sorted(used), len(source) >= 2, settings.source_label, own_answers)
    peers = {s for s in settings.threshold_strategies if parse_strategy(s)[1] == "peer"}
    if thresholds and peers:
        raise ConfigError(
            f"peers {sorted(peers)} have no threshold acquisition; run them for the optimum only"
        )

    if data.truth is not None:  # noisy answers: found is judged on the noise-free E_b
        target = {cid: data.truth[cid] for cid in target}
    best = min(target.values())
    optimum = {k: v for k, v in target.items() if v <= best + settings.optimum_tol + 1e-9}
    taus: dict[str, float] = {}
    for tau in settings.taus if thresholds else ():
        if tau == "matched":
            taus[f"matched ({settings.matched_count})"] = _matched_tau(
                list(target.values()), settings.matched_count
            )
        else:
            taus[f"{float(tau):g} eV"] = float(tau)
    below = {name: sorted(k for k, v in target.items() if v < tau) for name, tau in taus.items()}
    ctx = _Context(
        settings=settings,
        values=dict(data.values),
        source=source,
        optimum=frozenset(optimum),
        below={k: frozenset(v) for k, v in below.items()},
        failed=failed,
    )
    tasks: list[_Task] = []
    if "optimum" in figures:
        tasks += [
            _Task("optimum", name, i, settings.base_seed + i, settings.horizon)
            for name in settings.strategies
            for i in range(settings.trials)
        ]
    plans = {
        "threshold": (
            settings.threshold_strategies,
            settings.threshold_trials,
            settings.threshold_horizon,
        ),
        "stopping": (  # random has no posterior, so no stopping rule
            tuple(n for n in settings.threshold_strategies if parse_strategy(n)[0] != "random"),
            settings.stopping_trials,
            settings.stopping_horizon,
        ),
    }
    for figure in sorted(figures & set(plans)):
        names, n_trials, horizon = plans[figure]
        for tau_name, tau in taus.items():
            if not below[tau_name]:
                logger.warning("no %s result below %s: skipping it", settings.carrier, tau_name)
                continue
            tasks += [
                _Task(figure, name, i, settings.base_seed + i, horizon, tau, tau_name)
                for name in names
                for i in range(n_trials)
            ]
    results = _run_tasks(ctx, tasks, max(1, int(settings.jobs)), on_progress)
    results.sort(key=lambda r: (r.figure, r.tau_name, r.strategy, r.trial))
    run = BenchmarkRun(
        settings=settings,
        data=data,
        optimum=optimum,
        taus=taus,
        below=below,
        results=results,
        wall_seconds=time.perf_counter() - started,
        n_pool=len(target),
        n_failed=len(failed),
        n_source=len(source),
        command=command,
    )
    if out is not None:
        run.files = write_outputs(run, Path(out))
    return run
