"""Where the GP put a target composition in the panel trials that never found a target.

For every trial of a strategy in ``RUN/PROBLEM/traces.csv.gz`` that had not evaluated any of
``--found-by`` by ``t`` (default: Na-Gd-S-O and Na-Ca-Se-F, the two compositions within 10 meV
of the CHGNet Na optimum), the decision at ``t`` is replayed with the trial's own history
(``decide`` with the trial's seed and the strategy's variant settings) and one line is printed:
the trial's best result, the best EI of the decision (meV), and the posterior mean, standard
deviation, EI and EI rank (among the compositions not yet evaluated) of each ``--target``.
It tells a stalled acquisition (every EI tiny: a stall guard would help) from a confidently
wrong model (the target's EI ranked low: no acquisition rule reaches it).

Run::

    python benchmarks/missed_target_posterior.py benchmarks/results/panel-element abo
    python benchmarks/missed_target_posterior.py benchmarks/results/panel-element abo@element
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from trial_replay import fitted_models, split_history, trial_steps

from bo_agent.benchmark.settings import strategy_overrides
from bo_agent.config import CampaignConfig
from bo_agent.decide.acquisition import AcquisitionContext, expected_improvement
from bo_agent.decide.strategy import build_pool, decide
from workflows.space.compositions import default_space

TARGETS = ("Na-Gd-S-O", "Na-Ca-Se-F")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="panel output directory")
    parser.add_argument("strategy", help="strategy whose trials to replay (e.g. abo@element)")
    parser.add_argument("--problem", default="chgnet-na")
    parser.add_argument("--t", type=int, default=49, help="decision to replay (default 49)")
    parser.add_argument("--found-by", nargs="+", default=list(TARGETS))
    parser.add_argument("--target", nargs="+", default=list(TARGETS))
    args = parser.parse_args()

    settings = strategy_overrides(args.strategy)
    groups = settings.pop("groups", "kind")
    pool = build_pool(default_space(), "Na", groups)
    with fitted_models() as seen:
        for trial, steps in trial_steps(args.run, args.problem, args.strategy).items():
            history = steps[: args.t]
            if any(c in args.found_by for _, c, _ in history):
                continue
            obs, bad = split_history(history)
            cfg = CampaignConfig(
                model=args.strategy.split("@")[0], seed=trial, groups=groups, **settings
            )
            decide(pool, cfg, obs, failed=bad, untrusted=bad, seq=args.t)
            post = seen["model"].pool_posterior(pool.X)
            context = AcquisitionContext(best_f=min(obs.values()), xi=seen["xi"])
            ei = expected_improvement(post.mean, post.std, context)
            ei[pool.rows([*obs, *bad])] = -np.inf
            order = np.argsort(-ei)
            best = min(obs, key=obs.__getitem__)
            parts = []
            for cid in args.target:
                row = pool.ids.index(cid)
                if cid in obs:
                    parts.append(f"{cid} seen")
                    continue
                rank = int(np.flatnonzero(order == row)[0]) + 1
                parts.append(
                    f"{cid} {post.mean[row]:.3f} ± {post.std[row]:.3f} eV, EI "
                    f"{1000 * ei[row]:.2f} meV (rank {rank})"
                )
            print(
                f"trial {trial}: best {best} {obs[best]:.3f} eV, best EI "
                f"{1000 * ei.max():.2f} meV, {len(bad)} failed | " + "; ".join(parts)
            )


if __name__ == "__main__":
    main()
