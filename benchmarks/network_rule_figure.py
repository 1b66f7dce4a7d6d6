"""Figure of the network rule for E_b: one composition's hop profiles on their common zero.

Each hop's NEB energies (eV, zero = the relaxed vacancy endpoint) against the reaction coordinate;
the hops of the percolating network drawn solid, the others dashed. E* is the lowest saddle level
at which the hops percolate, the floor the lowest point of that network; E_b = E* - floor. The
per-hop rule of reference v1 (each hop from its own minimum) is marked for comparison.

Usage::

    python benchmarks/network_rule_figure.py Li-Ga-S-O --out benchmarks/results/network_rule.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from workflows.physics.barrier_reference import network_floor, with_reference
from workflows.physics.schemas import BarrierResult
from workflows.results.export import read_export
from workflows.results.reference_data import resolve_data


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("id")
    parser.add_argument("--data", default="chgnet-v1")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/network_rule.png"))
    args = parser.parse_args()
    records = {r["candidate_id"]: r for r in read_export(resolve_data(args.data))}
    result = BarrierResult.model_validate(records[args.id])
    network = with_reference(result, "network")
    per_hop = with_reference(result, "path_minimum")
    floor = network_floor(network.hops, network.percolating_hops)
    e_star = network.e_b + floor

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for hop in result.hops:
        xs = [i / (len(hop.energies) - 1) for i in range(len(hop.energies))]
        ys = [hop.e_initial + e for e in hop.energies]
        solid = hop.hop_index in network.percolating_hops
        label = f"hop {hop.hop_index} ({hop.length:.2f} A)" + ("" if solid else ", not needed")
        ax.plot(xs, ys, "-" if solid else "--", marker="o", ms=3, lw=2 if solid else 1, label=label)
    ax.axhline(e_star, color="k", lw=0.8)
    ax.axhline(floor, color="k", lw=0.8, ls=":")
    ax.annotate("", xy=(1.04, e_star), xytext=(1.04, floor),
                arrowprops={"arrowstyle": "<->", "color": "C3"}, annotation_clip=False)  # fmt: skip
    ax.text(1.06, (e_star + floor) / 2, f"E_b = {network.e_b:.2f} eV\n(network)", color="C3",
            va="center", fontsize=9)  # fmt: skip
    ax.text(0.01, e_star, f" E* = {e_star:.2f} eV: the saddles percolate", va="bottom", fontsize=8)
    ax.text(0.01, floor, f" network floor {floor:.2f} eV", va="top", fontsize=8)
    ax.set_xlabel("reaction coordinate")
    ax.set_ylabel("E - E(relaxed vacancy endpoint), eV")
    ax.set_title(
        f"{args.id} (CHGNet, {args.data}): E_b {network.e_b:.2f} eV by the network rule, "
        f"{per_hop.e_b:.2f} eV hop by hop",
        fontsize=9,
    )
    ax.set_xlim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=130, bbox_inches="tight")
    print(f"{args.id}: E* {e_star:.3f}, floor {floor:.3f}, network E_b {network.e_b:.3f} eV, "
          f"per hop {per_hop.e_b:.3f} eV -> {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
