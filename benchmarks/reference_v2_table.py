"""The recomputed compositions of reference data v2, one markdown row each (docs/reference_v2.md).

For every composition the v2 screens recomputed (``extra["reference_v2"]`` starts with
``recomputed``) in the packaged CHGNet or SevenNet data: the v1 CHGNet E_b (re-measured by the
network rule) and its flags, then per potential the v2 E_b (network rule, eV), its flags, the dip
repairs (how many hops, the deepest dip repaired) and the wall time of the evaluation. Ends with
the counts the issue asks for: repaired dips, frameworks that failed the integrity check.

Usage: ``python benchmarks/reference_v2_table.py [--engines chgnet sevennet]``.
"""

from __future__ import annotations

import argparse

from workflows.physics.barrier_reference import with_reference
from workflows.physics.schemas import BarrierResult, trust_issues
from workflows.results.export import read_export
from workflows.results.reference_data import resolve_data


def _records(data: str) -> dict[str, dict]:
    return {r["candidate_id"]: r for r in read_export(resolve_data(data))}


def _flags(rec: dict) -> str:
    result = BarrierResult.model_validate(rec)
    return ", ".join(trust_issues(result.hops, result.extra)) or "trusted"


def _repairs(rec: dict) -> tuple[int, float]:
    dips = [r["dip"] for h in rec.get("hops", []) for r in h.get("repairs") or []]
    hops = sum(1 for h in rec.get("hops", []) if h.get("repairs"))
    return hops, max(dips, default=0.0)


def _recomputed(rec: dict) -> bool:
    return str((rec.get("extra") or {}).get("reference_v2", "")).startswith("recomputed")


def _cell(rec: dict | None) -> str:
    if rec is None:
        return "-"
    if not _recomputed(rec):
        return f"{rec['e_b']:.3f} ({_flags(rec)}; v1 re-measured, not recomputed)"
    hops, deepest = _repairs(rec)
    repair = f"; {hops} hop(s) repaired (dip up to {deepest:.2f} eV)" if hops else ""
    return f"{rec['e_b']:.3f} ({_flags(rec)}{repair}; {rec.get('wall_time') or 0:.0f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", nargs="+", default=["chgnet", "sevennet"])
    args = parser.parse_args()
    v1 = {cid: BarrierResult.model_validate(r) for cid, r in _records("chgnet-v1").items()}
    data = {engine: _records(engine) for engine in args.engines}
    recomputed = sorted(
        {cid for recs in data.values() for cid, r in recs.items() if _recomputed(r)}
    )
    head = ["composition", "v1 CHGNet E_b, eV (network rule; flags)"]
    head += [f"v2 {e} E_b, eV (flags; repairs; wall time)" for e in args.engines]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for cid in recomputed:
        old = with_reference(v1[cid], "network")
        v1_flags = ", ".join(trust_issues(old.hops, old.extra)) or "trusted"
        row = [cid, f"{old.e_b:.3f} ({v1_flags})"]
        row += [_cell(data[e].get(cid)) for e in args.engines]
        print("| " + " | ".join(row) + " |")
    for engine, recs in data.items():
        done = [recs[c] for c in recomputed if c in recs and _recomputed(recs[c])]
        repaired = sum(_repairs(r)[0] for r in done)
        framework = sum(1 for r in done if (r.get("extra") or {}).get("framework_failures"))
        trusted = sum(1 for r in done if _flags(r) == "trusted")
        print(
            f"\n{engine}: {len(done)} recomputed, {trusted} trusted, {repaired} hop(s) with a "
            f"repaired dip, {framework} framework(s) failing the integrity check"
        )


if __name__ == "__main__":
    main()
