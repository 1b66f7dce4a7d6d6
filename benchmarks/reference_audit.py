"""Audit of a barrier data set: network E_b, dips, frameworks and Na versus Li, per composition.

Re-measures every NEB result of an export (the packaged CHGNet reference by default) with the
``network`` rule (:mod:`workflows.physics.barrier_reference`) and prints how many E_b move and by
how much, the hops whose path dips below its endpoint, the relaxed cells whose framework is not
intact (:mod:`workflows.structures.integrity`, against the generated cell), the supercell sizes,
and the "most affected" list that the v2 reruns start from.

Usage::

    python benchmarks/reference_audit.py                     # packaged chgnet reference
    python benchmarks/reference_audit.py --data FILE --affected 60 --write-ids ids.txt
"""

from __future__ import annotations

import argparse
import collections
import statistics

from pymatgen.core import Structure

from workflows.physics.barrier_reference import with_reference
from workflows.physics.schemas import BarrierResult, dip_depth, trust_issues
from workflows.results.export import read_export
from workflows.results.reference_data import resolve_data
from workflows.space.compositions import default_space
from workflows.structures.integrity import framework_problems
from workflows.structures.tavorite import make_structure


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="chgnet")
    parser.add_argument("--affected", type=int, default=60, help="how many to list as affected")
    parser.add_argument("--write-ids", help="write the affected IDs and their Li/Na partners")
    parser.add_argument("--no-framework", action="store_true", help="skip framework checks")
    args = parser.parse_args()

    records = read_export(resolve_data(args.data))
    space = default_space()
    rows = {}
    for rec in records:
        result = BarrierResult.model_validate(rec)
        net = with_reference(result, "network")
        depth = max((dip_depth(h) for h in result.hops), default=0.0)
        problems = []
        if not args.no_framework and result.structure:
            cand = space.get(result.candidate_id)
            problems = framework_problems(
                Structure.from_dict(result.structure), cand, make_structure(cand), "relaxed cell"
            )
        n_atoms = None
        matrix = result.extra.get("supercell_matrix")
        if matrix and result.structure:
            import numpy as np

            n_atoms = round(abs(np.linalg.det(np.array(matrix))) * len(result.structure["sites"]))
        rows[result.candidate_id] = {
            "old": result.e_b,
            "new": net.e_b,
            "endpoint": result.extra.get("e_b_endpoint"),
            "dip": depth,
            "issues": trust_issues(result.hops, {"framework_failures": problems}),
            "atoms": n_atoms,
            "steps": max(result.extra.get("endpoint_relax_steps") or [0]),
        }

    moved = {k: r["new"] - r["old"] for k, r in rows.items() if abs(r["new"] - r["old"]) > 0.05}
    print(f"{len(rows)} compositions; network rule moves {len(moved)} by more than 0.05 eV")
    if moved:
        top = sorted(moved.items(), key=lambda kv: -abs(kv[1]))[:10]
        print("  largest:", ", ".join(f"{k} {v:+.2f}" for k, v in top))
        print(f"  median change of those: {statistics.median(moved.values()):+.3f} eV")
    for cut in (0.05, 0.2):
        n = sum(r["dip"] > cut for r in rows.values())
        print(f"dip > {cut} eV below the endpoint: {n} compositions")
    deepest = sorted(rows.items(), key=lambda kv: -kv[1]["dip"])[:5]
    print("deepest dips:", ", ".join(f"{k} {r['dip']:.2f} eV" for k, r in deepest))
    kinds = collections.Counter(k for r in rows.values() for k in r["issues"])
    print("untrusted by kind:", dict(kinds), "any:", sum(bool(r["issues"]) for r in rows.values()))
    broken = [k for k, r in rows.items() if "framework" in r["issues"]]
    print(f"relaxed cells with a reconstructed framework: {len(broken)} {broken[:12]}")
    sizes = collections.Counter(r["atoms"] for r in rows.values())
    print("NEB supercell atoms:", dict(sorted(sizes.items(), key=lambda kv: -kv[1])))

    def score(item: tuple[str, dict]) -> float:
        _, r = item
        return max(r["dip"], abs(r["new"] - r["old"])) + (1.0 if r["issues"] else 0.0)

    affected = [k for k, _ in sorted(rows.items(), key=score, reverse=True)[: args.affected]]
    pairs = []
    for cid in affected:
        a, rest = cid.split("-", 1)
        partner = ("Na" if a == "Li" else "Li") + "-" + rest
        pairs += [cid] + ([partner] if partner in rows else [])
    ordered = list(dict.fromkeys(pairs))
    print(f"{len(affected)} most affected, {len(ordered)} with their Li/Na partners")
    if args.write_ids:
        with open(args.write_ids, "w") as fh:
            fh.write("\n".join(ordered) + "\n")


if __name__ == "__main__":
    main()
