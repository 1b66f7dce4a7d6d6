"""``tavbo run`` end to end in a fresh process and store: table, CSV, PNG, status."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys


def test_tavbo_run_writes_ranking_and_plot_and_respects_budget(full_table, tmp_path):
    env = os.environ | {
        "TAVBO_EMBEDDED_STORE": str(tmp_path / "lp.json"),
        "TAVBO_RUN_DIR": str(tmp_path / "runs"),
    }
    env.pop("TAVBO_LAUNCHPAD_FILE", None)
    out = tmp_path / "results"
    cmd = [
        sys.executable, "-m", "bo_agent.cli", "run", "--carrier", "Na", "--engine", "table",
        "-s", f"table={full_table}", "--budget", "8", "--model", "obo", "--acquisition", "lcb",
        "--kernel", "rbf", "--hyperprior", "lognormal", "--campaign", "e2e", "--out", str(out),
        "--seed", "7",
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "E_b ranking" in proc.stdout
    assert (out / "e2e" / "eb_vs_iteration.png").stat().st_size > 10_000
    with (out / "e2e" / "ranked.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8
    energies = [float(r["e_b"]) for r in rows]
    assert energies == sorted(energies)

    status = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "status", "-c", "e2e", "-f", "json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = json.loads(status.stdout)[0]
    assert summary["counts"]["done"] == 8
    assert summary["config"]["model"] == "obo"
    assert (summary["config"]["kernel"], summary["config"]["hyperprior"]) == ("rbf", "lognormal")
    assert summary["config"]["seed"] == 7
    # Running it again resumes the finished campaign: nothing new is computed.
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0
    assert again.stdout.count("Na-") >= 8


def test_tavbo_run_with_an_unknown_engine_exits_2_with_one_line(tmp_path):
    env = os.environ | {"TAVBO_EMBEDDED_STORE": str(tmp_path / "lp.json")}
    proc = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "run", "--engine", "dft"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("tavbo: error:")
    assert "unknown engine 'dft'" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_tavbo_run_with_an_unknown_hyperprior_exits_2_naming_it(tmp_path):
    env = os.environ | {"TAVBO_EMBEDDED_STORE": str(tmp_path / "lp.json")}
    proc = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "run", "--engine", "bvse", "--hyperprior", "flat"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "hyperprior" in proc.stderr
    assert "flat" in proc.stderr


def test_a_missing_transfer_source_file_is_one_line_before_anything_runs(tmp_path):
    env = os.environ | {"TAVBO_EMBEDDED_STORE": str(tmp_path / "lp.json")}
    base = [sys.executable, "-m", "bo_agent.cli", "run", "--engine", "bvse", "--transfer", "gp"]
    missing = subprocess.run(
        [*base, "--source-data", str(tmp_path / "low.csv")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "source_data" in missing.stderr
    assert "low.csv: no such file" in missing.stderr
    both = subprocess.run(
        [*base, "--source-data", "bvse", "--source-campaign", "li"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert both.returncode == 2
    assert "source_campaign or source_data, not both" in both.stderr
