"""``tavbo barriers``: query the results database (read-only)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bo_agent.cli.formatting import print_records
from bo_agent.cli.options import CarrierOpt, FormatOpt, OutputFormat, SpaceOpt
from workflows.errors import ConfigError
from workflows.launchpad.opening import using_launchpad
from workflows.results.barrier_filter import BarrierFilter
from workflows.results.documents import find_barriers
from workflows.results.reference_data import (
    REFERENCE_DATA,
    read_barrier_summaries,
    select_summaries,
)

__all__ = ["CSV_COLUMNS", "TABLE_COLUMNS", "SortKey", "barriers"]

#: Columns of the table output (the sites are in the ID).
TABLE_COLUMNS = ["id", "engine", "campaign", "e_b", "e_b_from_min", "e_b_endpoint", "fidelity"]
TABLE_COLUMNS += ["n_hops", "converged", "flags", "created"]
#: Columns of the CSV output (JSON has every field of the summary, fw_ids included).
CSV_COLUMNS = ["id", "engine", "campaign", "A", "M", "X", "Z", "e_b", "e_b_from_min"]
CSV_COLUMNS += ["e_b_endpoint", "fidelity", "n_hops", "converged", "flags", "decision", "created"]


class SortKey(StrEnum):
    """Sort order of ``tavbo barriers``."""

    e_b = "e_b"
    id = "id"


def barriers(
    carrier: CarrierOpt = None,
    m: Annotated[str | None, typer.Option("--M", help="Only this M-site element.")] = None,
    x: Annotated[str | None, typer.Option("--X", help="Only this X-site element.")] = None,
    z: Annotated[str | None, typer.Option("--Z", help="Only this Z anion (F, OH, O).")] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", "-e", help="Only this engine (table, bvse, ...).")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", "-c", help="Only this campaign.")
    ] = None,
    e_min: Annotated[
        float | None, typer.Option("--min", help="Lowest E_b to show, eV (inclusive).")
    ] = None,
    e_max: Annotated[
        float | None, typer.Option("--max", help="Highest E_b to show, eV (inclusive).")
    ] = None,
    sort: Annotated[SortKey, typer.Option("--sort", help="Sort by E_b or by ID.")] = SortKey.e_b,
    desc: Annotated[bool, typer.Option("--desc", help="Sort in descending order.")] = False,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="Show at most this many (0: all).")
    ] = 0,
    fmt: FormatOpt = OutputFormat.table,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Also draw the E_b map of the listed barriers (M x X grid per carrier and Z) "
            "to this PNG.",
        ),
    ] = None,
    space: SpaceOpt = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help=f"Query a data set instead of the database: {' or '.join(REFERENCE_DATA)} "
            "(the packaged reference E_b of the whole space) or a `tavbo screen --export` "
            "file / barrier table.",
        ),
    ] = None,
) -> None:
    """List computed barriers E_b (eV), filtered by site, engine, campaign and E_b range.

    Reads the last checkpoint of the embedded store (no lock: works while an evaluation runs)
    or the MongoDB LaunchPad set by TAVBO_LAUNCHPAD_FILE; with --data, a reference data set
    or an exported file instead.
    """
    query = BarrierFilter(
        campaign=campaign,
        engine=engine,
        carrier=carrier,
        m=m,
        x=x,
        z=z,
        e_min=e_min,
        e_max=e_max,
        sort=sort.value,
        descending=desc,
        limit=limit,
    )
    if data is not None:
        rows = select_summaries(read_barrier_summaries(data)[0], query)
    else:
        with using_launchpad(read_only=True):
            rows = [doc.summary() for doc in find_barriers(query)]
    if plot is not None:
        _plot_map(rows, plot, space)
    if fmt == OutputFormat.json:
        print_records(rows, "json")
        return
    title = f"{len(rows)} barrier{'s' if len(rows) != 1 else ''} (E_b in eV)"
    columns = CSV_COLUMNS if fmt == OutputFormat.csv else TABLE_COLUMNS
    print_records(rows, fmt.value, title=title, columns=columns)


def _plot_map(rows: list[dict[str, Any]], path: Path, space: Path | None) -> None:
    """The E_b map of ``rows``; one value per composition, so mixed engines must be filtered."""
    from rich.console import Console

    from bo_agent.figures.barrier_map import plot_barrier_map
    from workflows.space.compositions import load_space

    values: dict[str, float] = {}
    for row in rows:
        seen = values.setdefault(row["id"], row["e_b"])
        if seen != row["e_b"]:
            raise ConfigError(
                f"--plot: {row['id']} has several E_b ({seen:.3f} and {row['e_b']:.3f} eV); "
                "choose one engine and campaign with --engine and --campaign"
            )
    comp_space = load_space(space)
    unknown = sorted(set(values) - set(comp_space.ids))
    if unknown:
        raise ConfigError(
            f"--plot: {unknown[0]} is not in the composition space {comp_space.name!r}"
        )
    out = plot_barrier_map(values, comp_space, path, title=f"{len(values)} barriers (E_b, eV)")
    Console(stderr=True).print(f"wrote {out}")
