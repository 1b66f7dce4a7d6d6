"""What the embedded store costs a campaign: time per checkpoint and store size as it grows.

Runs table-engine campaigns in this process, on a fresh embedded store each (what ``tavbo run``
does), and times every checkpoint (``TavboLaunchPad.checkpoint``: the SQLite transaction of the
documents that changed). Prints, at 10, 100 and 1,000 evaluations: the median, 95th percentile
and maximum checkpoint time over the evaluations since the previous mark, the same without the
time other processes held the CPU ("own", from the thread's run-queue wait, Linux schedstat),
checkpoints per evaluation, the store's size on disk and the share of the wall time spent
checkpointing.

Stores: the packaged 318-composition space (reference CHGNet E_b table, the default aBO model):
a campaign cannot go past its carrier's pool of 159, so a Na campaign and then a Li campaign run
on one store, which ends with all 318 compositions evaluated (a table failure or two short of
it; the last mark is where it ends); and a synthetic 1,000-composition Na space (elements of
the same sites with Shannon radii; a smooth synthetic E_b table; ``model: random`` so 1,000
rounds do not wait on GP fits: the store's share of wall time is then an upper bound). Both
keep 4 evaluations in flight (``max_pending: 4``, as on a cluster), so the agent decides once
per 4 evaluations and a 1,000-evaluation run fits in well under an hour on 2 shared cores.
Targets (issue 17): flat with the number of evaluations, <= 5 ms per checkpoint, <= 5 % of
wall time at 1,000 evaluations.

Usage: ``python benchmarks/store_cost.py [--quick] [--spaces both|default|synthetic] [--parallel]
[--out DIR]`` (``--parallel``: the two stores in two processes).
(``--quick``: 10 and 100 evaluations, Na only). Results go to
``benchmarks/results/store_cost[_quick]_<spaces>.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "workflows" / "data" / "reference_chgnet.json.gz"
MARKS = (10, 100, 1000)

_M = {
    2: "Mg Ca Zn Cd Sr Ba Mn Fe Co Ni Cu Be Pb Eu Hg Pd Pt",
    3: "Al Ga In Sc Y La Nd Gd Dy Er Lu Ce Pr Sm Tb Ho Tm Yb Cr Bi Tl Rh Ir Au Sb",
    4: "Ti Zr Sn Hf Ge Si Th U Pu Np Te Os Re",
}
_X = {5: "P As V Nb Ta", 6: "S Se Mo W Cr Te"}


def synthetic_space(directory: Path, n: int = 1000) -> tuple[Path, Path]:
    """A space file of ``n`` Na compositions and a table of smooth synthetic E_b (eV)."""
    from bo_agent.features.descriptors import shannon_radius
    from workflows.space.compositions import load_space

    def has_radius(el: str, ox: int, cn: int) -> bool:
        try:
            shannon_radius(el, ox, cn)
        except Exception:
            return False
        return True

    sites: dict[str, dict[str, int]] = {
        "A": {"Na": 1},
        "M": {},
        "X": {},
        "Z": {"F": -1, "OH": -1, "O": -2, "Cl": -1, "Br": -1, "I": -1},
    }
    for ox, els in _M.items():
        for el in els.split():
            if el not in sites["M"] and has_radius(el, ox, 6):
                sites["M"][el] = ox
    for ox, els in _X.items():
        for el in els.split():
            if el not in sites["X"] and el not in sites["M"] and has_radius(el, ox, 4):
                sites["X"][el] = ox
    full = directory / "all.yaml"
    full.write_text(yaml.safe_dump({"name": "all", "framework_oxygen": 4, "sites": sites}))
    cands = list(load_space(full).candidates)[:n]
    if len(cands) < n:
        raise SystemExit(f"only {len(cands)} synthetic compositions, {n} wanted")
    comps = [{"A": c.carrier, "M": c.m, "X": c.x, "Z": c.z} for c in cands]
    space = directory / f"synthetic_{n}.yaml"
    data = {"name": f"synthetic-{n}", "framework_oxygen": 4, "sites": sites, "compositions": comps}
    space.write_text(yaml.safe_dump(data))
    table = directory / f"synthetic_{n}.json"
    values = {
        c.id: round(0.15 + 0.9 * int(hashlib.sha256(c.id.encode()).hexdigest()[:8], 16) / 2**32, 4)
        for c in cands
    }
    table.write_text(json.dumps(values))
    return space, table


def _run_queue_wait() -> float:
    """Seconds this thread has waited, runnable, for a CPU (Linux schedstat; 0 elsewhere): the
    part of a checkpoint's wall time that other processes took."""
    try:
        return int(Path("/proc/thread-self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def run_store(label: str, campaigns: list[tuple[str, int, dict]], marks: tuple[int, ...],
              work: Path, progress: Path | None = None) -> dict:  # fmt: skip
    """Campaigns run one after the other on one fresh store; every checkpoint timed (wall time
    and the run-queue wait inside it), the marks counting evaluations over all campaigns. At
    each mark the figures so far are written to ``progress`` (a run cut short keeps them)."""
    from bo_agent.campaign.agent import CampaignAgent
    from bo_agent.config import CampaignConfig
    from workflows.flows.evaluation import run_workflow
    from workflows.launchpad.opening import open_launchpad
    from workflows.launchpad.tavbo_launchpad import TavboLaunchPad

    store = work / label / "launchpad.sqlite"
    os.environ["TAVBO_RUN_DIR"] = str(work / label / "runs")
    times: list[tuple[int, float, float]] = []  # (evaluations finished, seconds, run-queue wait)
    done = [0]
    original = TavboLaunchPad.checkpoint

    def timed(self: TavboLaunchPad):  # type: ignore[no-untyped-def]
        wait = _run_queue_wait()
        start = time.perf_counter()
        info = original(self)
        if info is not None:
            times.append((done[0], time.perf_counter() - start, _run_queue_wait() - wait))
        return info

    TavboLaunchPad.checkpoint = timed  # type: ignore[method-assign]
    reached: dict[int, tuple[float, int, float]] = {}  # mark -> (wall s, store bytes, load)
    lp = open_launchpad(store_path=store, handle_signals=False)
    start = time.perf_counter()

    def summary() -> dict:
        folder = lp._sqlite.folder if lp._sqlite is not None else None
        out = _summary(label, campaigns, done[0], time.perf_counter() - start, times, reached)
        out["wal_folds"] = {
            "count": folder.folds if folder else 0,
            "truncations": folder.truncations if folder else 0,
            "seconds_in_background": round(folder.seconds, 3) if folder else 0.0,
        }
        return out

    try:
        before = 0
        for name, budget, settings in campaigns:
            agent = CampaignAgent(CampaignConfig(name=name, budget=budget, **settings), lp)

            def on_round(report, name=name, before=before) -> None:  # type: ignore[no-untyped-def]
                done[0] = before + _finished(name)
                for mark in marks:
                    if done[0] >= mark and mark not in reached:
                        took = time.perf_counter() - start
                        reached[mark] = (took, _size(store), os.getloadavg()[0])
                        print(f"  {label}: {done[0]} evaluations, {took:.0f} s",
                              file=sys.stderr, flush=True)  # fmt: skip
                        if progress is not None:
                            progress.write_text(json.dumps(summary(), indent=1))

            agent.run(execute=lambda fw_id: run_workflow(lp, fw_id), on_round=on_round,
                      lostrun_expiration=None)  # fmt: skip
            before = done[0] = before + _finished(name)
        if done[0] not in reached:  # the end, where a store falls short of its last mark
            took = time.perf_counter() - start
            reached[done[0]] = (took, _size(store), os.getloadavg()[0])
        out = summary()
    finally:
        lp.close()
        TavboLaunchPad.checkpoint = original  # type: ignore[method-assign]
    if progress is not None:
        progress.write_text(json.dumps(out, indent=1))
    return out


def _summary(label: str, campaigns: list, done: int, wall: float,
             times: list[tuple[int, float, float]],
             reached: dict[int, tuple[float, int, float]]) -> dict:  # fmt: skip
    """Figures per mark reached: checkpoint times over the evaluations since the previous mark
    (wall and own), checkpoints per evaluation, store size, share of the wall time so far."""
    out = {"label": label, "campaigns": [[c[0], c[1]] for c in campaigns],
           "evaluations": done, "wall_s": round(wall, 2), "checkpoints": len(times),
           "checkpoint_share_of_wall": round(sum(t for _, t, _ in times) / wall, 4),
           "marks": {}}  # fmt: skip
    prev = 0
    for mark in sorted(reached):
        at_wall, size, load = reached[mark]
        window = [(t, w) for n, t, w in times if prev <= n < mark]
        if not window:
            continue
        wall_ms = sorted(1000 * t for t, _ in window)
        own_ms = sorted(1000 * max(t - w, 0.0) for t, w in window)
        out["marks"][mark] = {
            "median_ms": round(statistics.median(wall_ms), 3),
            "mean_ms": round(statistics.fmean(wall_ms), 3),
            "p95_ms": round(_p95(wall_ms), 3),
            "max_ms": round(wall_ms[-1], 3),
            "own_median_ms": round(statistics.median(own_ms), 3),
            "own_p95_ms": round(_p95(own_ms), 3),
            "own_max_ms": round(own_ms[-1], 3),
            "delayed_by_other_processes": round(sum(w > 1e-3 for _, w in window) / len(window), 3),
            "checkpoints_per_evaluation": round(len(window) / max(mark - prev, 1), 1),
            "store_bytes": size,
            "share_of_wall_so_far": round(sum(t for n, t, _ in times if n < mark) / at_wall, 4),
            "wall_s_so_far": round(at_wall, 1),
            "load_average_1min": round(load, 2),
        }
        prev = mark
    return out


def _finished(campaign: str) -> int:
    """Evaluations of ``campaign`` that finished: done, or failed (a workflow that ran and
    wrote its result; the reference table has untrusted and unconverged entries)."""
    from bo_agent.campaign.state import CandidateRecord

    return CandidateRecord.objects(campaign=campaign, status__in=["done", "failed"]).count()


def _p95(values: list[float]) -> float:
    return values[int(0.95 * (len(values) - 1))]


def continue_campaign(source: Path, label: str, extra: int, work: Path) -> dict:
    """Copy a campaign's store (e.g. of a long run still going) and run ``extra`` more
    evaluations on the copy, timing every checkpoint: the cost at that store size."""
    from bo_agent.campaign.agent import CampaignAgent
    from bo_agent.campaign.state import CandidateRecord
    from bo_agent.config import CampaignConfig
    from workflows.flows.evaluation import run_workflow
    from workflows.launchpad.maintenance import copy_store
    from workflows.launchpad.opening import open_launchpad
    from workflows.launchpad.tavbo_launchpad import TavboLaunchPad

    store = work / f"{label}-continued" / "launchpad.sqlite"
    store.parent.mkdir(parents=True)
    copy_store(source, store)
    os.environ["TAVBO_RUN_DIR"] = str(store.parent / "runs")
    times: list[float] = []
    original = TavboLaunchPad.checkpoint

    def timed(self: TavboLaunchPad):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        info = original(self)
        if info is not None:
            times.append(time.perf_counter() - start)
        return info

    lp = open_launchpad(store_path=store, handle_signals=False)
    try:
        done = CandidateRecord.objects(campaign=label, status="done").count()
        failed = CandidateRecord.objects(campaign=label, status="failed").count()
        size = _size(store)
        TavboLaunchPad.checkpoint = timed  # type: ignore[method-assign]
        start = time.perf_counter()
        agent = CampaignAgent(CampaignConfig(name=label, budget=done + failed + extra), lp)
        agent.run(execute=lambda fw_id: run_workflow(lp, fw_id), lostrun_expiration=None)
        wall = time.perf_counter() - start
    finally:
        TavboLaunchPad.checkpoint = original  # type: ignore[method-assign]
        lp.close()
    return {
        "label": f"{label} continued", "evaluations_at_start": done, "extra": extra,
        "store_bytes_at_start": size, "checkpoints": len(times),
        "median_ms": round(1000 * statistics.median(times), 3),
        "mean_ms": round(1000 * statistics.fmean(times), 3),
        "p95_ms": round(1000 * sorted(times)[int(0.95 * (len(times) - 1))], 3),
        "checkpoints_per_evaluation": round(len(times) / extra, 1),
        "share_of_wall": round(sum(times) / wall, 4), "wall_s": round(wall, 1),
    }  # fmt: skip


def _size(store: Path) -> int:
    files = (store, store.with_name(store.name + "-wal"))
    return sum(p.stat().st_size for p in files if p.exists())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 and 100 evaluations only")
    parser.add_argument(
        "--spaces", choices=["both", "default", "synthetic"], default="both",
        help="Which campaigns to run (default: both)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--parallel", action="store_true", help="Run the two stores in two processes at once"
    )
    parser.add_argument("--continue-from", type=Path, help="A campaign store to copy and extend")
    parser.add_argument(
        "--campaign", default="synthetic-1000", help="Its campaign (with --continue-from)"
    )
    parser.add_argument(
        "--extra", type=int, default=30, help="Evaluations to add (with --continue-from)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tavbo-store-cost-"))
    if args.continue_from:
        result = continue_campaign(args.continue_from, args.campaign, args.extra, work)
        for key, value in result.items():
            print(f"{key:<28} {value}")
        args.out.mkdir(parents=True, exist_ok=True)
        n = result["evaluations_at_start"]
        (args.out / f"store_cost_continued_{n}.json").write_text(json.dumps(result, indent=1))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    space, table = synthetic_space(work)
    default = {"carrier": "Na", "engine": "table", "max_pending": 4,
               "engine_settings": {"table": str(REFERENCE)}}  # fmt: skip
    synthetic = {"carrier": "Na", "engine": "table", "model": "random", "space": str(space),
                 "max_pending": 4, "engine_settings": {"table": str(table)}}  # fmt: skip
    li = dict(default, carrier="Li")
    jobs = []
    if args.spaces in ("both", "default"):
        camps = [("default-Na", 100, default)] if args.quick else [
            ("default-Na", 159, default), ("default-Li", 159, li)]  # fmt: skip
        marks = (10, 100) if args.quick else (10, 100, 318)
        jobs.append(
            ("default-318", camps, marks, work, args.out / "store_cost_default-318.partial.json")
        )
    if args.spaces in ("both", "synthetic"):
        camps = [("synthetic-1000", 100 if args.quick else 1000, synthetic)]
        marks = MARKS[:2] if args.quick else MARKS
        jobs.append(
            (
                "synthetic-1000",
                camps,
                marks,
                work,
                args.out / "store_cost_synthetic-1000.partial.json",
            )
        )
    if args.parallel and len(jobs) > 1:  # one process per store (one LaunchPad per process)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(len(jobs), mp_context=ctx) as pool:
            runs = list(pool.map(run_store, *zip(*jobs, strict=True)))
    else:
        runs = [run_store(*job) for job in jobs]
    print(f"{'store':<16} {'evals':>6} {'median':>7} {'p95':>7} {'max':>7} {'own p95':>8} "
          f"{'ckpt/eval':>9} {'store MB':>9} {'share of wall':>13}  (ms)")  # fmt: skip
    for run in runs:
        for mark, m in run["marks"].items():
            print(f"{run['label']:<16} {mark:>6} {m['median_ms']:>7.2f} {m['p95_ms']:>7.2f} "
                  f"{m['max_ms']:>7.1f} {m['own_p95_ms']:>8.2f} "
                  f"{m['checkpoints_per_evaluation']:>9.1f} {m['store_bytes'] / 1e6:>9.2f} "
                  f"{100 * m['share_of_wall_so_far']:>12.1f}%")  # fmt: skip
        share = 100 * run["checkpoint_share_of_wall"]
        print(f"{run['label']:<16} whole campaign: {run['checkpoints']} checkpoints, "
              f"{share:.1f} % of {run['wall_s']:.0f} s wall")  # fmt: skip
    name = f"store_cost{'_quick' if args.quick else ''}_{args.spaces}.json"
    (args.out / name).write_text(json.dumps(runs, indent=1))
    for job in jobs:
        job[4].unlink(missing_ok=True)  # the whole run is in the file above


if __name__ == "__main__":
    main()
