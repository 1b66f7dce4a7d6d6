"""Benchmarks of the search strategies on a fully known data set: the report's Fig. 2 and 3.

Each trial is an offline replay (:func:`bo_agent.replay.replay`, the live agent's decisions) of
one strategy with one seed on the target-carrier pool (Na by default), answered from the data
set. Trial ``i`` uses seed ``base_seed + i`` for every strategy, so all strategies start from
the same ``n_initial`` random compositions (paired comparison). Transfer strategies see every
source-carrier (Li) result of the data set, as if a Li campaign had finished.

- Fig. 2 analogue ("optimum"): P(optimum found within t evaluations), over ``trials`` trials of
  sequential BO (EI by default), and the median number of evaluations to the optimum.
- Fig. 3 analogue ("threshold"): mean number and fraction (recall) of compositions with
  E_b < tau found within t evaluations, with ``goal="threshold"`` (acquisition ``below``, the
  stopping rule off so every trial runs to the horizon), for tau = 0.3 eV and for the
  data-set-matched tau (between the 17th and 18th lowest target E_b, so exactly 17 lie below).

A trial stops early once its curve can no longer change (optimum found; every composition below
tau found): the decisions of a replay never depend on later evaluations, so the curves are those
of full-length trials. :func:`run_benchmark` runs the trials in worker processes and writes the
curves (CSV), every trace (CSV), a markdown summary and PNG figures (:func:`write_outputs`).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bo_agent.config import CampaignConfig
from bo_agent.strategy import Pool, build_pool
from workflows.errors import ConfigError

__all__ = [
    "ALL_STRATEGIES",
    "PEERS",
    "THRESHOLD_STRATEGIES",
    "BenchmarkData",
    "BenchmarkRun",
    "BenchmarkSettings",
    "TrialResult",
    "found_curve",
    "hit_times",
    "load_benchmark_data",
    "median_evaluations",
    "optimum_curves",
    "p_found_curve",
    "parse_strategy",
    "reference_path",
    "run_benchmark",
    "strategy_label",
    "summary_markdown",
    "summary_rows",
    "summary_table",
    "synthetic_data",
    "threshold_curves",
    "write_outputs",
]

logger = logging.getLogger(__name__)

#: Every strategy of the report and of tavbo: random, oBO, aBO, each GP with each transfer.
ALL_STRATEGIES: tuple[str, ...] = (
    "random",
    "obo",
    "abo",
    "obo+hp",
    "abo+hp",
    "obo+gp",
    "abo+gp",
    "obo+multitask",
    "abo+multitask",
)
#: Strategies of the threshold benchmark by default (the report's Fig. 3).
THRESHOLD_STRATEGIES: tuple[str, ...] = ("random", "obo", "abo")
#: Other BO codes (optional; :mod:`bo_agent.peers`).
PEERS: tuple[str, ...] = ("physbo", "baybe")
#: Reference data sets shipped with tavbo (``tavbo screen --engine NAME --export ...``).
REFERENCE_DATA = ("chgnet", "bvse")
#: CPU seconds of a 60-evaluation trial, measured (the long trials are started first).
_COST = {"random": 0.01, "obo": 1.5, "abo": 3.6, "obo+multitask": 6.5, "abo+multitask": 43.0}


# ------------------------------------------------------------------------------- metrics


def hit_times(traces: Sequence[Sequence[str]], targets: Iterable[str]) -> np.ndarray:
    """Evaluation number (1-based) at which each trace first evaluates one of ``targets``.

    Parameters
    ----------
    traces : sequence of sequence of str
        Candidate IDs of each trial in evaluation order.
    targets : iterable of str
        For example the ID(s) of the optimum (several if tied).

    Returns
    -------
    ndarray of float, shape (n_trials,)
        ``inf`` for a trace that never evaluates a target.

    Examples
    --------
    >>> hit_times([["a", "b", "c"], ["c", "d"]], {"b"}).tolist()
    [2.0, inf]
    """
    wanted = set(targets)
    out = np.full(len(traces), math.inf)
    for k, ids in enumerate(traces):
        for t, cid in enumerate(ids, start=1):
            if cid in wanted:
                out[k] = t
                break
    return out


def p_found_curve(hits: Sequence[float] | np.ndarray, horizon: int) -> np.ndarray:
    """P(found within t evaluations) for t = 1..horizon, from :func:`hit_times`.

    Returns
    -------
    ndarray of shape (horizon,)
        Entry ``t - 1`` is the fraction of trials with a hit time <= t.

    Examples
    --------
    >>> p_found_curve([2, 3, float("inf"), 3], 4).tolist()
    [0.0, 0.25, 0.75, 0.75]
    """
    h = np.asarray(hits, dtype=float)
    if h.size == 0:
        return np.full(horizon, math.nan)
    t = np.arange(1, horizon + 1)
    return (h[None, :] <= t[:, None]).mean(axis=1)


def median_evaluations(hits: Sequence[float] | np.ndarray) -> float:
    """Median number of evaluations to the target (``inf`` when at least half never hit it).

    Trials that never found the target count as ``inf`` (they were stopped at the horizon), so
    the median is exact as long as more than half of the trials found it.

    Examples
    --------
    >>> median_evaluations([3, 5, 7, float("inf")])
    6.0
    >>> median_evaluations([3, float("inf"), float("inf")])
    inf
    """
    h = np.sort(np.asarray(hits, dtype=float))
    if h.size == 0:
        return math.nan
    mid = h.size // 2
    if h.size % 2:
        return float(h[mid])
    lo, hi = h[mid - 1], h[mid]
    return math.inf if math.isinf(hi) else float((lo + hi) / 2)


def found_curve(
    traces: Sequence[Sequence[str]], targets: Iterable[str], horizon: int
) -> np.ndarray:
    """Number of ``targets`` found within t evaluations, t = 1..horizon, per trace.

    A trace shorter than ``horizon`` (stopped early once its count could no longer change) keeps
    its last count.

    Returns
    -------
    ndarray of shape (n_trials, horizon)
        Mean over axis 0 is the Fig.-3 curve; divided by ``len(targets)``, the recall.

    Examples
    --------
    >>> found_curve([["a", "x", "b"], ["x"]], {"a", "b"}, 4).tolist()
    [[1.0, 1.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0]]
    """
    wanted = set(targets)
    out = np.zeros((len(traces), horizon))
    for k, ids in enumerate(traces):
        hits = np.array([cid in wanted for cid in ids[:horizon]], dtype=float)
        counts = np.cumsum(hits) if hits.size else np.zeros(1)
        out[k, : hits.size] = counts[: hits.size]
        out[k, hits.size :] = counts[-1]
    return out


# ---------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class BenchmarkData:
    """A fully known data set: E_b (eV) by candidate ID, and where it came from."""

    values: dict[str, float]
    source: str

    def carrier(self, carrier: str) -> dict[str, float]:
        """The entries of one carrier (IDs start with ``"<carrier>-"``)."""
        return {k: v for k, v in self.values.items() if k.split("-", 1)[0] == carrier}


def synthetic_data(seed: int = 2024) -> BenchmarkData:
    """A rugged synthetic data set over the default space (harness checks and demos, not physics).

    The smooth landscape of ``tests/bo_agent/conftest.py`` (linear in the M radius and the X
    electronegativity, quadratic in the Z radius, +0.25 eV for Na) plus a random term per
    framework M-X-Z shared by the Li and Na analogue (sd 0.10 eV: Li results are informative),
    a random term per composition (sd 0.03 eV) and -0.35 eV for Na; floored at 0.02 eV. With the
    default seed, 17 Na compositions lie below 0.3 eV.
    """
    from bo_agent.descriptors import compute_descriptors, standardise
    from workflows.composition_space import default_space

    table = standardise(compute_descriptors(default_space()))
    col = {n: i for i, n in enumerate(table.names)}
    v = table.values
    na = np.asarray([i.startswith("Na") for i in table.ids], dtype=float)
    smooth = (
        0.55
        + 0.12 * v[:, col["M_radius"]]
        - 0.08 * v[:, col["X_electronegativity"]]
        + 0.05 * v[:, col["Z_radius"]] ** 2
        + 0.25 * na
    )
    base = {cid: round(float(x), 4) for cid, x in zip(table.ids, smooth, strict=True)}
    rng = np.random.default_rng(seed)
    frames = sorted({cid.split("-", 1)[1] for cid in base})
    shared = dict(zip(frames, rng.normal(0.0, 0.10, len(frames)), strict=True))
    values = {}
    for cid, e in sorted(base.items()):
        carrier, frame = cid.split("-", 1)
        e = e + shared[frame] + rng.normal(0.0, 0.03) - (0.35 if carrier == "Na" else 0.0)
        values[cid] = round(float(max(e, 0.02)), 4)
    return BenchmarkData(values=values, source=f"synthetic (seed {seed})")


def reference_path(name: str) -> Path:
    """Path of the packaged reference data set ``name`` (``chgnet`` or ``bvse``)."""
    import workflows.data

    return Path(workflows.data.__file__).parent / f"reference_{name}.json.gz"


def load_benchmark_data(spec: str | Path) -> BenchmarkData:
    """Read ``chgnet``/``bvse`` (packaged reference data) or any barrier table.

    Parameters
    ----------
    spec : str or Path
        ``"chgnet"``, ``"bvse"``, ``"synthetic"`` (:func:`synthetic_data`), or a CSV/JSON(.gz)
        table the ``table`` engine reads, such as a ``tavbo screen --export`` file.

    Raises
    ------
    ConfigError
        If the reference file has not been generated yet (the message says how), the file does
        not exist or cannot be parsed.
    """
    from workflows.engines.table import read_table

    if str(spec) == "synthetic":
        return synthetic_data()
    if str(spec) in REFERENCE_DATA:
        path = reference_path(str(spec))
        if not path.exists():
            raise ConfigError(
                f"reference data set {str(spec)!r} is not there yet ({path}); compute it with "
                f"`tavbo screen --engine {spec} --export {path}` (every composition, both "
                "carriers), or pass --data FILE"
            )
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            raise ConfigError(
                f"--data {spec}: no such file; expected one of {[*REFERENCE_DATA, 'synthetic']} "
                "or a CSV/JSON barrier table"
            )
    table = read_table(path)
    values = {cid: float(row["e_b"]) for cid, row in table.items() if row["e_b"] is not None}
    values = {k: v for k, v in values.items() if math.isfinite(v)}
    if not values:
        raise ConfigError(f"barrier table {path} holds no finite E_b")
    return BenchmarkData(values=values, source=str(path))


# ------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class BenchmarkSettings:
    """What to benchmark; every field has the report's default.

    Parameters
    ----------
    carrier, source_carrier : str, default="Na", "Li"
        Target pool, and the carrier whose results transfer strategies inherit.
    strategies : tuple of str
        Fig.-2 strategies: ``random``, ``obo``, ``abo``, ``<model>+<transfer>`` (transfer
        ``hp``, ``gp``, ``multitask``), and the peers ``physbo``, ``baybe``.
    threshold_strategies : tuple of str
        Fig.-3 strategies (same names).
    trials, threshold_trials : int, default=50, 1000
        Trials per strategy of the two figures.
    horizon, threshold_horizon : int, default=60
        Evaluations per trial (5 random ones included).
    taus : tuple of float or "matched"
        Thresholds of Fig. 3, eV; ``"matched"`` is the data-set-matched one.
    matched_count : int, default=17
        Compositions below the matched tau (the report's count for Na below 0.3 eV).
    acquisition : str, default="ei"
        Acquisition of the Fig.-2 runs (Fig. 3 uses ``below``).
    n_initial, q, groups, kernel
        As in :class:`~bo_agent.config.CampaignConfig` (q is ``max_pending``).
    base_seed : int, default=0
        Trial ``i`` uses seed ``base_seed + i``.
    jobs : int, default=1
        Worker processes.
    space : str or None
        Composition-space YAML (None: the packaged default).
    figures : tuple of {"optimum", "threshold"}
        Which benchmarks to run.
    """

    carrier: str = "Na"
    source_carrier: str = "Li"
    strategies: tuple[str, ...] = ALL_STRATEGIES
    threshold_strategies: tuple[str, ...] = THRESHOLD_STRATEGIES
    trials: int = 50
    threshold_trials: int = 1000
    horizon: int = 60
    threshold_horizon: int = 60
    taus: tuple[float | str, ...] = (0.3, "matched")
    matched_count: int = 17
    acquisition: str = "ei"
    n_initial: int = 5
    q: int = 1
    groups: str = "site"
    kernel: str = "matern52"
    base_seed: int = 0
    jobs: int = 1
    space: str | None = None
    figures: tuple[str, ...] = ("optimum", "threshold")

    @classmethod
    def quick(cls, **overrides: Any) -> BenchmarkSettings:
        """A smoke run of every code path in well under a minute (checks the harness only)."""
        base = cls(
            strategies=("random", "obo", "abo", "abo+hp", "obo+gp", "obo+multitask"),
            threshold_strategies=("random", "abo"),
            trials=2,
            threshold_trials=2,
            horizon=9,
            threshold_horizon=9,
        )
        return replace(base, **overrides)


def parse_strategy(name: str) -> tuple[str, str]:
    """``"abo+gp"`` -> ``("abo", "gp")``; peers -> ``(name, "peer")``.

    Raises
    ------
    ConfigError
        For an unknown model or transfer.
    """
    from bo_agent.config import MODELS, TRANSFERS

    if name in PEERS:
        return name, "peer"
    model, _, transfer = name.partition("+")
    transfer = transfer or "none"
    if (
        model not in MODELS
        or transfer not in TRANSFERS
        or (model == "random" and transfer != "none")
    ):
        allowed = [*ALL_STRATEGIES, *PEERS]
        raise ConfigError(f"unknown strategy {name!r}; expected one of {allowed}")
    return model, transfer


def strategy_label(name: str) -> str:
    """Display name in the report's notation: ``"abo+gp"`` -> ``"Li-GP aBO"``."""
    model, transfer = parse_strategy(name)
    if transfer == "peer":
        return {"physbo": "PHYSBO", "baybe": "BayBE"}[model]
    pretty = {"random": "random", "obo": "oBO", "abo": "aBO"}[model]
    prefix = {"none": "", "hp": "Li-hp ", "gp": "Li-GP ", "multitask": "Li-MT "}[transfer]
    return prefix + pretty


# -------------------------------------------------------------------------------- trials


@dataclass(frozen=True)
class _Task:
    figure: str
    strategy: str
    trial: int
    seed: int
    horizon: int
    tau: float | None = None
    tau_name: str = ""


@dataclass
class TrialResult:
    """One trial: its trace (IDs, E_b and step strategies in evaluation order) and its cost."""

    figure: str
    strategy: str
    trial: int
    seed: int
    tau: float | None
    tau_name: str
    ids: list[str]
    e_b: list[float | None]
    steps: list[str]
    cpu_seconds: float
    stop_reason: str | None = None


@dataclass
class _Context:
    """What every worker needs: pools (plain and with source descriptors) and the data."""

    settings: BenchmarkSettings
    values: dict[str, float]
    source: dict[str, float]
    optimum: frozenset[str]
    below: dict[str, frozenset[str]]
    pools: dict[bool, Pool] = field(default_factory=dict)

    def pool(self, transfer: bool) -> Pool:
        if transfer not in self.pools:
            from workflows.composition_space import load_space

            space = load_space(self.settings.space)
            full = build_pool(
                space,
                self.settings.carrier,
                self.settings.groups,
                source_carrier=self.settings.source_carrier if transfer else None,
            )
            self.pools[transfer] = _restrict(full, self.values)
        return self.pools[transfer]


def _restrict(pool: Pool, known: Mapping[str, float]) -> Pool:
    """The pool rows with a known E_b (features unchanged: standardised over the space)."""
    rows = [i for i, cid in enumerate(pool.ids) if cid in known]
    if len(rows) == len(pool.ids):
        return pool
    return Pool(
        ids=tuple(pool.ids[i] for i in rows),
        X=pool.X[rows],
        groups=pool.groups,
        source_ids=tuple(pool.source_ids[i] for i in rows) if pool.source_ids else (),
    )


_CTX: _Context | None = None


def _init_worker(ctx: _Context) -> None:
    """Worker-process initialiser: the context, and one BLAS thread (one process per core)."""
    global _CTX
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    _CTX = ctx


def _run_task(task: _Task) -> TrialResult:
    from bo_agent.replay import replay

    assert _CTX is not None
    ctx, s = _CTX, _CTX.settings
    model, transfer = parse_strategy(task.strategy)
    threshold = task.figure == "threshold"
    targets = ctx.below[task.tau_name] if threshold else ctx.optimum
    start = time.process_time()
    if transfer == "peer":
        from bo_agent.peers import run_peer

        pool = ctx.pool(False)
        trace = run_peer(
            model,
            pool,
            ctx.values,
            seed=task.seed,
            horizon=task.horizon,
            n_initial=s.n_initial,
            tau=task.tau if threshold else None,
            until_any=() if threshold else targets,
            until_all=targets if threshold else (),
        )
    else:
        pool = ctx.pool(transfer != "none")
        config = CampaignConfig(
            name=f"benchmark-{task.strategy}-{task.seed}",
            carrier=s.carrier,
            engine="table",
            model=model,  # type: ignore[arg-type]
            kernel=s.kernel,  # type: ignore[arg-type]
            groups=s.groups,  # type: ignore[arg-type]
            transfer=transfer,  # type: ignore[arg-type]
            source_campaign="source" if transfer != "none" else None,
            acquisition=s.acquisition,  # type: ignore[arg-type]
            goal="threshold" if threshold else "minimum",
            tau=task.tau if threshold and task.tau is not None else 0.3,
            stop_undiscovered=0.0,  # never stop early: curves run to the horizon
            budget=task.horizon,
            n_initial=s.n_initial,
            max_pending=s.q,
            seed=task.seed,
        )
        trace = replay(
            pool,
            config,
            ctx.values,
            source_observations=ctx.source if transfer != "none" else None,
            until_any=() if threshold else targets,
            until_all=targets if threshold else (),
        )
    return TrialResult(
        figure=task.figure,
        strategy=task.strategy,
        trial=task.trial,
        seed=task.seed,
        tau=task.tau,
        tau_name=task.tau_name,
        ids=trace.ids,
        e_b=trace.e_b,
        steps=trace.strategies,
        cpu_seconds=time.process_time() - start,
        stop_reason=trace.stop_reason,
    )


def _cost(task: _Task) -> float:
    return _COST.get(task.strategy, 30.0 if task.strategy in PEERS else 0.8)


def _run_tasks(
    ctx: _Context,
    tasks: list[_Task],
    jobs: int,
    on_progress: Callable[[int, int, str], None] | None,
) -> list[TrialResult]:
    """Run every task (the expensive ones first), in ``jobs`` processes when > 1."""
    tasks = sorted(tasks, key=_cost, reverse=True)
    results: list[TrialResult] = []

    def note(res: TrialResult) -> None:
        results.append(res)
        if on_progress is not None:
            on_progress(len(results), len(tasks), f"{res.strategy} #{res.trial}")

    if jobs <= 1:
        global _CTX
        from threadpoolctl import threadpool_limits

        _CTX = ctx
        with threadpool_limits(1):
            for task in tasks:
                note(_run_task(task))
        return results
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(ctx,)) as ex:
        futures = [ex.submit(_run_task, task) for task in tasks]
        for fut in as_completed(futures):
            note(fut.result())
    return results


