"""``tavbo benchmark --panel``: every problem, one table, one figure per problem, resumable."""

from __future__ import annotations

import subprocess
import sys

from bo_agent.benchmark.panel.problems import PANEL
from bo_agent.benchmark.panel.run import run_panel

PROBLEMS = [p for p in PANEL if p.name in ("chgnet-na-noise30", "chgnet-na-unrelated")]


def test_quick_panel_writes_one_table_and_a_figure_per_problem_and_resumes(tmp_path):
    strategies = ("random", "physbo", "abo", "auto", "abo+gp", "auto+gp")
    results = run_panel(tmp_path, problems=PROBLEMS, quick=True, strategies=strategies)
    assert [r.problem.name for r in results] == ["chgnet-na-noise30", "chgnet-na-unrelated"]
    page = (tmp_path / "panel.md").read_text()
    assert "| CHGNet Na + 30 meV noise | auto | 2 |" in page
    assert "| CHGNet Na, unrelated source (Li shuffled) | Li-GP auto | 2 |" in page
    # each candidate against the default (aBO) on the same seeds, transfer against transfer
    candidates = page.split("## Candidates for the default against it (paired)")[1]
    assert "| CHGNet Na + 30 meV noise | auto | " in candidates
    assert "| Li-GP auto vs Li-GP aBO | " in candidates
    assert "auto+gp" not in {r.strategy for r in results[0].run.results}  # no source, no transfer
    for name in ("panel.png", "panel.csv", "chgnet-na-noise30/optimum.png"):
        assert (tmp_path / name).stat().st_size > 0
    # noisy answers, found judged on the noise-free optimum
    noisy = results[0].run
    assert noisy.optimum
    assert all(v < 0.2 for v in noisy.optimum.values())
    stamp = (tmp_path / "chgnet-na-noise30" / "traces.csv.gz").stat().st_mtime_ns
    again = run_panel(tmp_path, problems=PROBLEMS, quick=True, strategies=strategies)
    assert (tmp_path / "chgnet-na-noise30" / "traces.csv.gz").stat().st_mtime_ns == stamp
    assert [len(r.run.results) for r in again] == [len(r.run.results) for r in results]


def test_panel_with_an_unknown_strategy_is_a_usage_error(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "benchmark", "--panel", "--strategies",
         "auto,bogus", "--out", str(tmp_path / "p")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.startswith("tavbo: error: unknown strategy 'bogus'")
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()  # nothing written


def test_panel_runs_the_named_problems_first_and_keeps_the_finished_ones_in_its_table(tmp_path):
    strategies = ("random", "abo")
    run_panel(tmp_path, problems=PROBLEMS[:1], quick=True, strategies=strategies)
    out = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "benchmark", "--panel", "--quick", "--strategies",
         "random,abo", "--problems", "synthetic-needle", "--jobs", "2", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "synthetic-needle: 4/4 trials" in out.stderr  # progress lines without a terminal
    page = (tmp_path / "panel.md").read_text()
    # the earlier problem (run with --jobs 1) is read back, listed first as in the panel
    assert page.index("CHGNet Na + 30 meV noise") < page.index("synthetic needle in a haystack")
    bad = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "benchmark", "--panel", "--problems", "nope",
         "--out", str(tmp_path / "q")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("tavbo: error: unknown problem 'nope'")


def test_a_problem_run_before_failed_value_was_a_setting_is_rerun_not_read_back(tmp_path):
    import json

    from bo_agent.benchmark.outputs import read_outputs

    problem = PROBLEMS[:1]
    run_panel(tmp_path, problems=problem, quick=True, strategies=("random", "abo"))
    where = tmp_path / problem[0].name
    record = json.loads((where / "run.json").read_text())
    assert record["settings"]["failed_value"] == "auto"
    del record["settings"]["failed_value"]  # as written by the versions before the default
    (where / "run.json").write_text(json.dumps(record))
    assert read_outputs(where).settings.failed_value == "none"  # what those runs measured
    stamp = (where / "traces.csv.gz").stat().st_mtime_ns
    run_panel(tmp_path, problems=problem, quick=True, strategies=("random", "abo"))
    assert (where / "traces.csv.gz").stat().st_mtime_ns != stamp  # rerun with the new default
    assert json.loads((where / "run.json").read_text())["settings"]["failed_value"] == "auto"


def test_a_problem_whose_peers_had_the_trusted_pool_is_rerun_not_read_back(tmp_path):
    import json

    problem = PROBLEMS[:1]
    strategies = ("random", "physbo")
    run_panel(tmp_path, problems=problem, quick=True, strategies=strategies)
    where = tmp_path / problem[0].name
    record = json.loads((where / "run.json").read_text())
    assert record["peer_pool"] == "full"
    stamp = (where / "traces.csv.gz").stat().st_mtime_ns
    run_panel(tmp_path, problems=problem, quick=True, strategies=strategies)
    assert (where / "traces.csv.gz").stat().st_mtime_ns == stamp  # read back
    del record["peer_pool"]  # as written before the peers searched the full pool
    (where / "run.json").write_text(json.dumps(record))
    run_panel(tmp_path, problems=problem, quick=True, strategies=strategies)
    assert (where / "traces.csv.gz").stat().st_mtime_ns != stamp  # rerun like for like
    assert json.loads((where / "run.json").read_text())["peer_pool"] == "full"


def test_panel_seed_gives_new_trials_and_options_the_panel_ignores_are_usage_errors(tmp_path):
    def panel(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bo_agent.cli", "benchmark", "--panel", "--quick",
             "--strategies", "random", "--problems", "synthetic-needle", *args],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    from bo_agent.benchmark.outputs import read_outputs

    first = panel("--out", str(tmp_path / "s0"))
    later = panel("--seed", "50", "--out", str(tmp_path / "s50"))
    assert first.returncode == later.returncode == 0, later.stderr
    runs = [read_outputs(tmp_path / d / "synthetic-needle") for d in ("s0", "s50")]
    assert [r.settings.base_seed for r in runs] == [0, 50]
    starts = [[tuple(t.ids[:5]) for t in r.results] for r in runs]
    assert starts[0] != starts[1]  # other random starts, not the first trials again
    assert "trial i uses seed 50 + i" in (tmp_path / "s50" / "panel.md").read_text()
    for args in (["--hyperprior", "ml"], ["--data", "bvse"], ["--carrier", "Li"]):
        bad = panel(*args, "--out", str(tmp_path / "bad"))
        assert bad.returncode == 2
        assert bad.stderr.startswith(f"tavbo: error: --panel does not take {args[0]}")
        assert not (tmp_path / "bad").exists()
    alone = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "benchmark", "--problems", "synthetic-needle",
         "--out", str(tmp_path / "alone")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert alone.returncode == 2
    assert "--problems needs --panel" in alone.stderr
