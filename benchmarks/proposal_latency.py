"""Latency and memory of one proposal round: refit the GP, score the pool, pick a batch.

Synthetic, standardised descriptors in four groups of eight columns (sites A, M, X, Z) and a
smooth synthetic E_b. Two scenarios:

- small: the real pool size, 159 candidates, with 5 to 150 observations (target: < 1 s);
- large: 100,000 candidates and 500 observations (target: < 10 s and < 4 GB peak RSS).

Each line reports wall-clock seconds of ``propose`` (which refits the model once), the CPU
seconds of the process over the same call (``time.process_time``, all threads; on a busy machine
wall time exceeds it, so compare it with the budget when the load average is above the CPU
count), and the peak resident set size of the process so far (``resource.getrusage``; the
large scenario runs last).

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
import warnings

import numpy as np

from bo_agent.decide.proposals import propose
from bo_agent.gp.models import GPModel

N_GROUPS = 4
GROUP_SIZE = 8
SITES = ("A", "M", "X", "Z")


def synthetic_pool(n_pool: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, list[int]]]:
    """Standardised descriptors, a smooth E_b (eV) with 0.02 eV noise, and the feature groups."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_pool, N_GROUPS * GROUP_SIZE))
    y = (
        0.5
        + 0.15 * np.sin(features[:, 0])
        + 0.05 * features[:, 9] ** 2
        - 0.1 * features[:, 17]
        + 0.05 * np.cos(features[:, 25] + features[:, 26])
        + 0.02 * rng.standard_normal(n_pool)
    )
    groups = {s: list(range(i * GROUP_SIZE, (i + 1) * GROUP_SIZE)) for i, s in enumerate(SITES)}
    return features, y, groups


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MB (Linux reports kB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0**2 if platform.system() == "Darwin" else 1024.0)


def time_round(
    kind: str,
    features: np.ndarray,
    y: np.ndarray,
    groups: dict[str, list[int]],
    n_obs: int,
    acquisition: str,
    q: int,
    seed: int,
) -> tuple[float, float, list[int]]:
    """Wall and CPU seconds of one ``propose`` call (refit + scoring + batch), and its picks."""
    rng = np.random.default_rng(seed)
    observed = rng.choice(features.shape[0], n_obs, replace=False)
    pending = np.setdiff1d(rng.choice(features.shape[0], 3, replace=False), observed)
    model = GPModel(kind, groups=groups, random_state=seed)
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = propose(
            model,
            features,
            observed,
            y[observed],
            pending_idx=pending,
            acquisition=acquisition,
            q=q,
            random_state=seed,
            threshold=0.4,
        )
    return time.perf_counter() - t0, time.process_time() - c0, [p.index for p in batch]


def run(scenario: str, n_pool: int, obs_list: list[int], q_list: list[int], seed: int) -> None:
    """Print one line per (kernel, observations, acquisition, q)."""
    features, y, groups = synthetic_pool(n_pool, seed)
    print(f"\n== {scenario}: {n_pool} candidates, {features.shape[1]} features, 4 groups ==")
    print(
        f"{'kernel':<9} {'n_obs':>5} {'acq':<6} {'q':>2} {'wall s':>7} {'cpu s':>7} "
        f"{'peak RSS MB':>12} {'load':>5}"
    )
    for kind in ("ordinary", "additive"):
        for n_obs in obs_list:
            for acquisition in ("ei", "ts", "below"):
                for q in q_list:
                    if acquisition != "ei" and q != max(q_list):
                        continue
                    wall, cpu, _ = time_round(
                        kind, features, y, groups, n_obs, acquisition, q, seed
                    )
                    print(
                        f"{kind:<9} {n_obs:>5} {acquisition:<6} {q:>2} {wall:>7.3f} {cpu:>7.3f} "
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
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if not args.large:
        run("small", 159, [5, 50, 150], [1, 5], args.seed)
    if not args.small:
        run("large", args.n_pool, [args.n_obs], [1, 5], args.seed)


if __name__ == "__main__":
    main()
