"""Kill storm: SIGKILL ``tavbo run`` 100 times, at random moments, and check that nothing breaks.

One table-engine campaign (Na, aBO, 2 evaluations in flight, each job sleeping ``--delay`` s so
kills land inside jobs) is started again and again on one embedded store. Three kinds of kill:

* ``random``: SIGKILL from outside after a random time (start-up, decisions, jobs, checkpoints);
* ``checkpoint``: the process SIGKILLs itself *inside* a checkpoint transaction, after the
  changed documents were written to the WAL and before COMMIT (injected with a wrapper around
  the store's connection; nothing else is changed);
* ``job``: compositions listed in the table engine's ``kill_ids`` kill their own worker process
  whenever they run (an out-of-memory kill or segfault): a crash loop the campaign must bound
  (``max_reruns``) and fail with the reason.

After every kill the store is checked (``check_store``) and its count of finished evaluations
must never go down (a reset). At the end it prints: evaluated, failed, duplicates (workflows or
results per composition > 1), lost results (a result without a ``done`` candidate or the other
way), corrupt or reset stores, stuck candidates (pending at the end), and whether the campaign
ended exactly at its budget. Every count but evaluated must be 0.

Usage: ``python benchmarks/kill_storm.py [--kills 100] [--budget 159] [--killers 15] [--seed 1]``
(the budget, the whole Na pool, stays above what 100 kills let the campaign finish, so all 100
land: with kills further apart the campaign ended after 92-98);
results go to ``benchmarks/results/kill_storm.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "workflows" / "data" / "reference_chgnet.json.gz"

#: Runs ``tavbo`` with a connection wrapper that SIGKILLs the process before the COMMIT of
#: checkpoint number ``STORM_KILL_AT`` (the documents are already written to the WAL).
_WRAPPER = """
import os, signal, sys
import workflows.launchpad.sqlite_store as store

kill_at = int(os.environ.get("STORM_KILL_AT", "0"))
count = [0]


class Con:
    def __init__(self, con):
        self._con = con

    def execute(self, sql, *args):
        if sql == "COMMIT":
            count[0] += 1
            if count[0] == kill_at:
                open(os.environ["STORM_MARK"], "w").write("checkpoint")
                os.kill(os.getpid(), signal.SIGKILL)
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


original = store.SqliteStore.__init__


def init(self, path, con, *args, **kwargs):
    original(self, path, Con(con), *args, **kwargs)


store.SqliteStore.__init__ = init
from bo_agent.cli.main import app

