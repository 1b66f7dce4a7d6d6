"""``tavbo barriers --data``: query a reference data set or an exported file, no database."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from bo_agent.cli.main import app
from workflows.errors import ConfigError
from workflows.results.export import write_records
from workflows.results.reference_data import read_barrier_values


def _record(cid: str, e_b: float, engine: str = "chgnet") -> dict:
    return {
        "candidate_id": cid,
        "engine": engine,
        "campaign": "screen-1",
        "fidelity": "mlp-neb",
        "e_b": e_b,
        "e_b_from_min": e_b + 0.01,
        "hops": [],
        "date": "2026-11-25T10:00:00",
    }


@pytest.fixture
def export_file(tmp_path):
    path = tmp_path / "screen.json.gz"
    rows = [("Na-Ga-P-F", 0.42), ("Na-Al-P-F", 0.61), ("Li-Ga-P-F", 0.25), ("Na-Ga-As-OH", 0.38)]
    write_records([_record(cid, e_b) for cid, e_b in rows], path)
    return path


def _csv_rows(output: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(output)))


def test_filters_and_sorting_apply_to_an_exported_file(export_file):
    result = CliRunner().invoke(
        app, ["barriers", "--data", str(export_file), "-A", "Na", "--max", "0.5", "-f", "csv"]
    )
    assert result.exit_code == 0, result.output
    rows = _csv_rows(result.output)
    assert [r["id"] for r in rows] == ["Na-Ga-As-OH", "Na-Ga-P-F"]  # lowest E_b first
    assert rows[0]["engine"] == "chgnet"
    assert rows[0]["campaign"] == "screen-1"
    assert float(rows[1]["e_b_from_min"]) == pytest.approx(0.43)

    by_id = CliRunner().invoke(
        app, ["barriers", "--data", str(export_file), "--Z", "F", "--sort", "id", "-f", "json"]
    )
    assert [r["id"] for r in json.loads(by_id.output)] == ["Li-Ga-P-F", "Na-Al-P-F", "Na-Ga-P-F"]


def test_the_endpoint_barrier_is_listed_next_to_e_b_whatever_it_is_measured_from(tmp_path):
    path = tmp_path / "mixed.json"
    old = _record("Li-Ga-P-F", 0.25)  # stored before the reference existed: from the endpoint
    new = {**_record("Li-Nd-W-O", 0.93), "e_b_from_min": 0.93, "reference": "path_minimum"}
    write_records([old, {**new, "extra": {"e_b_endpoint": 0.0}}], path)
    result = CliRunner().invoke(app, ["barriers", "--data", str(path), "-f", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in _csv_rows(result.output)}
    assert float(rows["Li-Ga-P-F"]["e_b_endpoint"]) == pytest.approx(0.25)
    assert float(rows["Li-Nd-W-O"]["e_b"]) == pytest.approx(0.93)
    assert float(rows["Li-Nd-W-O"]["e_b_endpoint"]) == pytest.approx(0.0)


def test_a_plain_barrier_table_is_listed_as_the_table_engine(tmp_path):
    table = tmp_path / "mine.csv"
    table.write_text("candidate_id,e_b\nNa-Ga-P-F,0.42\nNa-Al-P-F,0.30\n")
    result = CliRunner().invoke(app, ["barriers", "--data", str(table), "-n", "1", "-f", "csv"])
    assert result.exit_code == 0, result.output
    (row,) = _csv_rows(result.output)
    assert (row["id"], row["engine"], float(row["e_b"])) == ("Na-Al-P-F", "table", 0.30)


def test_the_packaged_reference_answers_which_composition_is_best(tmp_path):
    values = read_barrier_values("bvse").values
    best = min((v, k) for k, v in values.items() if k.startswith("Na-"))[1]
    png = tmp_path / "na.png"
    result = CliRunner().invoke(
        app, ["barriers", "--data", "bvse", "-A", "Na", "-n", "1", "-f", "csv", "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in _csv_rows(result.stdout)] == [best]
    assert png.stat().st_size > 10_000


def test_a_missing_data_file_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["barriers", "--data", str(tmp_path / "nope.csv")])
    assert isinstance(result.exception, ConfigError)
    assert "--data" in str(result.exception)
    assert "no such file" in str(result.exception)
