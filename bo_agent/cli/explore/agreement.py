"""``tavbo agreement``: how well a low-fidelity data set ranks compositions like a high one."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["agreement"]


def agreement(
    low: Annotated[str, typer.Argument(help="Low fidelity: bvse, chgnet, synthetic or a FILE.")],
    high: Annotated[str, typer.Argument(help="High fidelity: chgnet, bvse, synthetic or a FILE.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write agreement.md, agreement.json, parity.png here."),
    ] = None,
) -> None:
    """Pearson, Spearman and Kendall correlation of two data sets, overall and per carrier.

    Only compositions both data sets hold count. Prints a markdown table; with --out also
    writes it with the paired values (JSON) and a parity plot (PNG).
    """
    from bo_agent.benchmark.agreement import agreement as compute
    from bo_agent.benchmark.agreement import agreement_markdown, plot_parity
    from bo_agent.benchmark.data import load_benchmark_data
    from workflows.errors import ConfigError

    low_data, high_data = load_benchmark_data(low), load_benchmark_data(high)
    rows = compute(low_data, high_data)
    if rows[0].n == 0:
        raise ConfigError(f"{low} and {high} share no composition; nothing to compare")
    low_name, high_name = Path(low).name.split(".")[0], Path(high).name.split(".")[0]
    table = agreement_markdown(rows, low_name, high_name)
    sys.stdout.write(table + "\n")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "agreement.md").write_text(
            f"{low_name} ({low_data.source}) against {high_name} ({high_data.source})\n\n"
            + table + "\n"
        )  # fmt: skip
        pairs = [
            {"candidate_id": i, low_name: lo, high_name: hi}
            for i, lo, hi in zip(rows[0].ids, rows[0].low, rows[0].high, strict=True)
        ]
        stats = [
            {k: getattr(r, k) for k in ("group", "n", "pearson", "spearman", "kendall",
                                        "top_k", "top_overlap")}
            for r in rows
        ]  # fmt: skip
        (out / "agreement.json").write_text(json.dumps({"stats": stats, "pairs": pairs}, indent=1))
        plot_parity(rows, out / "parity.png", low_name, high_name)
        Console(stderr=True).print(f"files in {out}/: agreement.md, agreement.json, parity.png")
