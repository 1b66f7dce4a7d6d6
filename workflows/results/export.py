"""Export a campaign's barrier results to a JSON file the ``table`` engine can replay."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflows.physics.schemas import Reference

logger = logging.getLogger(__name__)

__all__ = [
    "export_campaign",
    "merge_records",
    "read_export",
    "rereference_records",
    "write_records",
]


def export_campaign(
    campaign: str,
    path: str | Path,
    engine: str | None = None,
    merge: Sequence[str | Path] = (),
    reference: Reference | None = None,
) -> int:
    """Write every result of ``campaign`` (full BarrierResult records + date) to ``path``.

    The file is a JSON list sorted by candidate ID (gzip-compressed when the name ends in
    ``.gz``); each record carries E_b, every hop, the relaxed structure, settings and package
    versions. ``merge`` adds the records of other export files (:func:`merge_records`), e.g.
    of the same screening run in parallel on another store (with ``engine``, only that engine's
    records of them). ``reference`` re-measures every
    NEB record's E_b from that zero first (:func:`rereference_records`), so results computed
    under either convention can be merged and compared. Returns the number of records.
    """
    from workflows.results.barrier_filter import BarrierFilter
    from workflows.results.documents import find_barriers

    docs = find_barriers(BarrierFilter(campaign=campaign, engine=engine, sort="id"))
    records = []
    for doc in docs:
        rec = doc.to_result().model_dump(mode="json")
        rec["campaign"] = campaign
        rec["date"] = doc.created.isoformat(timespec="seconds") if doc.created else None
        records.append(rec)
    missing = [str(p) for p in merge if not Path(p).is_file()]
    if missing:
        from workflows.errors import ConfigError

        raise ConfigError(f"export file to merge not found: {', '.join(missing)}")
    parts = [records, *(read_export(p) for p in merge)]
    if engine is not None:  # the merged files too: an export of one engine holds only its results
        parts = [[r for r in part if r.get("engine") == engine] for part in parts]
    if reference is not None:
        parts = [rereference_records(part, reference) for part in parts]
    records = merge_records(parts, sources=[f"campaign {campaign}", *map(str, merge)])
    return write_records(records, path)


def rereference_records(records: list[dict], reference: Reference) -> list[dict]:
    """Export records with E_b measured from ``reference`` (see ``barrier_reference``).

    Records already measured from ``reference`` are returned unchanged; other keys of a record
    (campaign, date) are kept.

    Raises
    ------
    ConfigError
        If a record has no per-hop profiles to re-measure (BVSE, table), naming it.
    """
    from workflows.physics.barrier_reference import with_reference
    from workflows.physics.schemas import BarrierResult

    out = []
    for rec in records:
        if rec.get("reference", "endpoint") == reference:
            out.append(rec)
            continue
        result = with_reference(BarrierResult.model_validate(rec), reference)
        out.append({**rec, **result.model_dump(mode="json")})
    return out


def merge_records(parts: list[list[dict]], sources: list[str]) -> list[dict]:
    """Union of export records by (candidate ID, engine), sorted by ID.

    The same composition in two parts must carry the same E_b (a repeated record of one
    screening), with one exception: a rerun of an unconverged NEB. A record whose NEBs all
    converged replaces one with an unconverged hop, and of two unconverged ones the record with
    the higher NEB step limit (``settings.max_steps``) wins. Any other pair of different results
    is a conflict, not a choice.

    Raises
    ------
    ConfigError
        Naming the composition and both sources when two parts disagree.
    """
    from workflows.errors import ConfigError

    merged: dict[tuple[str, str], tuple[dict, str]] = {}
    for records, source in zip(parts, sources, strict=True):
        for rec in records:
            key = (rec["candidate_id"], rec.get("engine", ""))
            if key in merged:
                other, where = merged[key]
                if other.get("e_b") == rec.get("e_b"):
                    continue
                new, old = _rerun_rank(rec), _rerun_rank(other)
                if new == old or (new[0] and old[0]):  # not a rerun of an unconverged NEB
                    raise ConfigError(
                        f"{key[0]} ({key[1]}) has E_b {other.get('e_b')} in {where} but "
                        f"{rec.get('e_b')} in {source}; merge refused"
                    )
                if new < old:
                    continue
                logger.info("%s: the rerun in %s replaces the result in %s", key[0], source, where)
            merged[key] = (rec, source)
    return [rec for _, (rec, _) in sorted(merged.items())]


def _rerun_rank(rec: dict) -> tuple[bool, int]:
    """(every NEB converged, NEB step limit): the higher record is the better rerun."""
    hops = rec.get("hops") or []
    converged = all(h.get("converged", True) for h in hops if isinstance(h, dict))
    return converged, int((rec.get("settings") or {}).get("max_steps") or 0)


def write_records(records: list[dict], path: str | Path) -> int:
    """Write export records atomically (gzip when the name ends in ``.gz``); their number.

    The gzip header carries no time or name, so the same records give the same bytes: a data
    file rewritten unchanged (a merge, a progress save) shows no change in git."""
    text = json.dumps(records, indent=1, sort_keys=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.name.endswith(".gz"):
        tmp.write_bytes(gzip.compress(text.encode(), mtime=0))
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
