"""End to end through FireWorks: evaluate, the CLI, ingest, and recovery after SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import typer
from typer.testing import CliRunner

from workflows.errors import CalculationError, ConfigError


@pytest.fixture
def cli() -> typer.Typer:
    """A small app with the two commands, as main.py registers them."""
    from bo_agent.cli.explore.barriers import barriers
    from bo_agent.cli.explore.evaluate import evaluate

    app = typer.Typer()
    app.command()(evaluate)
    app.command()(barriers)
    return app


def test_table_evaluation_lands_in_the_database_and_barriers_finds_it(
    launchpad, barrier_table, cli
):
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["evaluate", "Na-Ga-P-F", "-e", "table", "-c", "cli", "-s", f"table={barrier_table}"],
    )
    assert result.exit_code == 0, result.output
    assert "E_b = 0.420 eV" in result.stdout
    assert "percolating" in result.stdout

    wf = launchpad.workflows.find_one({"metadata.candidate_id": "Na-Ga-P-F"})
    assert wf["state"] == "COMPLETED"
    listed = runner.invoke(cli, ["barriers", "--campaign", "cli", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert (row["id"], row["engine"], row["e_b"], row["n_hops"]) == ("Na-Ga-P-F", "table", 0.42, 2)
    assert row["fw_ids"] == sorted(wf["nodes"])

    empty = runner.invoke(cli, ["barriers", "--campaign", "cli", "--min", "0.5", "-f", "csv"])
    assert empty.stdout.splitlines()[0].startswith("id,engine,campaign")
    assert len(empty.stdout.splitlines()) == 1


def test_evaluate_returns_the_stored_result_without_rerunning(launchpad, barrier_table):
    from workflows.flows.evaluation import evaluate

    first = evaluate("Li-Mg-S-F", "table", launchpad=launchpad, table=str(barrier_table))
    assert first.e_b == pytest.approx(0.30)
    assert first.fidelity == "table"
    n_launches = launchpad.launches.count_documents({})
    again = evaluate("Li-Mg-S-F", "table", launchpad=launchpad, table=str(barrier_table))
    assert again == first
    assert launchpad.launches.count_documents({}) == n_launches
    # other settings would not change the shown result: refused, not silently dropped
    other = barrier_table.with_name("other.csv")
    other.write_text(barrier_table.read_text())
    with pytest.raises(
        ConfigError, match=r"Li-Mg-S-F is already evaluated with table .* not recomputed"
    ):
        evaluate("Li-Mg-S-F", "table", launchpad=launchpad, table=str(other))
    with pytest.raises(ConfigError, match="bad settings for engine 'table'"):
        evaluate("Li-Mg-S-F", "table", launchpad=launchpad, bogus=1)
    assert launchpad.launches.count_documents({}) == n_launches


def test_job_outputs_persist_in_the_shared_job_store(launchpad, barrier_table):
    from workflows.flows.evaluation import evaluate

    evaluate("Li-Mg-S-F", "table", launchpad=launchpad, table=str(barrier_table))
    outputs = launchpad.job_store.docs_store._collection
    names = sorted(d["name"] for d in outputs.find({}, {"name": 1}))
    assert names == ["record barrier", "table barrier"]


def test_unknown_id_fizzles_and_is_reported(launchpad, barrier_table):
    from workflows.flows.evaluation import evaluate
    from workflows.flows.submit import find_submissions

    with pytest.raises(CalculationError, match="not in barrier table"):
        evaluate("Li-Zn-S-F", "table", launchpad=launchpad, table=str(barrier_table))
    (sub,) = find_submissions(launchpad, "Li-Zn-S-F", "table")
    assert sub.state == "FIZZLED"
    with pytest.raises(CalculationError, match=r"failed earlier.*--retry"):
        evaluate("Li-Zn-S-F", "table", launchpad=launchpad, table=str(barrier_table))


def test_barriers_plot_draws_the_map_and_refuses_two_values_of_one_composition(
    launchpad, barrier_table, cli, tmp_path
):
    runner = CliRunner()
    other = tmp_path / "other.csv"
    other.write_text("candidate_id,e_b\nNa-Ga-P-F,0.50\n")
    for campaign, table in (("a", barrier_table), ("b", other)):
        args = ["evaluate", "Na-Ga-P-F", "-e", "table", "-c", campaign, "-s", f"table={table}"]
        assert runner.invoke(cli, args).exit_code == 0
    png = tmp_path / "map.png"
    ok = runner.invoke(cli, ["barriers", "-c", "a", "--plot", str(png), "-f", "csv"])
    assert ok.exit_code == 0, ok.output
    assert png.stat().st_size > 20_000

    both = runner.invoke(cli, ["barriers", "--plot", str(tmp_path / "both.png")])
    assert isinstance(both.exception, ConfigError)
    assert "Na-Ga-P-F has several E_b (0.420 and 0.500 eV)" in str(both.exception)
    assert not (tmp_path / "both.png").exists()


def test_simulated_crash_fizzles(launchpad, barrier_table):
    from workflows.flows.evaluation import evaluate

    with pytest.raises(CalculationError, match="simulated crash"):
        evaluate(
            "Na-Ga-P-F",
            "table",
            launchpad=launchpad,
            table=str(barrier_table),
            fail_ids=["Na-Ga-P-F"],
        )


def test_ingest_recovers_results_a_worker_could_not_write(launchpad, barrier_table, monkeypatch):
    import workflows.results.ingest as ingest
    from workflows.flows.evaluation import run_workflow
    from workflows.flows.submit import submit_evaluation

    monkeypatch.setattr(ingest, "_worker_launchpad", lambda: None)  # a worker without a DB
    ok = submit_evaluation(launchpad, "Na-Ga-P-F", "table", table=str(barrier_table))
    bad = submit_evaluation(
        launchpad, "Li-Al-P-F", "table", table=str(barrier_table), fail_ids=["Li-Al-P-F"]
    )
    assert run_workflow(launchpad, ok.fw_id) == "COMPLETED"
    assert run_workflow(launchpad, bad.fw_id) == "FIZZLED"
    assert launchpad.db["barriers"].count_documents({}) == 0

    report = ingest.ingest_completed(launchpad)
    assert report.ingested == ["default/Na-Ga-P-F/table"]
    assert "simulated crash" in report.failed["default/Li-Al-P-F/table"]
    doc = launchpad.db["barriers"].find_one({"candidate_id": "Na-Ga-P-F"})
    assert doc["e_b"] == pytest.approx(0.42)
    assert doc["provenance"]["recorded_by"] == "ingest"
    again = ingest.ingest_completed(launchpad)
    assert (again.ingested, again.present) == ([], ["default/Na-Ga-P-F/table"])
    assert launchpad.db["barriers"].count_documents({}) == 1


def test_ingest_falls_back_to_the_job_store(launchpad, barrier_table, monkeypatch):
    import workflows.results.ingest as ingest
    from workflows.flows.evaluation import run_workflow
    from workflows.flows.submit import submit_evaluation

    monkeypatch.setattr(ingest, "_worker_launchpad", lambda: None)
    sub = submit_evaluation(launchpad, "Li-Mg-S-F", "table", table=str(barrier_table))
    run_workflow(launchpad, sub.fw_id)
    launchpad.launches.update_many({}, {"$unset": {"action.stored_data": ""}})
    assert ingest.ingest_completed(launchpad).ingested == ["default/Li-Mg-S-F/table"]


def test_an_interrupted_run_is_detected_as_lost_and_rerun(launchpad, barrier_table):
    from fireworks import FWorker

    from workflows.flows.evaluation import evaluate
    from workflows.flows.submit import submit_evaluation

    sub = submit_evaluation(launchpad, "Na-Ga-P-F", "table", table=str(barrier_table))
    engine_fw = launchpad.get_fw_ids({"name": "table barrier"})[0]
    assert sub.fw_id <= engine_fw
    launchpad.checkout_fw(FWorker(), os.getcwd(), fw_id=engine_fw)  # the owner "dies" here
    assert launchpad.recover_lost_runs(expiration_secs=0) == [engine_fw]
    result = evaluate("Na-Ga-P-F", "table", launchpad=launchpad, table=str(barrier_table))
    assert result.e_b == pytest.approx(0.42)
    assert launchpad.workflows.count_documents({}) == 1


_OWNER = """
import json, sys
from workflows.flows.evaluation import evaluate
from workflows.launchpad.opening import open_launchpad
store, table, cid, delay = sys.argv[1:5]
lp = open_launchpad(store_path=store)
out = {"lost": lp.lost_fw_ids}
if cid == "Li-Mg-S-F":  # first run: one quick result, then a slow one to interrupt
    out["quick"] = evaluate("Li-Mg-S-F", "table", launchpad=lp, table=table).e_b
    print(json.dumps(out), flush=True)
    cid = "Na-Ga-P-F"
