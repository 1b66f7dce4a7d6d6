"""``tavbo descriptors``: the composition features the Gaussian processes see."""

from __future__ import annotations

from typing import Annotated

import typer

from bo_agent.cli.formatting import print_records
from bo_agent.cli.options import CarrierOpt, FormatOpt, OutputFormat, SpaceOpt
from bo_agent.features.descriptors import compute_descriptors
from bo_agent.features.scaling import standardise
from workflows.space.compositions import load_space

__all__ = ["descriptors"]


def descriptors(
    space: SpaceOpt = None,
    carrier: CarrierOpt = None,
    standardised: Annotated[
        bool,
        typer.Option(
            "--standardised/--raw",
            help="Standardise over the whole space (what the GP sees) or print physical units.",
        ),
    ] = False,
    groups: Annotated[
        bool, typer.Option("--groups", help="Print the feature groups (site and kind) instead.")
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Print the descriptor table: one row per composition, one column per feature."""
    comp_space = load_space(space)
    pool = compute_descriptors(comp_space)
    table = standardise(pool) if standardised else pool
    if groups:
        rows = [
            {"feature": name, "site": site, "kind": kind}
            for name, site, kind in zip(table.names, table.site_of, table.kind_of, strict=True)
        ]
        print_records(rows, fmt.value, title=f"{len(rows)} features")
        return
    if carrier is not None:
        table = table.subset([c.id for c in comp_space.filter(A=carrier)])
    rows = [{"id": r.pop("id"), **r} for r in table.to_rows()]
    print_records(rows, fmt.value, title=f"{table.n_candidates} x {table.n_features} descriptors")
