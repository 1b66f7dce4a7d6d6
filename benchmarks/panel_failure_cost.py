"""What failed evaluations cost a strategy on a panel problem (docs/benchmarks.md, "Peers like
for like").

For each ``RUN_DIR:STRATEGY`` (a problem directory of ``tavbo benchmark --panel`` or
``benchmarks/panel_variant.py``) prints P(found by t = 20), the median evaluations to the
optimum, the failed evaluations before it, and the evaluations that returned an E_b before it
(median and P(<= 20)). If the latter match the same strategy's hit times on the trusted pool, the
failures only cost evaluations; if they are larger, the failures also slowed the model down.

Run::

    python benchmarks/panel_failure_cost.py \\
        benchmarks/results/panel/chgnet-li:abo benchmarks/results/panel/chgnet-li:abo@keep \\
        benchmarks/results/panel-trusted-abo/chgnet-li:abo \\
        benchmarks/results/panel-peers/chgnet-li:baybe
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bo_agent.benchmark.metrics import hit_times
from bo_agent.benchmark.outputs import read_outputs


def main() -> None:
    """Print one line per ``RUN_DIR:STRATEGY``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR:STRATEGY")
    args = parser.parse_args()
    print("| run | strategy | P(t=20) | median evals to the optimum | failed before it (mean) "
          "| evals with an E_b before it: median, P(<= 20) |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for item in args.runs:
        where, _, strategy = item.rpartition(":")
        if not where:
            parser.error(f"{item!r}: expected RUN_DIR:STRATEGY")
        run = read_outputs(Path(where))
        trials = sorted((r for r in run.results if r.strategy == strategy), key=lambda r: r.trial)
        if not trials:
            parser.error(f"{where} has no trials of {strategy!r}")
        hits = hit_times([r.ids for r in trials], run.optimum)
        seen = [r.e_b[: int(min(h, len(r.ids)))] for r, h in zip(trials, hits, strict=True)]
        failed = np.array([sum(e is None for e in e_b) for e_b in seen])
        good = np.where(np.isfinite(hits), hits - failed, np.inf)
        print(
            f"| {where} | {strategy} | {np.mean(hits <= 20):.2f} | {np.median(hits):g} "
            f"| {failed.mean():.1f} | {np.median(good):g}, {np.mean(good <= 20):.2f} |"
        )


if __name__ == "__main__":
    main()
