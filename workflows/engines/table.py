"""The ``table`` engine: E_b looked up in a CSV or JSON file (fidelity ``"table"``).

It answers in milliseconds with known or previously computed barriers, which makes it the
engine of replays, demos and the plumbing tests; it goes through the same FireWorks path as the
real engines. A composition missing from the table raises
:class:`~workflows.errors.CalculationError` inside the job, so its firework FIZZLES.

Table formats (energies in eV):

* CSV with a header: ``candidate_id`` (or ``id``), ``e_b``, optional ``e_b_from_min``,
  ``reference`` (what ``e_b`` is measured from, default ``endpoint``) and ``hops`` (a JSON
  list, as below).
* JSON: ``{"Na-Ga-P-F": 0.42, ...}``, or ``{"Na-Ga-P-F": {"e_b": 0.42, "hops": [...]}}``, or a
  list of records with ``candidate_id``.

A hop is a :class:`~workflows.physics.schemas.HopBarrier` dict; only ``barrier`` is required,
missing geometry reads as unknown (``length`` 0, sites -1).

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "eb.csv"
>>> _ = path.write_text("candidate_id,e_b\\nNa-Ga-P-F,0.42\\n")
>>> maker = TableBarrierMaker(table=str(path))
>>> maker.make(None, "Na-Ga-P-F").name
'table barrier Na-Ga-P-F'
"""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from jobflow import Flow, Maker, job

from workflows.errors import CalculationError, ConfigError
from workflows.physics.barrier_reference import REFERENCES, hop_barriers
from workflows.physics.schemas import BarrierResult, HopBarrier

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["TableBarrierMaker", "read_table", "table_barrier"]

#: Job name of the lookup (deterministic, so tests and ingest can address it).
JOB_NAME = "table barrier"


@dataclass
class TableBarrierMaker(Maker):
    """Barrier "engine" that reads E_b from a table.

    Parameters
    ----------
    name : str, default="table barrier"
        Name of the lookup job; the flow is named ``"<name> <candidate_id>"``.
    table : str
        Path of the CSV or JSON table (made absolute here: rockets run in launcher dirs).
    fail_ids : list of str, default=[]
        Test only: these IDs raise CalculationError, like a crashed calculation.
    delay_s : float, default=0.0
        Test only: seconds the job sleeps before answering (to interrupt a running job).
    kill_ids : list of str, default=[]
        Test only: for these IDs the job SIGKILLs its own process, like an out-of-memory kill
        or a segfault of a real engine (crash loops, kill storms).
    """

    name: str = JOB_NAME
    table: str = ""
    fail_ids: list[str] = field(default_factory=list)
    delay_s: float = 0.0
    kill_ids: list[str] = field(default_factory=list)

    engine: ClassVar[str] = "table"
    #: The table needs no structure, so :mod:`workflows.flows.submit` does not build one.
    needs_structure: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not self.table:
            raise ConfigError(
                "the table engine needs table=PATH: a CSV (candidate_id,e_b) or JSON file"
            )
        path = Path(self.table).expanduser().resolve()
        read_table(path)  # fail at submission, not in the worker
        self.table = str(path)

    def make(self, structure: Structure | None, candidate_id: str) -> Flow:
        """Flow of one lookup job whose output is the composition's BarrierResult."""
        lookup = table_barrier(
            self.table,
            candidate_id,
            fail=candidate_id in self.fail_ids,
            delay_s=self.delay_s,
            kill=candidate_id in self.kill_ids,
        )
        lookup.name = self.name
        return Flow([lookup], output=lookup.output, name=f"{self.name} {candidate_id}")