sys.argv = ["tavbo", *sys.argv[1:]]
app()
"""


def _snapshot(path: Path) -> dict:
    from workflows.launchpad.sqlite_store import read_snapshot

    data = read_snapshot(path)
    return {coll: [doc for _, doc in docs] for (db, coll), docs in data.items() if db == "tavbo"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--budget", type=int, default=159)
    parser.add_argument(
        "--killers", type=int, default=15, help="compositions whose job kills its own process"
    )
    parser.add_argument("--delay", type=float, default=0.2, help="seconds each job sleeps")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    from workflows.launchpad.maintenance import check_store

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="tavbo-kill-storm-"))
    store = work / "lp.sqlite"
    wrapper = work / "tavbo_storm.py"
    wrapper.write_text(_WRAPPER)
    from workflows.space.compositions import default_space

    pool = sorted(c.id for c in default_space().filter(A="Na"))
    self_killers = rng.sample(pool, args.killers)  # ~10 % of the pool: some run during the storm
    config = work / "campaign.yaml"
    config.write_text(
        json.dumps(
            {
                "name": "storm",
                "carrier": "Na",
                "engine": "table",
                "budget": args.budget,
                "model": "abo",
                "max_pending": 2,
                "seed": args.seed,
                "max_reruns": 1,
                "engine_settings": {
                    "table": str(REFERENCE),
                    "delay_s": args.delay,
                    "kill_ids": self_killers,
                },
            }
        )
    )  # fmt: skip (JSON is YAML)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVBO_")}
    env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    env.update(TAVBO_EMBEDDED_STORE=str(store), TAVBO_RUN_DIR=str(work / "runs"))
    cmd = [sys.executable, str(wrapper), "run", "--config", str(config), "--out", str(work / "o")]

    kinds: Counter[str] = Counter()
    corrupt = resets = 0
    done_before = 0
    finished_early = False
    start = time.perf_counter()
    while sum(kinds.values()) < args.kills:
        plan = rng.choices(["random", "checkpoint"], weights=[0.6, 0.4])[0]
        mark = work / "killed_in_checkpoint"
        mark.unlink(missing_ok=True)
        kill_at = str(rng.randint(1, 10)) if plan == "checkpoint" else "0"
        run_env = dict(env, STORM_KILL_AT=kill_at, STORM_MARK=str(mark))
        proc = subprocess.Popen(
            cmd, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work
        )
        kind = "job"  # died by SIGKILL that neither we nor the checkpoint hook sent
        try:
            proc.wait(timeout=rng.uniform(1.0, 5.0) if plan == "random" else 300)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            kind = "random"
        err = proc.communicate()[1].decode(errors="replace")
        if proc.returncode == 0:
            finished_early = True
            break
        if proc.returncode != -signal.SIGKILL:
            raise SystemExit(f"tavbo run failed (exit {proc.returncode}): {err[-3000:]}")
        if mark.exists():
            kind = "checkpoint"
        kinds[kind] += 1
        report = check_store(store) if store.exists() else None
        if report is not None and not report.ok:
            corrupt += 1
            print(f"CORRUPT after kill {sum(kinds.values())}: {report.problem}", flush=True)
            break
        if report is not None:
            cands = _snapshot(store).get("tavbo_candidates", [])
            done = sum(1 for c in cands if c.get("campaign") == "storm" and c["status"] == "done")
            if done < done_before:
                resets += 1
            done_before = done
        n = sum(kinds.values())
        if n % 10 == 0:
            print(f"  {n} kills ({dict(kinds)}), {done_before} evaluated, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip

    final = subprocess.run(
        [sys.executable, str(wrapper), "run", "--config", str(config), "--out", str(work / "o")],
        env=dict(env, STORM_KILL_AT="0", STORM_MARK=str(work / "m")), capture_output=True,
        text=True, cwd=work,
    )  # fmt: skip
    deaths_by_job = 0
    while final.returncode == -signal.SIGKILL and deaths_by_job < 50:  # crash loops left
        deaths_by_job += 1
        final = subprocess.run(final.args, env=dict(env, STORM_KILL_AT="0", STORM_MARK="-"),
                               capture_output=True, text=True, cwd=work)  # fmt: skip
    if final.returncode != 0:
        raise SystemExit(f"final run failed: {final.stderr[-3000:]}")

    db = _snapshot(store)
    cands = [c for c in db["tavbo_candidates"] if c["campaign"] == "storm"]
    status = Counter(c["status"] for c in cands)
    wfs = Counter(w["metadata"]["candidate_id"] for w in db["workflows"]
                  if w.get("metadata", {}).get("campaign") == "storm")  # fmt: skip
    results = Counter(b["candidate_id"] for b in db.get("barriers", [])
                      if b.get("campaign") == "storm")  # fmt: skip
    done_ids = {c["candidate_id"] for c in cands if c["status"] == "done"}
    failed_ids = {c["candidate_id"] for c in cands if c["status"] == "failed"}
    lost = len(done_ids - set(results)) + len(set(results) - done_ids - failed_ids)
    camp = next(c for c in db["tavbo_campaigns"] if c["name"] == "storm")
    lost_runs = len(db.get("tavbo_lost_runs", []))
    failed_errors = [c.get("error", "") for c in cands if c["status"] == "failed"]
    summary = {
        "kills": dict(kinds),
        "kills_total": sum(kinds.values()),
        "lost_runs_recorded": lost_runs,
        "evaluated": status["done"],
        "failed": status["failed"],
        "failed_by_crash_loop": sum("worker process died" in e for e in failed_errors),
        "self_killing_compositions": len(self_killers),
        "duplicates": sum(n - 1 for n in wfs.values() if n > 1)
        + sum(n - 1 for n in results.values() if n > 1),
        "lost_results": lost,
        "corrupt_stores": corrupt,
        "reset_stores": resets,
        "stuck_candidates": status["pending"],
        "campaign_status": camp["status"],
        "budget": args.budget,
        "ended_at_budget": status["done"] + status["failed"] == args.budget,
        "finished_before_all_kills": finished_early,
        "wall_s": round(time.perf_counter() - start, 1),
    }
    for key, value in summary.items():
        print(f"{key:<34} {value}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "kill_storm.json").write_text(json.dumps(summary, indent=1))
    bad = [k for k in ("duplicates", "lost_results", "corrupt_stores", "reset_stores",
                       "stuck_candidates") if summary[k]]  # fmt: skip
    if bad or not summary["ended_at_budget"]:
        raise SystemExit(f"FAILED: {bad or 'budget'}")


if __name__ == "__main__":
    main()
