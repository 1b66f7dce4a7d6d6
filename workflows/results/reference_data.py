"""Barrier data sets known in advance: the packaged references, or any exported barrier table.

The packaged references (:data:`REFERENCE_DATA`) are ``tavbo screen --export`` files of the
whole default space (``workflows/data/reference_<engine>.json.gz``). Benchmarks replay
campaigns against them, and a campaign can take one as its transfer source (the fidelity
ladder: a cheap engine's E_b of every composition informs the GP of an expensive one).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

from workflows.errors import ConfigError
from workflows.results.barrier_filter import BarrierFilter

__all__ = [
    "REFERENCE_DATA",
    "BarrierValues",
    "entry_issues",
    "read_barrier_summaries",
    "read_barrier_values",
    "reference_path",
    "resolve_data",
    "select_summaries",
]

#: Reference data sets shipped with tavbo (``tavbo screen --engine NAME --export ...``):
#: ``chgnet`` is v2 (network E_b, dip repairs, framework checks; docs/reference_v2.md),
#: ``chgnet-v1`` the first CHGNet screen as shipped before, ``sevennet`` the second potential.
REFERENCE_DATA = ("chgnet", "bvse", "sevennet", "chgnet-v1")


def reference_path(name: str) -> Path:
    """Path of the packaged reference data set ``name`` (one of :data:`REFERENCE_DATA`)."""
    import workflows.data

    return Path(workflows.data.__file__).parent / f"reference_{name}.json.gz"


class BarrierValues(NamedTuple):
    """E_b of a barrier table, split by whether the composition's result can be trusted."""

    values: dict[str, float]  #: finite E_b (eV) of trusted results, by candidate ID
    path: Path  #: the file they were read from
    #: IDs left out: a hop's NEB did not converge, a path dips below its endpoint, or the
    #: framework reconstructed (:func:`workflows.physics.schemas.trust_issues`)
    flagged: frozenset[str] = frozenset()


def read_barrier_values(
    spec: str | Path, option: str = "--data", *, unconverged: bool = False, untrusted: bool = False
) -> BarrierValues:
    """Finite E_b (eV) by candidate ID of a packaged reference (by name) or a barrier table.

    A result whose NEB of some hop did not converge (unless ``unconverged``), or whose path dips
    below its endpoint or whose framework reconstructed (unless ``untrusted``), is left out of
    ``values`` and listed in ``flagged``, as a campaign leaves it out of its GP.

    Parameters
    ----------
    spec : str or Path
        ``"chgnet"`` or ``"bvse"`` (packaged), or a CSV/JSON(.gz) table the ``table`` engine
        reads, such as a ``tavbo screen --export`` file.
    option : str, default="--data"
        How the user gave ``spec``, for the error message.
    unconverged : bool, default=False
        Keep unconverged results in ``values`` (the campaign option ``unconverged: use``).
    untrusted : bool, default=False
        Keep dipped and reconstructed results (the campaign option ``untrusted: use``).

    Raises
    ------
    ConfigError
        If the reference file has not been generated yet (the message says how), the file does
        not exist or cannot be parsed, or it holds no finite E_b.
    """
    from workflows.engines.table import read_table

    path = resolve_data(spec, option)
    table = read_table(path)
    values = {cid: float(row["e_b"]) for cid, row in table.items() if row["e_b"] is not None}
    values = {k: v for k, v in values.items() if math.isfinite(v)}
    ignored = ({"unconverged"} if unconverged else set()) | (
        {"dipped", "framework"} if untrusted else set()
    )
    flagged = frozenset(cid for cid in values if set(entry_issues(table[cid])) - ignored)
    values = {k: v for k, v in values.items() if k not in flagged}
    if not values:
        raise ConfigError(f"barrier table {path} holds no finite E_b")
    return BarrierValues(values, path, flagged)


def entry_issues(entry: dict) -> dict[str, str]:
    """:func:`~workflows.physics.schemas.trust_issues` of one barrier-table entry."""
    from workflows.physics.schemas import HopBarrier, trust_issues

    hops = [HopBarrier.model_validate(h) for h in entry.get("hops") or []]
    return trust_issues(hops, {"framework_failures": entry.get("framework_failures")})


def resolve_data(spec: str | Path, option: str = "--data") -> Path:
    """File of a packaged reference (by name) or of a barrier table given by path.

    Raises
    ------
    ConfigError
        If the reference has not been generated yet (the message says how) or the file does
        not exist.
    """
    if str(spec) in REFERENCE_DATA:
        path = reference_path(str(spec))
        if not path.exists():
            raise ConfigError(
                f"reference data set {str(spec)!r} is not there yet ({path}); compute it with "
                f"`tavbo screen --engine {spec} --export {path}` (every composition, both "
                f"carriers), or pass {option} FILE"
            )
        return path
    path = Path(spec).expanduser()
    if not path.exists():
        raise ConfigError(
            f"{option} {spec}: no such file; expected one of {list(REFERENCE_DATA)} "
            "or a CSV/JSON barrier table"
        )
    return path


def read_barrier_summaries(spec: str | Path, option: str = "--data") -> tuple[list[dict], Path]:
    """Rows of a data set in the shape of :meth:`BarrierDocument.summary`, and its file.

    A ``tavbo screen --export`` file (packaged references included) keeps its engine,
    campaign, fidelity and date; a plain barrier table (CSV/JSON of the ``table`` engine) has
    only E_b and hops, and its engine is shown as ``table``.
    """
    from workflows.engines.table import read_table
    from workflows.physics.barrier_reference import endpoint_e_b
    from workflows.physics.schemas import HopBarrier, unconverged_hops
    from workflows.results.export import read_export

    path = resolve_data(spec, option)
    table = read_table(path)  # validates every entry, whatever the format
    records: dict[str, dict] = {}
    if path.name.endswith((".json", ".json.gz")):
        data = read_export(path)
        if isinstance(data, list):
            records = {r.get("candidate_id") or r.get("id"): r for r in data}
    rows = []
    for cid, entry in table.items():
        rec = records.get(cid, {})
        sites = cid.split("-")
        a, m, x, z = sites if len(sites) == 4 else (None,) * 4
        rows.append(
            {
                "campaign": rec.get("campaign"),
                "id": cid,
                "engine": rec.get("engine", "table"),
                "A": a,
                "M": m,
                "X": x,
                "Z": z,
                "e_b": entry["e_b"],
                "e_b_from_min": entry.get("e_b_from_min"),
                "e_b_endpoint": endpoint_e_b(
                    entry["e_b"], entry.get("reference"), rec.get("extra")
                ),
                "fidelity": rec.get("fidelity"),
                "n_hops": len(entry.get("hops") or []),
                "converged": not unconverged_hops(
                    HopBarrier.model_validate(h) for h in entry.get("hops") or []
                ),
                "flags": ", ".join(
                    [*entry_issues(entry), *(["committee"] if _disagrees(entry) else [])]
                ),
                "decision": None,
                "fw_ids": [],
                "created": rec.get("date"),
            }
        )
    return rows, path


def _disagrees(entry: dict) -> bool:
    committee = entry.get("committee")
    return bool(isinstance(committee, dict) and committee.get("disagree"))


def select_summaries(rows: list[dict], query: BarrierFilter | None = None) -> list[dict]:
    """Summary rows filtered and ordered as :func:`workflows.results.documents.find_barriers`
    orders documents (the same :class:`~workflows.results.barrier_filter.BarrierFilter`)."""
    return (query or BarrierFilter()).select(rows)
