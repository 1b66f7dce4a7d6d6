"""Compare tavbo's volume predictors with CHGNet-relaxed volumes and print a markdown table.

Each composition is built with the default (Shannon) volume, relaxed with CHGNet (cell and ions,
FIRE, fmax 0.05 eV/A), and every predictor's volume is compared with the relaxed one.

Run (about 20 s per composition on 2 cores)::

    python benchmarks/volume_predictors.py
    python benchmarks/volume_predictors.py --ids Li-Al-P-F Na-Al-P-F
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass

from workflows.errors import StructureError
from workflows.space.compositions import default_space
from workflows.structures.checks import check_structure
from workflows.structures.tavorite import VOLUME_METHODS, make_structure, predict_volume

#: Both carriers; M = Mg, Ca, Zn, Al, Ga, In, Gd, Ti, Zr; X = P, As, V, S, Se, Mo; Z = F, OH, O.
DEFAULT_IDS = (
    "Li-Al-P-F",
    "Na-Al-P-F",
    "Li-Gd-P-F",
    "Na-Ga-P-F",
    "Li-Mg-S-F",
    "Na-Ca-Se-F",
    "Li-Zn-Mo-F",
    "Li-Al-P-OH",
    "Na-In-As-OH",
    "Li-Ti-P-O",
    "Na-Zr-V-O",
)


@dataclass(frozen=True)
class Row:
    candidate_id: str
    relaxed_volume: float
    predicted: dict[str, float]
    steps: int
    seconds: float
    check: str

    def error(self, method: str) -> float:
        """Signed error of a predictor in percent of the relaxed volume."""
        return 100.0 * (self.predicted[method] / self.relaxed_volume - 1.0)


def relax_one(candidate_id: str, fmax: float) -> Row:
    from chgnet.model import StructOptimizer  # heavy (torch); imported only when relaxing

    candidate = default_space().get(candidate_id)
    structure = make_structure(candidate)
    predicted = {m: predict_volume(candidate, m) for m in VOLUME_METHODS}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = StructOptimizer().relax(
            structure.copy().remove_oxidation_states(), fmax=fmax, relax_cell=True, verbose=False
        )
    seconds = time.perf_counter() - start
    relaxed = result["final_structure"]
    try:
        check_structure(relaxed, candidate)
        check = "ok"
    except StructureError as exc:
        check = str(exc)
    return Row(
        candidate_id,
        relaxed.volume,
        predicted,
        len(result["trajectory"].energies),
        seconds,
        check,
    )


def table(rows: list[Row]) -> str:
    methods = list(VOLUME_METHODS)
    head = [
        "composition",
        "V CHGNet (A^3)",
        *[f"{m} % err" for m in methods],
        "steps",
        "s",
        "check",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        errs = [f"{r.predicted[m]:.0f} ({r.error(m):+.1f})" for m in methods]
        cells = [r.candidate_id, f"{r.relaxed_volume:.1f}", *errs, str(r.steps)]
        lines.append("| " + " | ".join([*cells, f"{r.seconds:.0f}", r.check]) + " |")
    for label, agg in (("mean abs", _mean_abs), ("max abs", _max_abs)):
        cells = [f"**{label}**", "", *[f"{agg(rows, m):.1f}" for m in methods], "", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean_abs(rows: list[Row], method: str) -> float:
    return sum(abs(r.error(method)) for r in rows) / len(rows)


def _max_abs(rows: list[Row], method: str) -> float:
    return max(abs(r.error(method)) for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", nargs="+", default=list(DEFAULT_IDS), help="candidate IDs")
    parser.add_argument("--fmax", type=float, default=0.05, help="force criterion, eV/A")
    args = parser.parse_args()
    rows = []
    for candidate_id in args.ids:
        rows.append(relax_one(candidate_id, args.fmax))
        r = rows[-1]
        print(
            f"# {candidate_id}: {r.relaxed_volume:.1f} A^3, {r.steps} steps, {r.seconds:.0f} s",
            flush=True,
        )
    print(table(rows))


if __name__ == "__main__":
    main()
