"""Cost and E_b of the bvse and chgnet engines, side by side, for a few compositions.

Runs each engine's flow in-process (``jobflow.run_locally``, in-memory store) and prints the
seconds per composition (wall clock, including the relaxation), the per-job times, and E_b.
Targets on 2 cores: bvse < 30 s, chgnet (all hops) < 4 min per composition.

Usage::

    python benchmarks/engine_cost.py                       # Li-Ga-P-F and Na-Ga-P-F, both engines
    python benchmarks/engine_cost.py --ids Li-Al-P-F --engines chgnet --torch-threads 2
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings
from typing import Any

from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore

from workflows.engines import get_maker
from workflows.physics.schemas import BarrierResult
from workflows.space.compositions import default_space
from workflows.structures.tavorite import make_structure

RESULT_JOBS = ("collect barrier", "bvse barrier")


def run_engine(
    engine: str, candidate_id: str, settings: dict[str, Any]
) -> tuple[BarrierResult, float, dict[str, float]]:
    """Run one engine's flow; return the result, wall seconds and seconds per job name."""
    structure = make_structure(default_space().get(candidate_id))
    maker = get_maker(engine, **settings)
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    start = time.perf_counter()
    run_locally(maker.make(structure, candidate_id), store=store, ensure_success=True, log=False)
    seconds = time.perf_counter() - start
    result = None
    jobs: dict[str, float] = {}
    for doc in store.query({}, properties=["name", "output"]):
        output = doc["output"]
        if doc["name"] in RESULT_JOBS:
            result = BarrierResult.model_validate(output)
        elif isinstance(output, dict) and output.get("wall_time") is not None:
            jobs[doc["name"]] = float(output["wall_time"])
    if result is None:
        raise RuntimeError(f"{engine} flow of {candidate_id} produced no BarrierResult")
    return result, seconds, jobs


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", nargs="+", default=["Li-Ga-P-F", "Na-Ga-P-F"])
    parser.add_argument("--engines", nargs="+", default=["bvse", "chgnet"])
    parser.add_argument("--torch-threads", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    warnings.simplefilter("ignore")
    settings = {"torch_threads": args.torch_threads}

    print(f"# cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start")
    rows = []
    for candidate_id in args.ids:
        for engine in args.engines:
            result, seconds, jobs = run_engine(engine, candidate_id, settings)
            rows.append((candidate_id, engine, seconds, result))
            hops = ", ".join(
                f"{h.hop_index}: {h.length:.2f} A {h.barrier:.3f} eV"
                f"{'' if h.converged else ' (unconverged)'} {h.n_steps} steps"
                for h in result.hops
            )
            print(
                f"{candidate_id:12s} {engine:7s} {seconds:7.1f} s  E_b {result.e_b:.3f} eV"
                f"  from min {result.e_b_from_min:.3f}  dim {result.percolation_dimension}"
                f"  hops {result.percolating_hops}",
                flush=True,
            )
            if hops:
                print(f"{'':21s} hops: {hops}", flush=True)
            print(
                f"{'':21s} jobs: "
                + ", ".join(f"{name} {t:.1f} s" for name, t in sorted(jobs.items())),
                flush=True,
            )
            print(f"{'':21s} load average now {os.getloadavg()[0]:.1f}", flush=True)

    print("\n| composition | engine | seconds | E_b (eV) | E_b from path min (eV) |")
    print("|---|---|---|---|---|")
    for candidate_id, engine, seconds, result in rows:
        print(
            f"| {candidate_id} | {engine} | {seconds:.0f} | {result.e_b:.3f} | "
            f"{result.e_b_from_min:.3f} |"
        )


if __name__ == "__main__":
    main()
