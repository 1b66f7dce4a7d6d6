"""E_b maps of the packaged reference data sets (M x X grid per carrier and Z anion).

    python benchmarks/reference_maps.py [--out benchmarks/results/maps]

Writes ``<out>/<engine>.png`` for each packaged reference and prints how many compositions each
holds. The same map of any campaign's results: ``tavbo barriers -c CAMPAIGN --plot map.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bo_agent.figures.barrier_map import plot_barrier_map
from workflows.results.reference_data import REFERENCE_DATA, read_barrier_values, reference_path
from workflows.space.compositions import default_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/maps"))
    args = parser.parse_args()
    space = default_space()
    for name in REFERENCE_DATA:
        if not reference_path(name).exists():
            print(f"{name}: no packaged reference yet")
            continue
        values, _, unconverged = read_barrier_values(name)
        title = f"{name} reference: E_b of {len(values)} of {len(space)} compositions"
        if unconverged:
            title += f" ({len(unconverged)} unconverged NEBs left out)"
        path = plot_barrier_map(values, space, args.out / f"{name}.png", title=title)
        print(f"{name}: {len(values)} compositions -> {path}")


if __name__ == "__main__":
    main()
