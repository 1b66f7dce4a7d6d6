"""``tavbo descriptors``: the composition features the Gaussian processes see."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

from bo_agent.cli.formatting import print_records
from bo_agent.cli.options import CarrierOpt, FormatOpt, OutputFormat, SpaceOpt
from bo_agent.features.descriptors import compute_descriptors
from bo_agent.features.scaling import standardise
from workflows.errors import ConfigError, UnknownCompositionError
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
    ids: Annotated[
        list[str] | None,
        typer.Option("--id", help="Show these compositions' features, one row per feature."),
    ] = None,
    wide: Annotated[
        bool,
        typer.Option("--wide", help="The full matrix: one row per composition (34 columns)."),
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """The descriptors the GP sees, grouped by site and kind.

    The table view has one row per feature (its range over the space, or the values of the
    compositions given with --id), readable at any terminal width; --wide, --format csv and
    --format json give the full matrix, one row per composition.
    """
    comp_space = load_space(space)
    pool = compute_descriptors(comp_space)
    table = standardise(pool) if standardised else pool
    scale = "standardised" if standardised else "physical units"
    if groups:
        if carrier is not None or ids or wide:
            given = "--carrier" if carrier is not None else "--id" if ids else "--wide"
            raise ConfigError(f"--groups lists the features, not compositions: drop {given}")
        rows = [
            {"feature": name, "site": site, "kind": kind}
            for name, site, kind in zip(table.names, table.site_of, table.kind_of, strict=True)
        ]
        print_records(rows, fmt.value, title=f"{len(rows)} features")
        return
    if carrier is not None:
        table = table.subset([c.id for c in comp_space.filter(A=carrier)])
    if ids:
        missing = [i for i in ids if i not in table.ids]
        if missing:
            raise UnknownCompositionError(f"{missing[0]!r} is not in the composition space")
        table = table.subset(list(ids))
    if wide or fmt != OutputFormat.table:
        rows = [{"id": r.pop("id"), **r} for r in table.to_rows()]
        title = f"{table.n_candidates} x {table.n_features} descriptors ({scale})"
        print_records(rows, fmt.value, title=title)
        return
    values = np.asarray(table.values)
    rows = []
    for j, (name, site, kind) in enumerate(
        zip(table.names, table.site_of, table.kind_of, strict=True)
    ):
        row: dict[str, object] = {"feature": name, "site": site, "kind": kind}
        if ids:
            row.update({cid: float(values[i, j]) for i, cid in enumerate(table.ids)})
        else:
            col = values[:, j]
            row.update(min=float(col.min()), median=float(np.median(col)), max=float(col.max()))
        rows.append(row)
    what = ", ".join(ids) if ids else f"range over {table.n_candidates} compositions"
    print_records(rows, "table", title=f"{table.n_features} descriptors ({scale}): {what}")