out["e_b"] = evaluate(cid, "table", launchpad=lp, table=table, delay_s=float(delay)).e_b
print(json.dumps(out), flush=True)
"""


def _docs(store, collection: str) -> list[dict]:
    from workflows.launchpad.sqlite_store import read_snapshot

    if not store.exists():
        return []
    return [doc for _, doc in read_snapshot(store).get(("tavbo", collection), [])]


def _running_fw(store) -> list[int]:
    return [doc["fw_id"] for doc in _docs(store, "fireworks") if doc["state"] == "RUNNING"]


def test_sigterm_mid_workflow_loses_nothing_and_the_run_is_redone(tmp_path, barrier_table):
    """A real owner process is killed while its firework runs; a new owner finishes the job."""
    store = tmp_path / "store" / "launchpad.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVBO_")}
    env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    env["TAVBO_RUN_DIR"] = str(tmp_path / "runs")
    script = textwrap.dedent(_OWNER)
    args = [sys.executable, "-c", script, str(store), str(barrier_table)]

    owner = subprocess.Popen(
        [*args, "Li-Mg-S-F", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    first = owner.stdout.readline()  # the quick evaluation is done
    assert json.loads(first)["quick"] == pytest.approx(0.30), owner.stderr.read()
    deadline = time.monotonic() + 30
    while not _running_fw(store):  # the slow firework's checkout is checkpointed
        assert owner.poll() is None, owner.communicate()
        assert time.monotonic() < deadline, "the slow firework never started"
        time.sleep(0.05)
    owner.send_signal(signal.SIGTERM)
    out, err = owner.communicate(timeout=20)
    assert owner.returncode == -signal.SIGTERM, err.decode()
    assert not out  # the slow evaluation never finished

    (running,) = _running_fw(store)  # what the killed owner left
    results = [doc["candidate_id"] for doc in _docs(store, "barriers")]
    assert results == ["Li-Mg-S-F"]
    assert not (store.parent / "launchpad.sqlite.lock").read_text().strip()  # released

    restart = subprocess.run(
        [*args, "Na-Ga-P-F", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert restart.returncode == 0, restart.stderr
    out = json.loads(restart.stdout.splitlines()[-1])
    assert out["lost"] == [running]
    assert out["e_b"] == pytest.approx(0.42)
    results = sorted(doc["candidate_id"] for doc in _docs(store, "barriers"))
    assert results == ["Li-Mg-S-F", "Na-Ga-P-F"]
    assert len(_docs(store, "workflows")) == 2  # rerun, not resubmitted


def _path_named_pytask() -> type:
    """FireWorks' PyTask, serialized under its import path (``{{module.Class}}``).

    FireWorks finds a task named only "PyTask" by importing every module of its packages, its own
    test modules included; tavbo's objects (jobflow's task, the queue adapter) carry their import
    path, and so does this one. FireWorks looks the class up as an attribute of its module.
    """
    from fireworks import PyTask
    from fireworks.utilities.fw_utilities import explicit_serialize

    global PathNamedPyTask
    PathNamedPyTask = explicit_serialize(
        type("PathNamedPyTask", (PyTask,), {"__module__": __name__})
    )
    return PathNamedPyTask


def test_failure_names_the_first_job_to_fail_not_a_child_that_ran_after_it(launchpad, tmp_path):
    # A child that runs after its parent fizzled (jobflow's replace plumbing can) fails only
    # because the parent's output is missing; the user needs the parent's error.
    from fireworks import Firework, Workflow
    from fireworks.core.rocket_launcher import rapidfire

    Task = _path_named_pytask()

    from workflows.results.ingest import failure_message

    parent = Firework(Task(func="math.sqrt", args=[-1]), name="collect barrier", fw_id=-1)
    child = Firework(
        Task(func="builtins.int", args=["missing output"]),
        name="record barrier", parents=[parent], fw_id=-2,
        spec={"_allow_fizzled_parents": True},
    )  # fmt: skip
    ids = launchpad.add_wf(Workflow([child, parent]))
    assert ids[-2] < ids[-1]  # the child has the lower fw_id, as jobflow's final job does
    rapidfire(launchpad, m_dir=str(tmp_path), strm_lvl="CRITICAL", sleep_time=0)
    assert launchpad.get_fw_by_id(ids[-2]).state == "FIZZLED"  # the child did run, and failed
    message = failure_message(launchpad, list(ids.values()))
    assert message.startswith(f"firework {ids[-1]} (collect barrier) FIZZLED")
    assert "math domain error" in message
