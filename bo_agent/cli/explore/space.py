"""``tavbo space list|show``: browse the composition space."""

from __future__ import annotations

from typing import Annotated

import typer

from bo_agent.cli.formatting import print_records
from bo_agent.cli.options import CarrierOpt, FormatOpt, OutputFormat, SpaceOpt
from workflows.space.compositions import load_space

__all__ = ["space_app"]

space_app = typer.Typer(help="Browse the composition space (IDs, formulas, oxidation states).")


@space_app.command("list")
def list_space(
    space: SpaceOpt = None,
    carrier: CarrierOpt = None,
    m: Annotated[str | None, typer.Option("--M", help="Only this M-site element.")] = None,
    x: Annotated[str | None, typer.Option("--X", help="Only this X-site element.")] = None,
    z: Annotated[str | None, typer.Option("--Z", help="Only this Z anion (F, OH, O).")] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """List compositions (ID, formula, oxidation states), optionally filtered by site."""
    comp_space = load_space(space)
    rows = [c.as_dict() for c in comp_space.filter(A=carrier, M=m, X=x, Z=z)]
    print_records(rows, fmt.value, title=f"{comp_space.name}: {len(rows)} compositions")


@space_app.command("show")
def show(
    candidate_id: Annotated[
        str, typer.Argument(metavar="ID", help="Composition ID, e.g. Na-Ga-P-F")
    ],
    space: SpaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Show one composition: sites, oxidation states and formula."""
    cand = load_space(space).get(candidate_id)
    record = cand.as_dict() | {"charge": cand.charge}
    if fmt == OutputFormat.table:
        print_records([{"field": k, "value": v} for k, v in record.items()], "table", title=cand.id)
    else:
        print_records([record], fmt.value)
