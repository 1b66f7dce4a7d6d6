"""How much of the Fig. 3 goal (recall >= 0.9 at t = 50) the descriptors allow: a hindsight bound.

For each of the lowest ``--matched`` trusted Na compositions (the matched threshold), a GP is
fitted on *every other* trusted result (leave-one-out, closed form) and the compositions are
ranked by that prediction; the recall of the top ``k`` is what a search would reach if after its
random starts it already knew all the other results, which no campaign does. With ``--pool
full`` the compositions whose evaluation fails (untrusted in the data set) stay in the ranking,
predicted by the GP of all trusted results, and cost a place when ranked high, as they cost an
evaluation in a campaign. Prints one line per model and k.

Usage::

    python benchmarks/fig3_ceiling.py --data chgnet --carrier Na
"""

from __future__ import annotations

import argparse

import numpy as np

from bo_agent.benchmark.data import load_benchmark_data
from bo_agent.decide.strategy import build_pool
from bo_agent.gp.evidence import loo_residuals
from bo_agent.gp.models import GPModel
from workflows.space.compositions import default_space


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="chgnet")
    parser.add_argument("--carrier", default="Na")
    parser.add_argument("--matched", type=int, default=17)
    parser.add_argument("--k", type=int, nargs="*", default=[17, 30, 45])
    args = parser.parse_args()

    data = load_benchmark_data(args.data)
    pool = build_pool(default_space(), args.carrier, "kind")
    ids = np.array(pool.ids)
    ok = np.array([i in data.values and i not in data.failed for i in ids])
    y = np.array([data.values[i] for i in ids[ok]])
    lowest = np.sort(y)
    tau = 0.5 * (lowest[args.matched - 1] + lowest[args.matched])
    targets = set(ids[ok][y < tau])
    print(
        f"{args.data} {args.carrier}: {ok.sum()} trusted of {len(ids)}, matched tau "
        f"{tau:.3f} eV, {len(targets)} targets"
    )
    for kind, prior in (("additive", "gamma"), ("ordinary", "gamma"), ("additive", "none")):
        gp = GPModel(
            kind,
            groups=pool.groups if kind == "additive" else None,
            hyperprior=prior,
            n_restarts=2,
            random_state=0,
        ).fit(pool.X[ok], y)
        err, _ = loo_residuals(gp)
        loo = (gp.z_train_ - err) * gp.y_scale_ + gp.y_offset_  # eV, each without itself
        full = np.empty(len(ids))
        full[ok] = loo
        full[~ok] = gp.predict(pool.X[~ok])
        for k in args.k:
            trusted_top = set(ids[ok][np.argsort(loo)[:k]])
            full_top = set(ids[np.argsort(full)[:k]])
            n_failing = len(full_top - set(ids[ok]))
            trusted_recall = len(trusted_top & targets) / len(targets)
            full_recall = len(full_top & targets) / len(targets)
            print(
                f"  {kind:8s} hyperprior {prior:5s} top {k:3d}: recall {trusted_recall:.2f}"
                f" (trusted pool), {full_recall:.2f} (full pool, {n_failing} failing among them)"
            )


if __name__ == "__main__":
    main()