def read_table(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a barrier table: candidate ID -> ``{"e_b", "e_b_from_min", "hops"}``.

    Raises
    ------
    ConfigError
        If the file is missing, has an unknown suffix or a malformed entry.
    """
    path = Path(path)
    try:
        if path.name.endswith(".json.gz"):  # tavbo screen --export ...json.gz
            import gzip

            text = gzip.decompress(path.read_bytes()).decode()
            path = path.with_name(path.name[: -len(".gz")])
        else:
            text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read barrier table {path}: {exc.strerror}") from None
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    elif path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"barrier table {path} is not valid JSON: {exc}") from None
        if isinstance(data, dict):
            rows = [
                {"candidate_id": k, **(v if isinstance(v, dict) else {"e_b": v})}
                for k, v in data.items()
            ]
        elif isinstance(data, list):
            rows = data
        else:
            raise ConfigError(f"barrier table {path}: expected a JSON object or list")
    else:
        raise ConfigError(f"barrier table {path}: unknown suffix; expected .csv or .json")
    table: dict[str, dict[str, Any]] = {}
    for n, row in enumerate(rows, start=1):
        table.update([_parse_row(row, f"{path} entry {n}")])
    return table


def _parse_row(row: Any, where: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(row, dict):
        raise ConfigError(f"{where}: expected a record, got {type(row).__name__}")
    cid = row.get("candidate_id") or row.get("id")
    if not cid:
        raise ConfigError(f"{where}: no candidate_id (or id)")
    try:
        e_b = float(row["e_b"])
        from_min = row.get("e_b_from_min")
        from_min = float(from_min) if from_min not in (None, "") else None
        hops = row.get("hops") or []
        if isinstance(hops, str):
            hops = json.loads(hops)
        hops = [_hop(i, h) for i, h in enumerate(hops)]
        reference = row.get("reference") or "endpoint"
        if reference not in REFERENCES:
            raise ValueError(f"unknown reference {reference!r}")
    except KeyError:
        raise ConfigError(f"{where} ({cid}): no e_b") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} ({cid}): {exc}") from None
    extra = row.get("extra") if isinstance(row.get("extra"), dict) else {}
    entry = {"e_b": e_b, "e_b_from_min": from_min, "hops": hops, "reference": reference}
    entry["framework_failures"] = list(extra.get("framework_failures") or [])
    entry["committee"] = extra.get("committee")
    return str(cid), entry


def _hop(index: int, hop: Any) -> dict[str, Any]:
    if not isinstance(hop, dict):
        hop = {"barrier": float(hop)}
    out = {"hop_index": index, "length": 0.0, "isite": -1, "esite": -1, "to_jimage": (0, 0, 0)}
    out.update(hop)
    out.setdefault("barrier_from_min", out["barrier"])
    return HopBarrier.model_validate(out).model_dump()


@job(output_schema=BarrierResult)
def table_barrier(
    table: str, candidate_id: str, fail: bool = False, delay_s: float = 0.0, kill: bool = False
) -> BarrierResult:
    """Look ``candidate_id`` up in ``table`` (see :func:`read_table`).

    Raises
    ------
    CalculationError
        If the ID is not in the table, or ``fail`` (test-only simulated crash).
    """
    start = time.perf_counter()
    if delay_s > 0:
        time.sleep(delay_s)
    if fail:
        raise CalculationError(f"simulated crash of {candidate_id} (fail_ids; test only)")
    if kill:  # test only: the worker process dies mid-job (kill_ids)
        os.kill(os.getpid(), signal.SIGKILL)
    entries = read_table(table)
    if candidate_id not in entries:
        raise CalculationError(
            f"{candidate_id!r} is not in barrier table {table} ({len(entries)} entries)"
        )
    entry = entries[candidate_id]
    hops = [HopBarrier.model_validate(h) for h in entry["hops"]]
    e_b = entry["e_b"]
    barriers = hop_barriers(hops, entry["reference"])
    percolating = [h for h in hops if barriers[h.hop_index] <= e_b + 1e-9]
    from_min = entry["e_b_from_min"]
    if from_min is None and percolating:  # the network's highest hop, from its path minimum
        from_min = max(h.barrier_from_min for h in percolating)
    return BarrierResult(
        candidate_id=candidate_id,
        engine=TableBarrierMaker.engine,
        fidelity="table",
        e_b=e_b,
        e_b_from_min=from_min,
        reference=entry["reference"],
        percolating_hops=[h.hop_index for h in percolating],
        hops=hops,
        settings={"table": table},
        versions={"tavbo": _version()},
        wall_time=time.perf_counter() - start,
    )


def _version() -> str:
    try:
        return metadata.version("tavbo")
    except metadata.PackageNotFoundError:
        return "unknown"
