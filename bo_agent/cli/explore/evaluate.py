"""``tavbo evaluate``: compute E_b of one composition end to end, in this process."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from bo_agent.cli.formatting import print_records
from bo_agent.cli.options import FormatOpt, OutputFormat, SpaceOpt
from workflows.errors import ConfigError
from workflows.flows.evaluation import evaluate as evaluate_composition

__all__ = ["HOP_COLUMNS", "evaluate", "parse_settings"]

#: Columns of the hop table.
HOP_COLUMNS = ["hop", "length", "barrier", "from_min", "multiplicity", "percolating"]
HOP_COLUMNS += ["converged"]


def parse_settings(pairs: list[str] | None) -> dict[str, Any]:
    """``["table=eb.csv", "delay_s=2"]`` -> ``{"table": "eb.csv", "delay_s": 2}``.

    Values are read as JSON when they parse (numbers, true/false, lists), else as strings.
    """
    settings: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"bad --set {pair!r}: expected KEY=VALUE, e.g. table=eb.csv")
        try:
            settings[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            settings[key.strip()] = value
    return settings


def evaluate(
    candidate_id: Annotated[
        str, typer.Argument(metavar="ID", help="Composition ID, e.g. Na-Ga-P-F")
    ],
    engine: Annotated[
        str,
        typer.Option(
            "--engine", "-e", help="Barrier engine: vasp, chgnet, sevennet, bvse or table."
        ),
    ],
    campaign: Annotated[
        str, typer.Option("--campaign", "-c", help="Campaign the result belongs to.")
    ] = "default",
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            metavar="KEY=VALUE",
            help="Engine setting (a field of its maker), repeatable: -s table=eb.csv",
        ),
    ] = None,
    retry: Annotated[
        bool, typer.Option("--retry", help="Submit again if an earlier evaluation FIZZLED.")
    ] = False,
    space: SpaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Evaluate one composition with one engine on this machine and print E_b and its hops.

    Runs the FireWorks workflow in this process (the embedded LaunchPad by default, or
    TAVBO_LAUNCHPAD_FILE) and stores the result; an existing result is shown, not recomputed.
    Interrupted runs are resumed by running the same command again.
    """
    result = evaluate_composition(
        candidate_id,
        engine,
        campaign,
        space=space,
        retry_failed=retry,
        **parse_settings(setting),
    )
    if fmt == OutputFormat.json:
        print_records([result.model_dump(mode="json")], "json")
        return
    percolating = set(result.percolating_hops)
    rows = [
        {
            "hop": hop.hop_index,
            "length": hop.length,
            "barrier": hop.barrier,
            "from_min": hop.barrier_from_min,
            "multiplicity": hop.multiplicity,
            "percolating": "yes" if hop.hop_index in percolating else "",
            "converged": "yes" if hop.converged else "NO",
        }
        for hop in result.hops
    ]
    from_min = "" if result.e_b_from_min is None else f", {result.e_b_from_min:.3f} eV from min"
    title = (
        f"{result.candidate_id} ({result.engine}, {result.fidelity}, campaign {campaign}): "
        f"E_b = {result.e_b:.3f} eV{from_min}"
    )
    if fmt == OutputFormat.csv:  # one line per hop, with the composition's E_b
        for row in rows:
            row.update(id=result.candidate_id, engine=result.engine, e_b=result.e_b)
        print_records(rows, "csv", columns=["id", "engine", "e_b", *HOP_COLUMNS])
    elif rows:
        print_records(rows, "table", title=title, columns=HOP_COLUMNS)
    else:
        typer.echo(
            f"{title}\n  no hop barriers stored with this result (e.g. a table without hops)"
        )
