"""The records a benchmark produces: one :class:`TrialResult` per trial, one :class:`BenchmarkRun`.

Plain dataclasses with no behaviour. The trial runner (:mod:`.trials`) fills them and the
reporting modules (:mod:`.tables`, :mod:`.plots`, :mod:`.outputs`) only read them, so the
reporting side never depends on how trials are run. A :class:`TrialResult` crosses the process
boundary, so it must stay picklable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bo_agent.benchmark.data import BenchmarkData
from bo_agent.benchmark.settings import BenchmarkSettings

__all__ = ["BenchmarkRun", "TrialResult"]


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
    n_failed: int = 0  # target compositions in the pool whose evaluation fails (unconverged)
    n_source: int = 0
    files: dict[str, Path] = field(default_factory=dict)
    command: str = ""
