"""Running trials: one offline replay per (strategy, seed), in worker processes.

A trial is :func:`bo_agent.benchmark.replay.replay` (the live agent's ``decide()``) or, for a peer
BO code, :func:`bo_agent.benchmark.peers.run_peer`, answered from the data set and stopped once its
curve can no longer change (a ``stopping`` trial instead runs until the threshold goal's stopping
rule or its budget ends it). :func:`_run_tasks` runs a list of :class:`_Task` (longest first) in a
process pool whose workers get the shared :class:`_Context` (pools and data) once, through
:func:`_init_worker`. The worker functions live at module level so they pickle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from bo_agent.benchmark.results import TrialResult
from bo_agent.benchmark.settings import (
    BenchmarkSettings,
    parse_strategy,
    strategy_overrides,
    trusted_pool,
)
from bo_agent.config import CampaignConfig
from bo_agent.decide.strategy import Pool, build_pool

#: CPU seconds of a 60-evaluation trial, measured (the long trials are started first).
_COST = {
    "random": 0.01,
    "obo": 1.5,
    "abo": 3.6,
    "auto": 5.0,
    "auto+gp": 6.0,
    "obo+multitask": 6.5,
    "abo+multitask": 43.0,
}


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
class _Context:
    """What every worker needs: pools (plain and with source descriptors) and the data."""

    settings: BenchmarkSettings
    values: dict[str, float]
    source: dict[str, float]
    optimum: frozenset[str]
    below: dict[str, frozenset[str]]
    failed: frozenset[str] = frozenset()  # in the pool, answered as failed evaluations
    pools: dict[tuple[bool, str], Pool] = field(default_factory=dict)

    def pool(self, transfer: bool, trusted: bool = False, groups: str | None = None) -> Pool:
        """The pool a strategy searches; ``trusted``: without ``failed`` (``@trusted-pool``).

        ``groups`` (default: the settings') is the kernel grouping, which may add columns.
        """
        groups = groups or self.settings.groups
        if trusted:
            return _restrict(self.pool(transfer, groups=groups), self.values)
        key = (transfer, groups)
        if key not in self.pools:
            from workflows.space.compositions import load_space

            space = load_space(self.settings.space)
            full = build_pool(
                space,
                self.settings.carrier,
                groups,
                source_carrier=self.settings.source_carrier if transfer else None,
            )
            self.pools[key] = _restrict(full, {*self.values, *self.failed})
        return self.pools[key]


def _restrict(pool: Pool, known: Collection[str]) -> Pool:
    """The pool rows in ``known`` (features unchanged: standardised over the space)."""
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
    from bo_agent.benchmark.replay import replay

    assert _CTX is not None
    ctx, s = _CTX, _CTX.settings
    model, transfer = parse_strategy(task.strategy)
    stopping = task.figure == "stopping"
    threshold = task.figure == "threshold" or stopping
    targets = ctx.below[task.tau_name] if threshold else ctx.optimum
    start = time.process_time()
    if transfer == "peer":
        from bo_agent.benchmark.peers import run_peer

        pool = ctx.pool(False, trusted_pool(task.strategy))
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
        overrides = strategy_overrides(task.strategy)
        groups = overrides.pop("groups", s.groups)
        pool = ctx.pool(transfer != "none", trusted_pool(task.strategy), groups)
        variant: dict[str, Any] = {
            "incumbent": s.incumbent,
            "stall_guard": s.stall_guard,
            "failed_value": s.failed_value,
            "length_scales": s.length_scales,
            "hyperprior": s.hyperprior,
            "xi": CampaignConfig.model_fields["xi"].default,
            "n_initial": s.n_initial,
        }
        variant.update(overrides)
        config = CampaignConfig(
            **variant,
            name=f"benchmark-{task.strategy}-{task.seed}",
            carrier=s.carrier,
            engine="table",
            model=model,  # type: ignore[arg-type]
            kernel=s.kernel,  # type: ignore[arg-type]
            target_transform=s.target_transform,  # type: ignore[arg-type]
            groups=groups,  # type: ignore[arg-type]
            transfer=transfer,  # type: ignore[arg-type]
            source_campaign="source" if transfer != "none" else None,
            acquisition=s.acquisition,  # type: ignore[arg-type]
            goal="threshold" if threshold else "minimum",
            tau=task.tau if threshold and task.tau is not None else 0.3,
            # Fig. 3 never stops early (curves run to the horizon); "stopping" judges the rule
            stop_undiscovered=s.stop_undiscovered if stopping else 0.0,
            stop_patience=s.stop_patience,
            budget=task.horizon,
            max_pending=s.q,
            seed=task.seed,
        )
        trace = replay(
            pool,
            config,
            ctx.values,
            source_observations=ctx.source if transfer != "none" else None,
            until_any=() if threshold else targets,
            until_all=targets if threshold and not stopping else (),
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
    return _COST.get(task.strategy, 30.0 if parse_strategy(task.strategy)[1] == "peer" else 0.8)


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
