"""The compositions a reference-v2 screen still has to compute, in the order of the ids file.

Leaves out every composition already recomputed: in the packaged data set of the engine
(``extra["reference_v2"]`` says "recomputed") or in its progress file
(``benchmarks/results/reference_v2/progress/<engine>.json.gz``, saved by
``reference_v2_progress.sh``). ``--first`` moves compositions to the front (a SevenNet screen
catching up on the pairs CHGNet has finished), ``--last`` to the back (one that stalled).

Usage::

    python benchmarks/reference_v2_todo.py chgnet > /work/runs/physics-v3/chgnet/ids.txt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from workflows.results.export import read_export
from workflows.results.reference_data import resolve_data

HERE = Path(__file__).resolve().parent / "results" / "reference_v2"


def main() -> None:
    """Command-line entry point: print the IDs still to compute, one per line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=["chgnet", "sevennet"])
    parser.add_argument("--ids", type=Path, default=HERE / "ids.txt")
    parser.add_argument("--first", nargs="*", default=[])
    parser.add_argument("--last", nargs="*", default=[])
    args = parser.parse_args()

    done = {
        rec["candidate_id"]
        for rec in read_export(resolve_data(args.engine))
        if str(rec.get("extra", {}).get("reference_v2", "")).startswith("recomputed")
    }
    progress = HERE / "progress" / f"{args.engine}.json.gz"
    if progress.exists():
        done |= {rec["candidate_id"] for rec in read_export(progress)}
    listed = [ln.split("#", 1)[0].strip() for ln in args.ids.read_text().splitlines()]
    listed = [i for i in dict.fromkeys(listed) if i]
    front = [i for i in args.first if i in listed]
    back = [i for i in args.last if i in listed]
    middle = [i for i in listed if i not in set(front) | set(back)]
    for cid in front + middle + back:
        if cid not in done:
            print(cid)


if __name__ == "__main__":
    main()
