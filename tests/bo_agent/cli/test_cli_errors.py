"""One error contract: every usage error prints ``tavbo: error: ...`` on one line and exits 2,
and a failed start leaves no campaign behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REFERENCE = Path(__file__).parents[3] / "workflows" / "data" / "reference_chgnet.json.gz"
TABLE = ["--engine", "table", "--set", f"table={REFERENCE}"]


def _tavbo(tmp_path: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVBO_")}
    env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    env.pop("PMG_VASP_PSP_DIR", None)
    env["HOME"] = str(tmp_path)  # no ~/.config/.pmgrc.yaml: no POTCAR library
    env.update(TAVBO_EMBEDDED_STORE=str(tmp_path / "lp.sqlite"), TAVBO_RUN_DIR=str(tmp_path / "r"))
    return subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, input=input,
    )  # fmt: skip


def _one_line_usage_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith("tavbo: error: "), proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "--budget", "abc"], ["--budget", "valid integer"]),  # typer's own
        (["nosuch"], ["No such command 'nosuch'"]),
        (["space", "list", "--bogus"], ["No such option: --bogus"]),
        (["run", "-c", "t", "--goal", "threshold", "--tau", "-1", *TABLE], ["tau"]),
        (["run", "-c", "t", "--tau", "0", *TABLE], ["tau"]),
        (["barriers", "--min", "1", "--max", "0.5"], ["--min 1 eV is above --max 0.5 eV"]),
        (["structure", "Na-Ga-P-F", "--min-image", "12"], ["--min-image needs --supercell"]),
        (["structure", "Na-Ga-P-F", "--supercell", "--min-image", "-5"], ["must be > 0"]),
        (["descriptors", "--groups", "--id", "Na-Ga-P-F"], ["drop --id"]),
        (["status", "--next", "-3"], ["--next"]),
        (["screen", "--engine", "bvse", "--limit", "-1"], ["--limit"]),
        (["agent", "--fworker", "fw.yaml", *TABLE], ["--fworker applies to the jobs"]),
        (["agent", "--held-timeout", "60", *TABLE], ["--held-timeout applies to queue jobs"]),
        (
            ["init-config", "-s", "slurm", "-d", "cfg", "--check-only", "--account", "a"],
            ["--account is written into them"],
        ),
        (["init-config", "-s", "slurm", "-d", "cfg", "--pbs-dialect", "torque"], ["not slurm"]),
        (
            ["reapply", "-c", "x", "--resources", __file__, "--launch-dir", "runs"],
            ["--launch-dir is where resubmitted jobs run: give --qadapter"],
        ),
        (["benchmark", "--stop-patience", "3"], ["add --only stopping"]),
        (["benchmark", "--peers", "--only", "threshold"], ["--only threshold does not run it"]),
    ],
    ids=[
        "typer-value",
        "typer-command",
        "typer-option",
        "tau-negative",
        "tau-zero",
        "min-max",
        "min-image-without-supercell",
        "min-image-negative",
        "groups-with-id",
        "next-negative",
        "limit-negative",
        "fworker-without-qlaunch",
        "held-timeout-without-queue",
        "check-only-with-account",
        "pbs-dialect-with-slurm",
        "reapply-launch-dir-without-qadapter",
        "benchmark-patience-without-stopping",
        "benchmark-peers-with-threshold",
    ],
)
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, args, fragments):
    """In this process (these fail before any database is opened): the real entry point."""
    from bo_agent.cli.main import app

    monkeypatch.setattr(sys, "argv", ["tavbo", *args])
    with pytest.raises(SystemExit) as exc:
        app()
    err = capsys.readouterr().err
    _one_line_usage_error(subprocess.CompletedProcess(args, exc.value.code, "", err), *fragments)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["export", "x.json", "-c", "nosuch"], ["no results of campaign 'nosuch'"]),
        (["run", "-c", "cx", "--carrier", "XX", *TABLE], ["carrier 'XX' is not in space"]),
        # settings that would have no effect, judged against the campaign a run would use
        (["run", "--source-data", "bvse", *TABLE], ["source_data needs transfer"]),
        (["run", "--tau", "0.2", *TABLE], ["tau needs goal threshold"]),
        (["run", "--stop-patience", "7", *TABLE], ["stop_patience is the threshold goal's"]),
        (["run", "--goal", "threshold", "--acquisition", "ei", *TABLE], ["acquisition below"]),
        (["run", "--model", "random", "--kernel", "rbf", *TABLE], ["kernel needs a GP model"]),
        (["run", "--model", "obo", "--groups", "site", *TABLE], ["model obo has one kernel"]),
        (
            ["run", "--transfer", "gp", "--source-data", "bvse", "--hyperprior", "average", *TABLE],
            ["hyperprior average needs model obo or abo"],
        ),
    ],
    ids=[
        "export-unknown-campaign",
        "unknown-carrier",
        "source-without-transfer",
        "tau-without-threshold",
        "patience-without-threshold",
        "threshold-with-ei",
        "random-with-kernel",
        "obo-with-groups",
        "auto-with-average",
    ],
)
def test_bad_input_found_in_the_database_is_one_line_and_exit_2(tmp_path, args, fragments):
    _one_line_usage_error(_tavbo(tmp_path, *args), *fragments)


def test_a_threshold_campaign_resumes_with_a_new_stopping_patience(tmp_path):
    start = [*TABLE, "--model", "random", "--goal", "threshold", "--tau", "0.3", "--budget", "2"]
    assert _tavbo(tmp_path, "run", "-c", "thr", *start).returncode == 0
    # --stop-patience alone: no --goal given now, but the stored campaign has the threshold goal
    more = _tavbo(tmp_path, "run", "-c", "thr", *TABLE, "--budget", "3", "--stop-patience", "20")
    assert more.returncode == 0, more.stderr[-2000:]
    status = _tavbo(tmp_path, "status", "-c", "thr", "-f", "json")
    (summary,) = json.loads(status.stdout)
    assert (summary["config"]["goal"], summary["config"]["stop_patience"]) == ("threshold", 20)
    assert summary["counts"]["done"] + summary["counts"]["failed"] == 3
    # a minimum campaign has no stopping rule to set
    _tavbo(tmp_path, "run", "-c", "low", *TABLE, "--model", "random", "--budget", "1")
    refused = _tavbo(tmp_path, "run", "-c", "low", *TABLE, "--stop-patience", "20")
    _one_line_usage_error(refused, "stop_patience is the threshold goal's stopping rule")


def test_a_failed_start_leaves_no_campaign_and_the_name_stays_free(tmp_path):
    missing = _tavbo(tmp_path, "run", "-c", "cx", "--carrier", "Na", "--engine", "table",
                     "--set", f"table={tmp_path / 'missing.csv'}", "--budget", "1")  # fmt: skip
    _one_line_usage_error(missing, "missing.csv")
    bad_space = tmp_path / "space.yaml"
    bad_space.write_text("sites: [not, a, mapping]\n")
    (tmp_path / "cfg.yaml").write_text(f"space: {bad_space}\n")
    space = _tavbo(tmp_path, "run", "-c", "cx", "--config", str(tmp_path / "cfg.yaml"), *TABLE)
    assert space.returncode == 2, space.stderr
    carrier = _tavbo(tmp_path, "run", "-c", "cx", "--carrier", "XX", *TABLE)
    _one_line_usage_error(carrier, "carrier 'XX'")
    vasp = _tavbo(tmp_path, "run", "-c", "cx", "--carrier", "Na", "--engine", "vasp")
    assert vasp.returncode == 1, vasp.stderr  # the environment, not the command line
    assert vasp.stderr.startswith("tavbo: error: PMG_VASP_PSP_DIR is not set")
    assert vasp.stderr.count("\n") == 1, vasp.stderr
    listed = _tavbo(tmp_path, "campaign", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []  # the name cx was never taken


def test_campaign_delete_asks_first_and_then_removes_the_campaign_so_the_name_is_free(tmp_path):
    run = [*TABLE, "--budget", "2", "--model", "random", "--carrier", "Na"]
    first = _tavbo(tmp_path, "run", "-c", "cx", *run)
    assert first.returncode == 0, first.stderr[-2000:]
    kept = _tavbo(tmp_path, "campaign", "delete", "cx", input="n\n")
    assert kept.stderr.startswith("delete campaign 'cx' (2 results, 159 candidates)")  # asks
    assert kept.returncode == 2, kept.stderr
    assert kept.stderr.endswith("tavbo: error: campaign 'cx' not deleted (not confirmed)\n")
    (listed,) = json.loads(_tavbo(tmp_path, "campaign", "list", "--format", "json").stdout)
    assert listed["name"] == "cx"
    gone = _tavbo(tmp_path, "campaign", "delete", "cx", input="y\n")
    assert gone.returncode == 0, gone.stderr[-2000:]
    assert "deleted campaign cx" in gone.stdout
    assert json.loads(_tavbo(tmp_path, "campaign", "list", "--format", "json").stdout) == []
    barriers = _tavbo(tmp_path, "barriers", "-c", "cx", "--format", "json")
    assert barriers.returncode == 0, barriers.stderr
    assert json.loads(barriers.stdout) == []  # its results went with it
    again = _tavbo(tmp_path, "run", "-c", "cx", *run)  # the name is free: a fresh campaign
    assert again.returncode == 0, again.stderr[-2000:]
    (listed,) = json.loads(_tavbo(tmp_path, "campaign", "list", "--format", "json").stdout)
    assert (listed["done"] + listed["failed"], listed["budget"]) == (2, 2)
    missing = _tavbo(tmp_path, "campaign", "delete", "nosuch", "--yes")
    _one_line_usage_error(missing, "nosuch")
