"""How well the default GP's predictive std matches its actual error, with few results.

For ``--reps`` random subsets of ``n`` trusted Na results of a reference data set, fit the
campaign's model (aBO, shared length scales, the given hyperprior) and predict the other
trusted Na compositions. Prints, per data set, hyperprior and n: the mean predicted std (eV),
the RMSE of the mean (eV), the fraction of errors within 2 predicted std (0.95 if calibrated)
and the mean log predictive density (higher is better).

    python benchmarks/gp_calibration.py --hyperprior gamma gamma-total --data bvse chgnet
"""

from __future__ import annotations

import argparse

import numpy as np

from bo_agent.benchmark.data import load_benchmark_data
from bo_agent.config import CampaignConfig
from bo_agent.decide.strategy import build_pool, make_model
from workflows.space.compositions import default_space


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", nargs="+", default=["bvse", "chgnet"])
    ap.add_argument("--hyperprior", nargs="+", default=["gamma", "gamma-total"])
    ap.add_argument("--n", nargs="+", type=int, default=[8, 15, 30])
    ap.add_argument("--reps", type=int, default=12)
    args = ap.parse_args()
    pool = build_pool(default_space(), "Na")
    print("data    hyperprior   n  y_sd  pred_sd  rmse  within_2sd  log_density")
    for spec in args.data:
        data = load_benchmark_data(spec)
        na = {k: v for k, v in data.carrier("Na").items() if k not in data.failed}
        ids = [i for i in pool.ids if i in na]
        rows = pool.rows(ids)
        y = np.array([na[i] for i in ids])
        for prior in args.hyperprior:
            config = CampaignConfig(model="abo", hyperprior=prior, seed=0)
            for n in args.n:
                sd, rmse, cover, lpd = [], [], [], []
                for rep in range(args.reps):
                    train = np.random.default_rng(rep).choice(len(ids), n, replace=False)
                    test = np.setdiff1d(np.arange(len(ids)), train)
                    model = make_model(config, pool, rep).fit(pool.X[rows[train]], y[train])
                    mu, s = model.predict(pool.X[rows[test]], return_std=True)
                    err = y[test] - mu
                    sd.append(np.mean(s))
                    rmse.append(np.sqrt(np.mean(err**2)))
                    cover.append(np.mean(np.abs(err) < 2 * s))
                    lpd.append(np.mean(-0.5 * np.log(2 * np.pi * s**2) - 0.5 * (err / s) ** 2))
                print(
                    f"{spec:7s} {prior:11s} {n:3d} {np.std(y):5.2f} {np.mean(sd):8.2f} "
                    f"{np.mean(rmse):5.2f} {np.mean(cover):11.2f} {np.mean(lpd):12.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
