"""What the GP believed about the exact Na optimum in the panel trials that missed it.

For every trial of a strategy in a panel run's ``chgnet-na-exact/traces.csv.gz`` that had not
evaluated the optimum by ``t``, the campaign's decision at ``t`` is replayed with the trial's own
history (``decide`` with the trial's seed, trusted results as observations, untrusted ones as
untrusted) and the posterior at the optimum is read: its mean, standard deviation and the
z-score of the true E_b. Printed per group of trials by how many of the two high-barrier
large-M S-O frameworks next to it (Na-Nd-S-O, Na-La-S-O) the history holds. ``--failed-value``
and ``--hyperprior`` replay the same histories under another setting (the picks stay those of
the run's strategy).

Run::

    python benchmarks/exact_optimum_posterior.py benchmarks/results/panel-classify/na abo
    python benchmarks/exact_optimum_posterior.py RUN abo --failed-value none
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from trial_replay import fitted_models, split_history, trial_steps

from bo_agent.benchmark.data import load_benchmark_data
from bo_agent.config import CampaignConfig
from bo_agent.decide.strategy import build_pool, decide
from workflows.space.compositions import default_space

OPTIMUM = "Na-Gd-S-O"
CLIFF = ("Na-Nd-S-O", "Na-La-S-O")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="panel output directory")
    parser.add_argument("strategy", help="strategy whose trials to replay (e.g. abo)")
    parser.add_argument("--t", type=int, default=49, help="decision to replay (default 49)")
    parser.add_argument("--failed-value", default="auto")
    parser.add_argument("--hyperprior", default="auto")
    args = parser.parse_args()

    pool = build_pool(default_space(), "Na")
    row = pool.ids.index(OPTIMUM)
    truth = load_benchmark_data("chgnet").values[OPTIMUM]  # the panel's CHGNet Na answer
    rows = []
    with fitted_models() as fitted:
        for trial, steps in trial_steps(args.run, "chgnet-na-exact", args.strategy).items():
            history = steps[: args.t]
            if any(c == OPTIMUM for _, c, _ in history):
                continue
            obs, bad = split_history(history)
            cfg = CampaignConfig(
                model=args.strategy.split("@")[0],
                seed=trial,
                failed_value=args.failed_value,
                hyperprior=args.hyperprior,
            )
            decide(pool, cfg, obs, failed=bad, untrusted=bad, seq=args.t)
            post = fitted["model"].pool_posterior(pool.X)
            mu, sd = float(post.mean[row]), float(post.std[row])
            rows.append((mu, sd, (mu - truth) / sd, sum(c in obs for c in CLIFF)))
    r = np.array(rows)
    print(
        f"{args.run} {args.strategy} at t = {args.t} (failed_value {args.failed_value}, "
        f"hyperprior {args.hyperprior}): {len(r)} trials had not found {OPTIMUM} ({truth:.3f} eV)"
    )
    print(
        f"posterior at the optimum: mean {np.median(r[:, 0]):.3f} eV, sd {np.median(r[:, 1]):.3f}"
        f" eV (medians); the truth lies {np.median(r[:, 2]):.1f} sd below the mean (median), "
        f"more than 2 sd below in {np.mean(r[:, 2] > 2):.2f} of them"
    )
    for n in (0, 1, 2):
        sel = r[:, 3] == n
        if sel.any():
            print(
                f"  {n} of {', '.join(CLIFF)} in the history: {sel.sum()} trials, mean "
                f"{r[sel, 0].mean():.3f} eV, z {r[sel, 2].mean():.1f}"
            )


if __name__ == "__main__":
    main()
