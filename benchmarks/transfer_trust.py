"""Paired trials of how a transfer campaign judges its source (docs/benchmarks.md, "Transfer
that knows when to trust the source").

Runs ``model: auto`` with a transfer source (strategy ``auto+gp``) on panel problems with a
source, once per trust variant (settings of :mod:`bo_agent.decide.selection`), with the panel's
settings and paired seeds (trial i: seed i), in this process, and writes one JSON per
(problem, variant): each trial's evaluations to the problem's optimum (``hits``), the CPU s
per trial and each decision's strategy (``auto:abo+gp`` while the source is kept). A file that
exists is not rerun. Prints one line per (problem, variant) and, with ``--against``, the paired
difference of P(found) at t = 20 and t = 50 against another variant or a stored panel strategy.

Run::

    python benchmarks/transfer_trust.py OUT TRIALS PROBLEMS VARIANTS

    # the fixed Spearman gate, and the source's signal share with a fallback that learns from
    # untrusted results, on the four problems with a CHGNet source
    python benchmarks/transfer_trust.py benchmarks/results/transfer-trust 50 \\
        chgnet-na,chgnet-na-unrelated,chgnet-li,bvse-na \\
        gate:fixed:0:0,share:fixed:0.5:1

``VARIANTS`` is a comma-separated list of
``name:test:min_signal_share:fallback_imputes[:z[:prove_after[:picks]]]``
(test ``fixed``, ``bound`` or
``none``: never judged by the target results; ``z``: the standard-normal quantile of the bound,
default 1.2816; ``prove_after``: from this many results on, ``bound`` keeps the source only when
the lower bound of the correlation is above 0; 0: never; ``picks`` 1: only the results the
model picked judge the source, not the random initial ones).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import bo_agent.decide.selection as selection
from bo_agent.benchmark.metrics import hit_times
from bo_agent.benchmark.panel.problems import PANEL, load_problem
from bo_agent.benchmark.panel.run import panel_settings
from bo_agent.benchmark.run import run_benchmark


def _summary(hits: np.ndarray) -> str:
    return f"P20 {np.mean(hits <= 20):.2f} P50 {np.mean(hits <= 50):.2f} median {np.median(hits)}"


def _configure(
    test: str,
    share: str,
    imputes: str,
    z: str = "1.2816",
    prove_after: str = "0",
    picks: str = "0",
) -> None:
    selection.TRUST_TEST = "fixed" if test == "none" else test
    selection.TRUST_Z = float(z)
    selection.TRUST_PROVE_AFTER = int(prove_after) or None
    selection.TRUST_ON_PICKS = picks == "1"
    selection.TRUST_MIN_RESULTS = 10**6 if test == "none" else 3
    selection.TRUST_MIN_SIGNAL_SHARE = float(share)
    selection.FALLBACK_IMPUTES = imputes == "1"


def main() -> None:
    """Parse the arguments and run every (problem, variant)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("trials", type=int)
    parser.add_argument("problems", help="comma-separated panel problem names")
    parser.add_argument("variants", help="comma-separated name:test:share:imputes[:z[:prove]]")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    problems = {p.name: p for p in PANEL}
    for name in args.problems.split(","):
        problem = problems[name]
        data, source = load_problem(problem)
        for variant in args.variants.split(","):
            label, *knobs = variant.split(":")
            path = args.out / f"{name}__{label}.json"
            if path.exists():
                continue
            _configure(*knobs)
            settings = panel_settings(problem, trials=args.trials, jobs=1, strategies=["auto+gp"])
            started = time.time()
            run = run_benchmark(settings, data, None, source_data=source)
            trials = sorted(run.results, key=lambda r: r.trial)
            hits = hit_times([r.ids for r in trials], run.optimum)
            steps = [r.steps for r in trials]
            kept = sum(s == "auto:abo+gp" for t in steps for s in t)
            gp = sum(s.startswith("auto:") for t in steps for s in t)
            record = {
                "variant": variant,
                "hits": hits.tolist(),
                "cpu": float(np.mean([r.cpu_seconds for r in trials])),
                "steps": steps,
                "failed": [sum(e is None for e in r.e_b) for r in trials],
                "evaluations": [len(r.ids) for r in trials],
            }
            path.write_text(json.dumps(record))
            print(
                f"{name} {label}: {_summary(hits)} | source kept in {kept}/{gp} GP decisions | "
                f"{record['cpu']:.1f} CPU s/trial, {time.time() - started:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
