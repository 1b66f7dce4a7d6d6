"""Export a campaign's barrier results to a JSON file the ``table`` engine can replay."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

__all__ = ["export_campaign", "read_export"]


def export_campaign(campaign: str, path: str | Path, engine: str | None = None) -> int:
    """Write every result of ``campaign`` (full BarrierResult records + date) to ``path``.

    The file is a JSON list sorted by candidate ID (gzip-compressed when the name ends in
    ``.gz``); each record carries E_b, every hop, the relaxed structure, settings and package
    versions. Returns the number of records.
    """
    from workflows.documents import find_barriers

    docs = find_barriers(campaign=campaign, engine=engine, sort="id")
    records = []
    for doc in docs:
        rec = doc.to_result().model_dump(mode="json")
        rec["campaign"] = campaign
        rec["date"] = doc.created.isoformat(timespec="seconds") if doc.created else None
        records.append(rec)
    text = json.dumps(records, indent=1, sort_keys=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.name.endswith(".gz"):
        with gzip.open(tmp, "wt") as fh:
            fh.write(text)
    else:
        tmp.write_text(text)
    tmp.replace(path)
    return len(records)


def read_export(path: str | Path) -> list[dict]:
    """Records of an export file (plain or gzip JSON)."""
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        return json.load(fh)
