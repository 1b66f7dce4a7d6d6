"""Latency and memory of one proposal with the default settings, as a campaign makes it.

Every round of a campaign calls :func:`bo_agent.decide.strategy.decide` with the campaign's
configuration; here it runs with ``CampaignConfig()`` defaults (``model: abo`` with the 10
descriptor-kind groups and shared length scales, EI against the lowest observed E_b), so the
figure is what a user waits for; ``--model auto`` times ``model: auto`` instead (oBO and aBO
both fitted, the better by leave-one-out). Two scenarios:

- small: the real Na pool (159 candidates, the 31 real descriptors) with 5, 50 and 100
  observations from the CHGNet reference data v2 (108 trusted Na results; target: <= 1 s);
- large: 100,000 synthetic candidates with the same 31 columns and the same 10 kind groups,
  and 500 observations of a smooth synthetic E_b (target: <= 2 s on 2 cores).

Each line reports wall-clock seconds of ``decide`` (the model fit, or with ``auto`` two fits and
the leave-one-out choice; the pool posterior; the batch), the CPU seconds of the process over the
same call (``time.process_time``, all threads; on a busy machine wall time exceeds it, so
compare CPU / 2 with the budget when the load average is above the CPU count), the peak
resident set size so far, and the load average.

Run::

    python benchmarks/proposal_latency.py            # both scenarios
    python benchmarks/proposal_latency.py --small    # 159 candidates only
    python benchmarks/proposal_latency.py --n-pool 20000 --n-obs 300
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np

from bo_agent.config import CampaignConfig
from bo_agent.decide.strategy import Pool, build_pool, decide
from workflows.space.compositions import default_space


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MB (Linux reports kB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0**2 if platform.system() == "Darwin" else 1024.0)


def real_pool() -> tuple[Pool, dict[str, float]]:
    """The Na pool with the real descriptors, and the CHGNet E_b of its compositions."""
    from bo_agent.benchmark.data import load_benchmark_data

    pool = build_pool(default_space(), "Na")
    data = load_benchmark_data("chgnet").values
    return pool, {cid: data[cid] for cid in pool.ids if cid in data}


def synthetic_pool(n_pool: int, seed: int) -> tuple[Pool, dict[str, float]]:
    """``n_pool`` standard-normal candidates with the real columns and kind groups, and a
    smooth E_b (eV) with 0.02 eV noise."""
    groups = build_pool(default_space(), "Na").groups
    n_cols = 1 + max(c for cols in groups.values() for c in cols)
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_pool, n_cols))
    y = (
        0.5
        + 0.15 * np.sin(features[:, 0])
        + 0.05 * features[:, 9] ** 2
        - 0.1 * features[:, 17]
        + 0.05 * np.cos(features[:, 25] + features[:, 26])
        + 0.02 * rng.standard_normal(n_pool)
    )
    ids = tuple(f"c{i:06d}" for i in range(n_pool))
    return Pool(ids=ids, X=features, groups=groups), dict(zip(ids, y.tolist(), strict=True))


def time_decision(
    pool: Pool, values: dict[str, float], n_obs: int, q: int, seed: int, model: str = "abo"
) -> tuple[float, float, str]:
    """Wall and CPU seconds of one default ``decide`` call, and the model it chose."""
    rng = np.random.default_rng(seed)
    known = [cid for cid in pool.ids if cid in values]
    chosen = sorted(rng.choice(len(known), n_obs, replace=False))
    observations = {known[i]: values[known[i]] for i in chosen}
    t0, c0 = time.perf_counter(), time.process_time()
    config = CampaignConfig(seed=seed, model=model)  # type: ignore[arg-type]
    decision = decide(pool, config, observations, n=q, seq=n_obs)
    return time.perf_counter() - t0, time.process_time() - c0, decision.strategy


def run(
    scenario: str,
    pool: Pool,
    values: dict[str, float],
    obs: list[int],
    seed: int,
    model: str = "abo",
) -> None:
    """Print one line per (observations, q)."""
    print(
        f"\n== {scenario}: {len(pool.ids)} candidates, {pool.X.shape[1]} features, "
        f"{len(pool.groups)} kind groups, default settings, model {model} =="
    )
    print(
        f"{'n_obs':>5} {'q':>2} {'chose':<9} {'wall s':>7} {'cpu s':>7} {'peak RSS MB':>12} "
        f"{'load':>5}"
    )
    for n_obs in obs:
        for q in (1, 5):
            wall, cpu, strategy = time_decision(pool, values, n_obs, q, seed, model)
            print(
                f"{n_obs:>5} {q:>2} {strategy:<9} {wall:>7.3f} {cpu:>7.3f} "
                f"{peak_rss_mb():>12.0f} {os.getloadavg()[0]:>5.1f}",
                flush=True,
            )


def main() -> None:
    """Parse options and run the scenarios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="only the 159-candidate scenario")
    parser.add_argument("--large", action="store_true", help="only the large scenario")
    parser.add_argument("--n-pool", type=int, default=100_000, help="large pool size")
    parser.add_argument("--n-obs", type=int, default=500, help="large scenario observations")
    parser.add_argument("--seed", type=int, default=0)
    default_model = CampaignConfig.model_fields["model"].default
    parser.add_argument("--model", default=default_model, help="campaign model (the default)")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if not args.large:
        pool, values = real_pool()
        run("small", pool, values, [5, 50, 100], args.seed, args.model)
    if not args.small:
        pool, values = synthetic_pool(args.n_pool, args.seed)
        run("large", pool, values, [args.n_obs], args.seed, args.model)


if __name__ == "__main__":
    main()