# ------------------------------------------------------------------------------ the run


@dataclass
class BenchmarkRun:
    """Everything a benchmark produced (also written to ``out``)."""

    settings: BenchmarkSettings
    data: BenchmarkData
    optimum: dict[str, float]
    taus: dict[str, float]
    below: dict[str, list[str]]
    results: list[TrialResult]
    wall_seconds: float
    n_pool: int = 0
    n_source: int = 0
    files: dict[str, Path] = field(default_factory=dict)
    command: str = ""


def _matched_tau(values: Sequence[float], count: int) -> float:
    v = sorted(values)
    if len(v) <= count:
        raise ConfigError(
            f"the matched threshold needs more than {count} target results; the data set has "
            f"{len(v)}"
        )
    return 0.5 * (v[count - 1] + v[count])


def _check_strategies(names: Iterable[str], has_source: bool, source_carrier: str) -> None:
    for name in names:
        model, transfer = parse_strategy(name)
        if transfer == "peer":
            from bo_agent.peers import check_peer

            check_peer(model)
        elif transfer != "none" and not has_source:
            raise ConfigError(
                f"strategy {name!r} transfers from {source_carrier}, but the data set has no "
                f"{source_carrier} results; leave the transfer strategies out (--strategies)"
            )


def run_benchmark(
    settings: BenchmarkSettings,
    data: BenchmarkData,
    out: str | Path | None = None,
    *,
    on_progress: Callable[[int, int, str], None] | None = None,
    command: str = "",
) -> BenchmarkRun:
    """Run the configured benchmarks and (with ``out``) write their files.

    Parameters
    ----------
    settings : BenchmarkSettings
    data : BenchmarkData
        From :func:`load_benchmark_data`; target-carrier IDs without a result are left out of
        the pool.
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
    from workflows.composition_space import load_space

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
    source = {
        c.id: data.values[c.id]
        for c in space.filter(A=settings.source_carrier)
        if c.id in data.values
    }
    figures = set(settings.figures)
    unknown_fig = figures - {"optimum", "threshold"}
    if unknown_fig:
        raise ConfigError(f"unknown figures {sorted(unknown_fig)}; expected optimum, threshold")
    used = set(settings.strategies if "optimum" in figures else ())
    used |= set(settings.threshold_strategies if "threshold" in figures else ())
    _check_strategies(sorted(used), len(source) >= 2, settings.source_carrier)
    if "threshold" in figures and (peers := set(settings.threshold_strategies) & set(PEERS)):
        raise ConfigError(
            f"peers {sorted(peers)} have no threshold acquisition; run them for the optimum only"
        )

    best = min(target.values())
    optimum = {k: v for k, v in target.items() if v <= best + 1e-9}
    taus: dict[str, float] = {}
    for tau in settings.taus if "threshold" in figures else ():
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
    )
    tasks: list[_Task] = []
    if "optimum" in figures:
        tasks += [
            _Task("optimum", name, i, settings.base_seed + i, settings.horizon)
            for name in settings.strategies
            for i in range(settings.trials)
        ]
    if "threshold" in figures:
        for tau_name, tau in taus.items():
            if not below[tau_name]:
                logger.warning("no %s result below %s: skipping it", settings.carrier, tau_name)
                continue
            tasks += [
                _Task(
                    "threshold",
                    name,
                    i,
                    settings.base_seed + i,
                    settings.threshold_horizon,
                    tau,
                    tau_name,
                )
                for name in settings.threshold_strategies
                for i in range(settings.threshold_trials)
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
        n_source=len(source),
        command=command,
    )
    if out is not None:
        run.files = write_outputs(run, Path(out))
    return run


def default_jobs() -> int:
    """Worker processes by default: the usable cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover  (macOS)
        return max(1, os.cpu_count() or 1)


