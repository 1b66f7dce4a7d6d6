"""Turn lists of records into a rich table, CSV or JSON on stdout (the CLI's only printer)."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_records"]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list | tuple):
        return ",".join(_cell(v) for v in value)
    return "" if value is None else str(value)


def print_records(
    records: Sequence[dict[str, Any]],
    fmt: str = "table",
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """Print records (dicts sharing keys) as ``table``, ``csv`` or ``json``."""
    columns = list(columns or (records[0].keys() if records else []))
    if fmt == "json":
        sys.stdout.write(json.dumps(list(records), indent=2, default=str) + "\n")
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        sys.stdout.write(buf.getvalue())
    else:
        table = Table(title=title, show_lines=False)
        for col in columns:
            table.add_column(
                col, justify="right" if records and _is_num(records[0], col) else "left"
            )
        for rec in records:
            table.add_row(*(_cell(rec.get(c)) for c in columns))
        console = Console()
        if not console.is_terminal:  # a pipe or file: do not squeeze columns to 80
            console = Console(width=200)
        console.print(table)


def _is_num(record: dict[str, Any], col: str) -> bool:
    return isinstance(record.get(col), int | float) and not isinstance(record.get(col), bool)
