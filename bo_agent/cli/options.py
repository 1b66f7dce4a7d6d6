"""Annotated option aliases shared by several commands."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["CarrierOpt", "FormatOpt", "OutputFormat", "SpaceOpt"]


class OutputFormat(StrEnum):
    """How a command prints records."""

    table = "table"
    csv = "csv"
    json = "json"


SpaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--space",
        help="Composition-space YAML file (default: the packaged 318-composition space).",
        envvar="TAVBO_SPACE",
    ),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
CarrierOpt = Annotated[
    str | None, typer.Option("--carrier", "-A", help="Only this carrier (A site), e.g. Na.")
]
