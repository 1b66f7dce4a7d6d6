from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bo_agent.benchmark.agreement import agreement
from bo_agent.benchmark.data import BenchmarkData
from bo_agent.cli.main import app

HIGH = {f"Li-M{i}-P-F": 0.1 * i for i in range(1, 21)} | {
    f"Na-M{i}-P-F": 0.3 + 0.05 * i for i in range(1, 21)
}


def test_monotone_low_fidelity_ranks_perfectly_but_is_not_linear():
    low = BenchmarkData({k: math.exp(5 * v) for k, v in HIGH.items()}, "low")
    rows = {r.group: r for r in agreement(low, BenchmarkData(HIGH, "high"))}
    assert set(rows) == {"all", "Li", "Na"}
    assert rows["Li"].n == rows["Na"].n == 20
    assert rows["Li"].spearman == rows["Na"].spearman == 1.0
    assert rows["Li"].pearson < 0.95
    assert rows["Na"].top_overlap == rows["Na"].top_k == 6  # a third of 20


def test_only_shared_compositions_count_and_a_reversed_ranking_is_negative():
    low = {k: -v for k, v in HIGH.items() if k.startswith("Na")} | {"Na-Extra-P-F": 9.0}
    rows = {r.group: r for r in agreement(BenchmarkData(low, "low"), BenchmarkData(HIGH, "high"))}
    assert set(rows) == {"all", "Na"}
    assert rows["all"].n == 20
    assert "Na-Extra-P-F" not in rows["all"].ids
    assert rows["Na"].spearman == -1.0
    assert rows["Na"].top_overlap == 0  # the best 6 of 20, reversed, are the worst 6


def test_the_absolute_difference_and_its_sign_are_reported():
    shifted = {k: v - 0.2 for k, v in HIGH.items()}  # a potential that softens every barrier
    rows = {
        r.group: r for r in agreement(BenchmarkData(shifted, "low"), BenchmarkData(HIGH, "high"))
    }
    assert rows["all"].mae == pytest.approx(0.2)
    assert rows["all"].bias == pytest.approx(0.2)  # high minus low
    assert rows["Li"].spearman == 1.0


def test_agreement_command_writes_table_pairs_and_parity_plot(tmp_path):
    low, high = tmp_path / "low.json", tmp_path / "high.json"
    low.write_text(json.dumps([{"candidate_id": k, "e_b": 2 * v} for k, v in HIGH.items()]))
    high.write_text(json.dumps([{"candidate_id": k, "e_b": v} for k, v in HIGH.items()]))
    out = tmp_path / "agr"
    result = runner().invoke(app, ["agreement", str(low), str(high), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| Na | 20 | 1.00 | 1.00 | 1.00 | 0.825 | -0.825 | 6 of 6 |" in result.stdout
    saved = json.loads((out / "agreement.json").read_text())
    assert len(saved["pairs"]) == 40
    assert (out / "parity.png").read_bytes()[:4] == b"\x89PNG"


def test_agreement_of_disjoint_data_sets_is_a_one_line_error(tmp_path):
    low = tmp_path / "low.csv"
    low.write_text("candidate_id,e_b\nNa-Ga-P-F,0.5\n")
    high = tmp_path / "high.csv"
    high.write_text("candidate_id,e_b\nLi-Ga-P-F,0.2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "agreement", str(low), str(high)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1
    assert "share no composition" in proc.stderr


def runner() -> CliRunner:
    return CliRunner()
