"""Why Na comes out below Li in many frameworks, and how the barriers compare with published DFT.

For every framework (M, X, Z) with both carriers in a data set, prints Na - Li E_b (network rule),
how many frameworks have Na below Li, by X, M and Z, and how that count changes when untrusted
results (dipped paths, reconstructed frameworks, unconverged NEBs) are left out; then what
distinguishes the Na-below-Li frameworks (Spearman of Na - Li against the Na/Li volume ratio, the
relaxation's volume change, hop lengths, dips). Last, Spearman and MAE against the published DFT
(GGA) Li migration energies of Jalem et al., J. Chem. Inf. Model. 55, 1158 (2015).

Usage::

    python benchmarks/na_vs_li.py                        # packaged chgnet reference
    python benchmarks/na_vs_li.py --data sevennet        # or any export file
"""

from __future__ import annotations

import argparse
import collections
import statistics

from scipy.stats import spearmanr

from workflows.physics.barrier_reference import with_reference
from workflows.physics.schemas import BarrierResult, dip_depth, trust_issues
from workflows.results.export import read_export
from workflows.results.reference_data import resolve_data

#: DFT (PBE) Li migration energies (eV), Jalem et al., J. Chem. Inf. Model. 55, 1158 (2015),
#: abstract: the five predicted candidate compositions that are in the default space.
DFT_LI = {
    "Li-Ga-P-F": 0.25,
    "Li-Gd-P-F": 0.30,
    "Li-Dy-P-F": 0.30,
    "Li-Mg-S-F": 0.21,
    "Li-Mg-Se-F": 0.11,
}


def _rows(spec: str) -> dict[str, dict]:
    out = {}
    for rec in read_export(resolve_data(spec)):
        result = BarrierResult.model_validate(rec)
        if result.hops and result.extra.get("edges") and result.reference != "network":
            result = with_reference(result, "network")
        percolating = [h for h in result.hops if h.hop_index in set(result.percolating_hops)]
        out[result.candidate_id] = {
            "e_b": result.e_b,
            "issues": trust_issues(result.hops, result.extra),
            "dip": max((dip_depth(h) for h in result.hops), default=0.0),
            "volume": result.volume,
            "relax_change": (result.volume / result.extra["initial_volume"] - 1)
            if result.volume and result.extra.get("initial_volume")
            else None,
            "hop_length": max((h.length for h in percolating), default=None),
            "n_hops": len(result.hops),
        }
    return out


def _median(xs: list[float]) -> float:
    """Median, NaN for no values (a data set with few pairs so far, e.g. SevenNet while the
    background screens run)."""
    return statistics.median(xs) if xs else float("nan")


def _spearman(xs: list[float], ys: list[float]) -> float:
    return spearmanr(xs, ys)[0] if len(xs) > 2 else float("nan")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="chgnet")
    args = parser.parse_args()
    rows = _rows(args.data)
    pairs = {}
    for cid, na in rows.items():
        if cid.startswith("Na-") and "Li-" + cid[3:] in rows:
            pairs[cid[3:]] = (rows["Li-" + cid[3:]], na)
    below = {f for f, (li, na) in pairs.items() if na["e_b"] < li["e_b"]}
    deltas = [na["e_b"] - li["e_b"] for li, na in pairs.values()]
    print(f"{args.data}: {len(pairs)} frameworks with both carriers; Na below Li in {len(below)}")
    print(f"  median Na - Li {_median(deltas):+.3f} eV")
    li_eb = [li["e_b"] for li, _ in pairs.values()]
    na_eb = [na["e_b"] for _, na in pairs.values()]
    print(f"  Spearman(Li, Na) over frameworks {_spearman(li_eb, na_eb):.2f}")
    for site, pos in (("X", 1), ("M", 0), ("Z", 2)):
        total = collections.Counter(f.split("-")[pos] for f in pairs)
        hits = collections.Counter(f.split("-")[pos] for f in below)
        text = ", ".join(f"{k} {hits[k]}/{n}" for k, n in total.most_common())
        print(f"  by {site}: {text}")
    trusted = {f: p for f, p in pairs.items() if not p[0]["issues"] and not p[1]["issues"]}
    t_below = [f for f in trusted if f in below]
    print(
        f"  untrusted pairs (either carrier dipped/reconstructed/unconverged): "
        f"{len(pairs) - len(trusted)}; of the {len(below)} Na-below-Li, "
        f"{len(below) - len(t_below)} are among them"
    )
    if trusted:
        t_deltas = [na["e_b"] - li["e_b"] for li, na in trusted.values()]
        print(
            f"  trusted pairs: {len(trusted)}, Na below Li in {len(t_below)}, "
            f"median Na - Li {_median(t_deltas):+.3f} eV"
        )
    feats = {
        "Na/Li volume ratio": lambda li, na: na["volume"] / li["volume"],
        "Na relax volume change": lambda li, na: na["relax_change"],
        "Li relax volume change": lambda li, na: li["relax_change"],
        "Na - Li longest percolating hop (A)": lambda li, na: (
            (na["hop_length"] or 0) - (li["hop_length"] or 0)
        ),
        "Li deepest dip (eV)": lambda li, na: li["dip"],
        "Na deepest dip (eV)": lambda li, na: na["dip"],
    }
    print("  medians, Na below Li / the others:")
    for name, fn in feats.items():
        groups = [[], []]
        for f, (li, na) in pairs.items():
            value = fn(li, na)
            if value is not None:
                groups[f not in below].append(value)
        low, rest = _median(groups[0]), _median(groups[1])
        print(f"    {name:38s} {low:+.3f} / {rest:+.3f}")
    print("  Spearman of Na - Li against:")
    for name, fn in feats.items():
        xs, ys = [], []
        for li, na in pairs.values():
            value = fn(li, na)
            if value is not None:
                xs.append(value)
                ys.append(na["e_b"] - li["e_b"])
        print(f"    {name:38s} {_spearman(xs, ys):+.2f} (n {len(xs)})")
    both = [c for c in DFT_LI if c in rows]
    if both:
        ours = [rows[c]["e_b"] for c in both]
        dft = [DFT_LI[c] for c in both]
        mae = statistics.mean(abs(a - b) for a, b in zip(ours, dft, strict=True))
        rho = _spearman(ours, dft)
        print(
            f"against DFT Li (Jalem 2015): n {len(both)}, Spearman {rho:+.2f}, MAE {mae:.3f} eV; "
            + ", ".join(f"{c} {rows[c]['e_b']:.2f}/{DFT_LI[c]:.2f}" for c in both)
        )


if __name__ == "__main__":
    main()
