"""The files of a finished run: :func:`write_outputs` writes everything into one directory.

Curves and summary as CSV, every evaluation of every trial as ``traces.csv.gz``, the figures
(:mod:`.plots`), ``run.json`` (settings, seeds, data set, command, per-trial CPU seconds) and
``summary.md`` (:mod:`.tables`). Files are written to a temporary name and renamed, so an
interrupted run leaves no half-written CSV. :func:`read_outputs` rebuilds the run from
``run.json`` and ``traces.csv.gz``, so tables and figures can be redrawn without rerunning
trials (``tavbo benchmark --replot DIR``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bo_agent.benchmark.plots import plot_optimum, plot_stopping, plot_threshold
from bo_agent.benchmark.settings import PEER_POOL, settings_dict
from bo_agent.benchmark.tables import (
    optimum_curves,
    stopping_rows,
    stopping_trials,
    summary_markdown,
    summary_rows,
    threshold_curves,
)

if TYPE_CHECKING:
    from bo_agent.benchmark.results import BenchmarkRun

__all__ = ["read_outputs", "write_outputs"]


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]], gz: bool = False) -> Path:
    import csv
    import gzip
    import io

    buf = io.StringIO()
    if rows:
        fields = list(dict.fromkeys(k for row in rows for k in row))  # rows may differ in keys
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp = path.with_name(path.name + ".tmp")
    if gz:
        with gzip.open(tmp, "wt") as fh:
            fh.write(buf.getvalue())
    else:
        tmp.write_text(buf.getvalue())
    tmp.replace(path)
    return path


def _trace_rows(run: BenchmarkRun) -> list[dict[str, Any]]:
    return [
        {
            "figure": r.figure,
            "strategy": r.strategy,
            "tau_name": r.tau_name,
            "trial": r.trial,
            "seed": r.seed,
            "t": t,
            "candidate_id": cid,
            "e_b": e_b,
            "step": step,
        }
        for r in run.results
        for t, (cid, e_b, step) in enumerate(zip(r.ids, r.e_b, r.steps, strict=True), start=1)
    ]


def write_outputs(run: BenchmarkRun, out: Path) -> dict[str, Path]:
    """Write the curves, traces, summary, run record and figures into ``out``.

    Files: ``optimum_curves.csv``, ``threshold_curves.csv`` (when run), ``summary.csv``,
    ``traces.csv.gz`` (every evaluation of every trial), ``optimum.png``, ``threshold.png``,
    ``stopping.csv`` / ``stopping_trials.csv`` / ``stopping.png`` (when run), ``run.json``
    (settings, seeds, data set, command, per-trial CPU seconds) and ``summary.md``.
    """
    import json

    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    figures = {r.figure for r in run.results}
    if "optimum" in figures:
        files["optimum_curves"] = _write_csv(out / "optimum_curves.csv", optimum_curves(run))
        files["optimum_plot"] = plot_optimum(run, out / "optimum.png")
    if "threshold" in figures:
        files["threshold_curves"] = _write_csv(out / "threshold_curves.csv", threshold_curves(run))
        files["threshold_plot"] = plot_threshold(run, out / "threshold.png")
    if "stopping" in figures:
        files["stopping"] = _write_csv(out / "stopping.csv", stopping_rows(run))
        files["stopping_trials"] = _write_csv(out / "stopping_trials.csv", stopping_trials(run))
        files["stopping_plot"] = plot_stopping(run, out / "stopping.png")
    files["summary_csv"] = _write_csv(out / "summary.csv", summary_rows(run))
    files["traces"] = _write_csv(out / "traces.csv.gz", _trace_rows(run), gz=True)
    record = {
        "command": run.command,
        "settings": settings_dict(run.settings),
        "data": run.data.source,
        "optimum": run.optimum,
        "taus": run.taus,
        "below": run.below,
        "wall_seconds": run.wall_seconds,
        "n_pool": run.n_pool,
        "n_failed": run.n_failed,
        "n_source": run.n_source,
        "peer_pool": PEER_POOL,
        "trials": [
            {k: v for k, v in asdict(r).items() if k not in ("ids", "e_b", "steps")}
            for r in run.results
        ],
    }
    (out / "run.json").write_text(json.dumps(record, indent=1))
    files["run"] = out / "run.json"
    run.files = files
    (out / "summary.md").write_text(summary_markdown(run))
    files["summary"] = out / "summary.md"
    return files


def read_outputs(out: Path) -> BenchmarkRun:
    """The run that :func:`write_outputs` wrote into ``out`` (trials rebuilt from the traces).

    Raises
    ------
    ConfigError
        If ``out`` holds no ``run.json`` and ``traces.csv.gz`` of a benchmark.
    """
    import csv
    import gzip
    import json

    from bo_agent.benchmark.data import BenchmarkData
    from bo_agent.benchmark.results import BenchmarkRun, TrialResult
    from bo_agent.benchmark.settings import BenchmarkSettings
    from workflows.errors import ConfigError

    try:
        record = json.loads((out / "run.json").read_text())
        with gzip.open(out / "traces.csv.gz", "rt") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{out} holds no readable benchmark run ({exc})") from None
    fields = BenchmarkSettings.__dataclass_fields__
    # runs written before failed_value was a setting used the then default, none
    stored = {"failed_value": "none", **record["settings"]}
    settings = BenchmarkSettings(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items() if k in fields}
    )
    steps: dict[tuple[str, str, str, int], list[dict[str, str]]] = {}
    for row in rows:
        key = (row["figure"], row["strategy"], row["tau_name"], int(row["trial"]))
        steps.setdefault(key, []).append(row)
    results = []
    for t in record["trials"]:
        trace = steps.get((t["figure"], t["strategy"], t["tau_name"], t["trial"]), [])
        trace.sort(key=lambda r: int(r["t"]))
        results.append(
            TrialResult(
                figure=t["figure"],
                strategy=t["strategy"],
                trial=t["trial"],
                seed=t["seed"],
                tau=t["tau"],
                tau_name=t["tau_name"],
                ids=[r["candidate_id"] for r in trace],
                e_b=[float(r["e_b"]) if r["e_b"] not in ("", None) else None for r in trace],
                steps=[r["step"] for r in trace],
                cpu_seconds=t["cpu_seconds"],
                stop_reason=t.get("stop_reason"),
            )
        )
    n_pool, n_source = record.get("n_pool"), record.get("n_source")
    if n_pool is None or n_source is None:  # runs saved before run.json held the counts
        n_pool = _count(record["data"], settings.carrier)
        n_source = _count(settings.source_data or record["data"], settings.source_carrier)
    return BenchmarkRun(
        settings=settings,
        data=BenchmarkData({}, record["data"]),
        optimum=record["optimum"],
        taus=record["taus"],
        below=record["below"],
        results=results,
        wall_seconds=record["wall_seconds"],
        n_pool=n_pool,
        n_failed=int(record.get("n_failed", 0)),
        n_source=n_source,
        command=record.get("command", ""),
    )


def _count(data: str, carrier: str) -> int:
    """Results of ``carrier`` in a data set (runs saved before ``run.json`` held the counts)."""
    from bo_agent.benchmark.data import load_benchmark_data, synthetic_data
    from workflows.errors import ConfigError

    try:
        dataset = synthetic_data() if data.startswith("synthetic") else load_benchmark_data(data)
    except ConfigError:
        return 0
    return len(dataset.carrier(carrier))
