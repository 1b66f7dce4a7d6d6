"""Build reference data v2 of a potential: v1 re-measured by the network rule, recomputed ones in.

Every record of the v1 file (``--base``, e.g. the packaged ``chgnet-v1``) is re-measured with the
``network`` rule (its hop profiles are stored, so no calculation runs) and its stored relaxed cell
is checked for a reconstructed framework (``extra["framework_failures"]``); every composition of the
v2 screens (``--recomputed``: ``tavbo screen --ids ... --export`` files of the engine with dip
repair and framework checks) replaces its v1 record. ``extra["reference_v2"]`` says which of the
two each record is. Records keep the campaign name ``reference-<engine>`` the data set is known by.

``--previous`` keeps the recomputed records of a data set built before (the packaged one), so
screens that ran in different sessions, on machines that did not survive, add up; a later file
wins for a composition found twice.

Usage::

    python benchmarks/reference_v2.py --base chgnet-v1 --previous chgnet \
        --recomputed benchmarks/results/reference_v2/progress/chgnet.json.gz \
        --out workflows/data/reference_chgnet.json.gz
    python benchmarks/reference_v2.py --engine sevennet --previous sevennet \
        --recomputed benchmarks/results/reference_v2/progress/sevennet.json.gz \
        --out workflows/data/reference_sevennet.json.gz
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

from workflows.physics.barrier_reference import with_reference
from workflows.physics.schemas import BarrierResult, trust_issues
from workflows.results.export import read_export, write_records
from workflows.results.reference_data import resolve_data


def _relaxed_cell_problems(rec: dict) -> list[str]:
    """Framework check of a v1 record's stored relaxed cell against the generated one (v1 did
    not check; its endpoints and images were not stored, so only the cell can be checked)."""
    from pymatgen.core import Structure

    from workflows.space.compositions import default_space
    from workflows.structures.integrity import framework_problems
    from workflows.structures.tavorite import make_structure

    candidate = default_space().get(rec["candidate_id"])
    relaxed = Structure.from_dict(rec["structure"])
    return framework_problems(relaxed, candidate, make_structure(candidate), "relaxed cell")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="v1 data set (name or file); omit for recomputed only")
    parser.add_argument(
        "--previous", help="data set (name or file) whose recomputed records are kept"
    )
    parser.add_argument("--recomputed", type=Path, nargs="*", default=[])
    parser.add_argument("--engine", default="chgnet")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    records: dict[str, dict] = {}
    if args.base:
        for rec in read_export(resolve_data(args.base)):
            result = with_reference(BarrierResult.model_validate(rec), "network")
            out = {**rec, **result.model_dump(mode="json", include={"e_b", "reference",
                   "percolating_hops", "percolation_dimension", "settings", "extra"})}  # fmt: skip
            out["extra"]["reference_v2"] = "v1 record re-measured by the network rule"
            out["extra"]["framework_failures"] = _relaxed_cell_problems(rec)
            records[rec["candidate_id"]] = out
    if args.previous:
        for rec in read_export(resolve_data(args.previous)):
            if str(rec.get("extra", {}).get("reference_v2", "")).startswith("recomputed"):
                records[rec["candidate_id"]] = rec
    for path in args.recomputed:
        for rec in read_export(path):
            rec = {**rec, "campaign": f"reference-{args.engine}"}
            rec["extra"] = {**rec["extra"], "reference_v2": "recomputed (dip repair, checks)"}
            records[rec["candidate_id"]] = rec
    rows = [records[k] for k in sorted(records)]
    recomputed = sum(  # once each, whether it came from --previous, a file, or both
        str(r.get("extra", {}).get("reference_v2", "")).startswith("recomputed") for r in rows
    )
    potentials = {r.get("extra", {}).get("potential") for r in rows} - {None}
    if len(potentials) > 1:  # one data set, one model: a mixed set would compare apples to pears
        raise SystemExit(f"reference_v2: error: records of {sorted(potentials)} would be mixed")
    write_records(rows, args.out)
    kinds = collections.Counter()
    for rec in rows:
        result = BarrierResult.model_validate(rec)
        kinds.update(list(trust_issues(result.hops, result.extra)))
    print(f"{len(rows)} records ({recomputed} recomputed) -> {args.out}; untrusted: {dict(kinds)}")


if __name__ == "__main__":
    main()