def settings_dict(settings: BenchmarkSettings) -> dict[str, Any]:
    """JSON-ready settings."""
    return asdict(settings)


# ------------------------------------------------------------------------------- outputs

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
                    "label": strategy_label(name),
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
                    "label": strategy_label(name),
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
        row: dict[str, Any] = {"strategy": name, "label": strategy_label(name)}
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


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]], gz: bool = False) -> Path:
    import csv
    import gzip
    import io

    buf = io.StringIO()
    if rows:
        fields = list(dict.fromkeys(k for row in rows for k in row))  # rows may differ in keys
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp = path.with_name(path.name + ".tmp")
    if gz:
        with gzip.open(tmp, "wt") as fh:
            fh.write(buf.getvalue())
    else:
        tmp.write_text(buf.getvalue())
    tmp.replace(path)
    return path


def _trace_rows(run: BenchmarkRun) -> list[dict[str, Any]]:
    return [
        {
            "figure": r.figure,
            "strategy": r.strategy,
            "tau_name": r.tau_name,
            "trial": r.trial,
            "seed": r.seed,
            "t": t,
            "candidate_id": cid,
            "e_b": e_b,
            "step": step,
        }
        for r in run.results
        for t, (cid, e_b, step) in enumerate(zip(r.ids, r.e_b, r.steps, strict=True), start=1)
    ]


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
        ),
        f"- optimum: {opt}",
    ]
    for tau_name, tau in run.taus.items():
        lines.append(
            f"- threshold {tau_name}: tau = {tau:.4f} eV, {len(run.below[tau_name])} "
            f"{s.carrier} compositions below it"
        )
    figures = {r.figure for r in run.results}
    n_trials = max(
        s.trials if "optimum" in figures else 0, s.threshold_trials if "threshold" in figures else 0
    )
    seeds = f"{s.base_seed}..{s.base_seed + max(n_trials, 1) - 1}"
    lines += [
        (
            f"- settings: {s.n_initial} random initial points, q = {s.q}, acquisition "
            f"{s.acquisition} (Fig. 2) / below (Fig. 3), kernel {s.kernel}, aBO groups by "
            f"{s.groups}; horizon {s.horizon} (Fig. 2), {s.threshold_horizon} (Fig. 3); "
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
    lines += summary_table(run).splitlines()
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


_COLOURS = {
    "random": "0.45",
    "obo": "tab:blue",
    "abo": "tab:red",
    "physbo": "tab:green",
    "baybe": "tab:purple",
}
_STYLES = {"none": "-", "hp": ":", "gp": "--", "multitask": "-.", "peer": "-"}


def _style(name: str) -> dict[str, Any]:
    model, transfer = parse_strategy(name)
    return {
        "color": _COLOURS[model],
        "linestyle": "--" if model == "random" else _STYLES[transfer],
        "label": strategy_label(name),
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
        ax.plot([r["t"] for r in sub], [r["p_found"] for r in sub], **_style(name))
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
            ax.plot([r["t"] for r in sub], [r["mean_found"] for r in sub], **_style(name))
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


def write_outputs(run: BenchmarkRun, out: Path) -> dict[str, Path]:
    """Write the curves, traces, summary, run record and figures into ``out``.

    Files: ``optimum_curves.csv``, ``threshold_curves.csv`` (when run), ``summary.csv``,
    ``traces.csv.gz`` (every evaluation of every trial), ``optimum.png``, ``threshold.png``,
    ``run.json`` (settings, seeds, data set, command, per-trial CPU seconds) and
    ``summary.md``.
    """
    import json

    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    figures = {r.figure for r in run.results}
    if "optimum" in figures:
        files["optimum_curves"] = _write_csv(out / "optimum_curves.csv", optimum_curves(run))
        files["optimum_plot"] = plot_optimum(run, out / "optimum.png")
    if "threshold" in figures:
        files["threshold_curves"] = _write_csv(out / "threshold_curves.csv", threshold_curves(run))
        files["threshold_plot"] = plot_threshold(run, out / "threshold.png")
    files["summary_csv"] = _write_csv(out / "summary.csv", summary_rows(run))
    files["traces"] = _write_csv(out / "traces.csv.gz", _trace_rows(run), gz=True)
    record = {
        "command": run.command,
        "settings": settings_dict(run.settings),
        "data": run.data.source,
        "optimum": run.optimum,
        "taus": run.taus,
        "below": run.below,
        "wall_seconds": run.wall_seconds,
        "trials": [
            {k: v for k, v in asdict(r).items() if k not in ("ids", "e_b", "steps")}
            for r in run.results
        ],
    }
    (out / "run.json").write_text(json.dumps(record, indent=1))
    files["run"] = out / "run.json"
    run.files = files
    (out / "summary.md").write_text(summary_markdown(run))
    files["summary"] = out / "summary.md"
    return files
