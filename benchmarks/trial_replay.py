"""Shared by the scripts that replay a panel trial's decision to read its posterior.

``exact_optimum_posterior.py`` and ``missed_target_posterior.py`` both read a panel run's
traces per trial and replay ``decide`` on a trial's own history, keeping the model it fitted.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bo_agent.decide import strategy

Step = tuple[int, str, str]  # (t, composition, E_b as recorded: "" for a failed evaluation)


def trial_steps(run: Path, problem: str, strategy_name: str) -> dict[int, list[Step]]:
    """The Fig.-2 steps of each trial of ``strategy_name`` in ``run/problem``, in order of t."""
    traces: dict[int, list[Step]] = collections.defaultdict(list)
    with gzip.open(run / problem / "traces.csv.gz", "rt") as fh:
        for r in csv.DictReader(fh):
            if r["strategy"] == strategy_name and r["figure"] == "optimum":
                traces[int(r["trial"])].append((int(r["t"]), r["candidate_id"], r["e_b"]))
    return {trial: sorted(steps) for trial, steps in sorted(traces.items())}


def split_history(steps: list[Step]) -> tuple[dict[str, float], list[str]]:
    """Trusted results (E_b by composition) and the compositions that failed."""
    return {c: float(e) for _, c, e in steps if e}, [c for _, c, e in steps if not e]


@contextlib.contextmanager
def fitted_models() -> Iterator[dict[str, Any]]:
    """While open, each ``decide`` leaves its fitted ``model`` and EI margin ``xi`` here."""
    seen: dict[str, Any] = {}
    propose = strategy.propose

    def keep_model(model: Any, *a: Any, **kw: Any) -> Any:
        seen.update(model=model, xi=kw.get("xi", 0.0))
        return propose(model, *a, **kw)

    strategy.propose = keep_model
    try:
        yield seen
    finally:
        strategy.propose = propose
