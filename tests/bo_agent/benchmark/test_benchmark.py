"""Benchmark metrics on hand-made traces, and the ``tavbo benchmark --quick`` smoke run."""

from __future__ import annotations

import csv
import gzip
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from bo_agent.benchmark.data import BenchmarkData, load_benchmark_data
from bo_agent.benchmark.metrics import found_curve, hit_times, median_evaluations, p_found_curve
from bo_agent.benchmark.results import BenchmarkRun, TrialResult
from bo_agent.benchmark.run import run_benchmark
from bo_agent.benchmark.settings import (
    BenchmarkSettings,
    parse_strategy,
    strategy_label,
    strategy_overrides,
)
from bo_agent.benchmark.tables import summary_markdown, summary_rows
from workflows.errors import ConfigError

# Four hand-made trials; the optimum is "o", the compositions below tau are "a", "b" and "o".
TRACES = [
    ["x", "a", "o", "y"],  # optimum at t = 3
    ["o", "b", "a"],  # optimum at t = 1, then stopped (all found)
    ["x", "y", "z", "w"],  # never
    ["b", "x", "x2", "o"],  # optimum at t = 4
]


def test_hit_times_and_p_found_curve():
    hits = hit_times(TRACES, {"o"})
    assert hits.tolist() == [3, 1, math.inf, 4]
    curve = p_found_curve(hits, 5)
    assert curve.tolist() == [0.25, 0.25, 0.5, 0.75, 0.75]
    assert np.all(np.diff(curve) >= 0)
    assert hit_times(TRACES, {"o", "a"}).tolist() == [2, 1, math.inf, 4]  # tied optima


def test_median_evaluations_counts_unfound_trials_as_infinite():
    assert median_evaluations(hit_times(TRACES, {"o"})) == 3.5  # (3 + 4) / 2
    assert median_evaluations([2, math.inf, math.inf]) == math.inf
    assert median_evaluations([5, 1, 9]) == 5
    assert math.isnan(median_evaluations([]))


def test_found_curve_pads_early_stopped_trials():
    found = found_curve(TRACES, {"a", "b", "o"}, 5)
    assert found.tolist() == [
        [0, 1, 2, 2, 2],
        [1, 2, 3, 3, 3],  # stopped after t = 3 with everything found
        [0, 0, 0, 0, 0],
        [1, 1, 1, 2, 2],
    ]
    recall = found.mean(axis=0) / 3
    assert recall[-1] == pytest.approx((2 + 3 + 0 + 2) / 12)


def _run(results, horizon=50):
    settings = BenchmarkSettings(strategies=("abo",), threshold_strategies=("abo",),
                                 horizon=horizon, threshold_horizon=horizon)  # fmt: skip
    return BenchmarkRun(
        settings=settings,
        data=BenchmarkData({}, "hand-made"),
        optimum={"o": 0.1},
        taus={"0.3 eV": 0.3},
        below={"0.3 eV": ["a", "b", "o"]},
        results=results,
        wall_seconds=0.0,
    )


def test_summary_rows_from_hand_made_trials():
    def trial(figure, k, ids):
        return TrialResult(figure, "abo", k, k, 0.3 if figure == "threshold" else None,
                           "0.3 eV" if figure == "threshold" else "", ids, [0.5] * len(ids),
                           ["abo"] * len(ids), 1.0)  # fmt: skip

    opt = [trial("optimum", k, ids) for k, ids in enumerate(TRACES)]
    opt[0] = trial("optimum", 0, ["x"] * 24 + ["o"])  # optimum at t = 25
    thr = [trial("threshold", k, ids) for k, ids in enumerate(TRACES)]
    (row,) = summary_rows(_run(opt + thr))
    assert row["label"] == "aBO"
    assert row["trials"] == 4
    assert row["p_optimum_t20"] == 0.5  # t = 1 and t = 4
    assert row["p_optimum_t50"] == 0.75
    assert row["median_to_optimum"] == 14.5  # (4 + 25) / 2
    assert row["recall_t50 (0.3 eV)"] == pytest.approx(7 / 12)
    assert row["cpu_s_per_trial"] == 1.0
    (short,) = summary_rows(_run(opt, horizon=30))
    assert short["p_optimum_t50"] is None  # beyond the horizon


def test_strategy_names():
    assert parse_strategy("abo+gp") == ("abo", "gp")
    assert parse_strategy("random") == ("random", "none")
    assert strategy_label("obo+hp") == "Li-hp oBO"
    assert strategy_label("abo+multitask") == "Li-MT aBO"
    for bad in ("abo+xx", "random+gp", "gp"):
        with pytest.raises(ConfigError, match="unknown strategy"):
            parse_strategy(bad)


def test_a_robust_variant_is_its_strategy_with_the_posterior_incumbent_and_stall_guard(
    full_table,
):
    assert parse_strategy("auto+gp@robust") == ("auto", "gp")
    assert strategy_label("auto@robust") == "auto (robust)"
    for bad in ("random@robust", "abo@nope"):
        with pytest.raises(ConfigError, match="unknown strategy"):
            parse_strategy(bad)
    data = load_benchmark_data(full_table)
    quick = BenchmarkSettings.quick(figures=("optimum",), horizon=12)
    variant = run_benchmark(replace(quick, strategies=("abo@robust",)), data)
    robust = replace(quick, strategies=("abo",), incumbent="posterior", stall_guard=0.001)
    same = run_benchmark(robust, data)
    assert [r.ids for r in variant.results] == [r.ids for r in same.results]
    assert [r.steps for r in variant.results] == [r.steps for r in same.results]


def test_a_baybe_gp_variant_fits_bayes_priors_and_takes_ei_without_margin(full_table):
    from bo_agent.config import CampaignConfig

    config = CampaignConfig(model="obo", **strategy_overrides("obo@baybe-gp"))
    assert (config.length_scales, config.hyperprior) == ("ard", "gamma")
    assert (config.incumbent, config.xi) == ("posterior", 0.0)
    assert strategy_label("obo@baybe-gp") == "oBO (baybe-gp)"
    data = load_benchmark_data(full_table)
    quick = BenchmarkSettings.quick(figures=("optimum",), horizon=14, trials=3)
    run = run_benchmark(replace(quick, strategies=("obo@baybe-gp", "obo")), data)
    ids = {s: [r.ids for r in run.results if r.strategy == s] for s in ("obo@baybe-gp", "obo")}
    assert all(len(set(t)) == len(t) for t in ids["obo@baybe-gp"])
    assert ids["obo@baybe-gp"] != ids["obo"]


def test_the_benchmark_measures_the_failed_value_default_and_keep_and_worst_its_alternatives(
    full_table,
):
    from bo_agent.config import CampaignConfig

    assert BenchmarkSettings().failed_value == CampaignConfig().failed_value == "auto"
    assert strategy_label("abo@keep") == "aBO (keep)"
    full = load_benchmark_data(full_table)
    # the compositions of two M elements answer as failed evaluations (flagged results), as a
    # third of the pool does on reference v2
    na = sorted(k for k in full.values if k.startswith("Na-"))
    m_sites = sorted({k.split("-")[1] for k in na})
    flagged = frozenset(k for k in na if k.split("-")[1] in m_sites[:4])
    data = BenchmarkData(
        source=full.source,
        values={k: v for k, v in full.values.items() if k not in flagged},
        failed=flagged,
    )
    quick = BenchmarkSettings.quick(figures=("optimum",), horizon=14, trials=3)
    keep = run_benchmark(replace(quick, strategies=("abo@keep",)), data)
    none = run_benchmark(replace(quick, strategies=("abo",), failed_value="none"), data)
    worst = run_benchmark(replace(quick, strategies=("abo",)), data)
    assert [r.ids for r in keep.results] == [r.ids for r in none.results]
    assert [r.ids for r in worst.results] != [r.ids for r in none.results]

    def failures(run):
        return sum(c in flagged for r in run.results for c in r.ids)

    # learning from them, the default walks into fewer flagged compositions
    assert failures(worst) < failures(none)
    # the summary says what the GP made of them
    assert "without a transfer source the GP learns it" in summary_markdown(worst)
    assert "the GP gets nothing (failed_value: none)" in summary_markdown(none)
    # with a transfer source the default leaves them out (abo+gp = abo+gp@keep); @worst does not
    gp = replace(quick, strategies=("abo+gp", "abo+gp@keep", "abo+gp@worst"))
    by = {}
    for r in run_benchmark(gp, data).results:
        by.setdefault(r.strategy, []).append(r.ids)
    assert by["abo+gp"] == by["abo+gp@keep"]
    assert by["abo+gp@worst"] != by["abo+gp"]


def test_missing_reference_data_says_how_to_make_it(monkeypatch, tmp_path):
    import workflows.results.reference_data as reference_data  # where the packaged files are found

    monkeypatch.setattr(
        reference_data, "reference_path", lambda name: tmp_path / f"reference_{name}.json.gz"
    )
    with pytest.raises(ConfigError, match=r"tavbo screen --engine chgnet --export"):
        load_benchmark_data("chgnet")
    with pytest.raises(ConfigError, match="no such file"):
        load_benchmark_data(tmp_path / "nope.csv")


def test_transfer_without_source_results_is_refused(full_table):
    data = load_benchmark_data(full_table)
    na_only = BenchmarkData(data.carrier("Na"), "na only")
    settings = BenchmarkSettings.quick(strategies=("abo+gp",), figures=("optimum",))
    with pytest.raises(ConfigError, match="no Li results"):
        run_benchmark(settings, na_only)


def test_library_run_is_paired_and_reproducible(full_table):
    data = load_benchmark_data(full_table)
    settings = BenchmarkSettings.quick(strategies=("random", "abo"), figures=("optimum",))
    first = run_benchmark(settings, data)
    again = run_benchmark(settings, data)
    ids = {(r.strategy, r.trial): r.ids for r in first.results}
    assert ids == {(r.strategy, r.trial): r.ids for r in again.results}
    for k in range(settings.trials):  # same seed -> same random initial points
        n = min(5, len(ids["abo", k]), len(ids["random", k]))
        assert ids["abo", k][:n] == ids["random", k][:n]
    assert [r.seed for r in first.results if r.strategy == "abo"] == [0, 1]


def test_an_optimum_tolerance_counts_near_ties_as_the_optimum(full_table):
    data = load_benchmark_data(full_table)
    na = sorted(data.carrier("Na").items(), key=lambda kv: kv[1])
    tol = na[2][1] - na[0][1]  # the three lowest Na compositions
    settings = BenchmarkSettings.quick(strategies=("random",), figures=("optimum",))
    exact = run_benchmark(settings, data)
    near = run_benchmark(replace(settings, optimum_tol=tol), data)
    assert set(exact.optimum) == {na[0][0]}
    assert set(near.optimum) == {k for k, _ in na[:3]}
    assert [r.ids for r in near.results] == [
        r.ids[: len(near_r.ids)] for r, near_r in zip(exact.results, near.results, strict=True)
    ]  # same searches, stopped at the first of the three


def test_unconverged_compositions_stay_in_the_pool_as_failed_evaluations(full_table):
    full = load_benchmark_data(full_table)
    na = sorted(full.carrier("Na"))
    flagged = frozenset(na[::4])  # a quarter of the pool: every trial meets some
    data = BenchmarkData(
        {k: v for k, v in full.values.items() if k not in flagged}, "flagged", failed=flagged
    )
    settings = BenchmarkSettings.quick(strategies=("random",), figures=("optimum",), trials=3)
    run = run_benchmark(settings, data)
    assert (run.n_pool, run.n_failed) == (len(na) - len(flagged), len(flagged))
    assert not set(run.optimum) & flagged
    steps = [(cid, e) for r in run.results for cid, e in zip(r.ids, r.e_b, strict=True)]
    assert any(cid in flagged for cid, _ in steps)
    assert all((e is None) == (cid in flagged) for cid, e in steps)
    assert f"{len(flagged)} more Na compositions in the pool whose result is untrusted" in (
        summary_markdown(run)
    )


def _app():
    from bo_agent.cli.app import TavboTyper
    from bo_agent.cli.explore.benchmark import benchmark

    app = TavboTyper(name="tavbo", add_completion=False, pretty_exceptions_enable=False)
    app.command()(benchmark)

    @app.callback()
    def _root() -> None:
        """Test app."""

    return app


def test_quick_cli_writes_curves_summary_and_figures_and_replot_redraws_them(full_table, tmp_path):
    out = tmp_path / "bench"
    args = ["benchmark", "--quick", "--data", str(full_table), "--out", str(out), "--jobs", "2",
            "--groups", "kind"]  # fmt: skip
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    for name in ("optimum_curves.csv", "threshold_curves.csv", "summary.csv", "summary.md",
                 "optimum.png", "threshold.png", "traces.csv.gz", "run.json"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    assert (out / "optimum.png").read_bytes()[:4] == b"\x89PNG"
    summary = (out / "summary.md").read_text()
    assert f"--data {full_table}" in summary
    assert "--quick" in summary
    assert "--groups kind" in summary
    assert "aBO groups by kind" in summary
    assert "| Li-MT oBO |" in summary
    assert "median evals to opt" in summary
    with (out / "optimum_curves.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    quick = BenchmarkSettings.quick()
    assert {r["strategy"] for r in rows} == set(quick.strategies)
    assert len(rows) == len(quick.strategies) * quick.horizon
    with gzip.open(out / "traces.csv.gz", "rt") as fh:
        traces = list(csv.DictReader(fh))
    # The curve is recomputed from the recorded traces.
    run = json.loads((out / "run.json").read_text())
    (opt,) = run["optimum"]
    abo = [r for r in traces if r["figure"] == "optimum" and r["strategy"] == "abo"]
    per_trial = {}
    for r in abo:
        per_trial.setdefault(r["trial"], []).append(r["candidate_id"])
    p = p_found_curve(hit_times(list(per_trial.values()), {opt}), quick.horizon)
    assert [float(r["p_found"]) for r in rows if r["strategy"] == "abo"] == p.tolist()
    assert "tavbo benchmark" in result.output or "| aBO |" in result.output

    # --replot rebuilds the run from run.json and the traces: the same tables, new figures
    tables = ("summary.md", "optimum_curves.csv", "threshold_curves.csv", "summary.csv")
    before = {n: (out / n).read_text() for n in tables}
    for name in (*before, "optimum.png", "threshold.png"):
        (out / name).unlink()
    again = CliRunner().invoke(_app(), ["benchmark", "--replot", str(out)])
    assert again.exit_code == 0, again.output
    assert {n: (out / n).read_text() for n in before} == before
    assert (out / "threshold.png").read_bytes()[:4] == b"\x89PNG"
    missing = CliRunner().invoke(_app(), ["benchmark", "--replot", str(tmp_path / "none")])
    assert isinstance(missing.exception, ConfigError)


def test_cli_reports_a_missing_reference_as_a_usage_error(monkeypatch, tmp_path):
    import workflows.results.reference_data as reference_data  # where the packaged files are found

    monkeypatch.setattr(
        reference_data, "reference_path", lambda name: tmp_path / f"reference_{name}.json.gz"
    )
    from bo_agent.cli.app import exit_code_for

    result = CliRunner().invoke(_app(), ["benchmark", "--quick", "--data", "bvse"])
    # CliRunner bypasses TavboTyper.__call__, which prints the error and exits with this code.
    assert isinstance(result.exception, ConfigError)
    assert exit_code_for(result.exception) == 2
    assert "tavbo screen --engine bvse --export" in str(result.exception)


def test_cli_rejects_an_unknown_target_transform_naming_it(full_table):
    from bo_agent.cli.app import exit_code_for

    args = ["benchmark", "--quick", "--data", str(full_table), "--target-transform", "sqrt"]
    result = CliRunner().invoke(_app(), args)
    assert isinstance(result.exception, ConfigError)
    assert exit_code_for(result.exception) == 2
    assert "--target-transform 'sqrt'" in str(result.exception)


def test_physbo_peer_starts_from_tavbos_initial_points(full_table):
    pytest.importorskip("physbo")
    from bo_agent.benchmark.peers import initial_ids, run_peer
    from bo_agent.decide.strategy import build_pool
    from workflows.space.compositions import default_space

    data = load_benchmark_data(full_table).values
    pool = build_pool(default_space(), "Na")
    trace = run_peer("physbo", pool, data, seed=3, horizon=7)
    assert trace.ids[:5] == initial_ids(pool, data, 3, 5)
    assert len(set(trace.ids)) == 7
    assert trace.strategies[-1] == "physbo"
    with pytest.raises(ConfigError, match="no threshold"):
        run_peer("physbo", pool, data, seed=3, horizon=7, tau=0.3)


def test_physbo_peer_does_not_walk_the_pool_in_the_order_the_space_lists_it():
    # On the CHGNet set PHYSBO's length scale collapses after 5 points, every unseen candidate
    # has the same EI and PHYSBO takes the lowest index: given the pool in space order it
    # walked Na-Mg-S-F, Na-Mg-Se-F, ... to the near-optimal Na-Ca-Se-F in every trial.
    pytest.importorskip("physbo")
    from bo_agent.benchmark.peers import pool_order, run_peer
    from bo_agent.benchmark.trials import _restrict
    from bo_agent.decide.strategy import build_pool
    from workflows.space.compositions import default_space

    data = load_benchmark_data("chgnet").values
    pool = _restrict(build_pool(default_space(), "Na"), data)  # peers never see flagged ones
    for seed in range(3):
        trace = run_peer("physbo", pool, data, seed=seed, horizon=9)
        in_space_order = [c for c in pool.ids if c not in trace.ids[:5]][:4]
        assert trace.ids[5:] != in_space_order
    order = pool_order(pool.ids, 0)
    assert sorted(order.tolist()) == list(range(len(pool.ids)))
    listed_backwards = pool.ids[::-1]
    shown_backwards = [listed_backwards[i] for i in pool_order(listed_backwards, 0)]
    assert shown_backwards == [pool.ids[i] for i in order]
    assert not np.array_equal(order, pool_order(pool.ids, 1))


def test_a_trusted_pool_strategy_never_gets_a_failing_composition(full_table):
    pytest.importorskip("physbo")
    full = load_benchmark_data(full_table)
    flagged = frozenset(sorted(full.carrier("Na"))[::3])
    data = BenchmarkData(
        {k: v for k, v in full.values.items() if k not in flagged}, "flagged", failed=flagged
    )
    names = ("physbo@trusted-pool", "abo@trusted-pool", "physbo")
    settings = BenchmarkSettings.quick(strategies=names, figures=("optimum",), trials=2)
    run = run_benchmark(settings, data)
    for name in names:
        trials = [r for r in run.results if r.strategy == name]
        assert len(trials) == 2
        assert all(len(r.ids) > 5 for r in trials)
        seen = {cid for r in trials for cid in r.ids}
        if name.endswith("@trusted-pool"):
            assert not seen & flagged, name
        else:  # like for like: the peer's pool holds them, each costs an evaluation
            assert all(len(r.ids) == len(set(r.ids)) for r in trials)
            assert all(
                (cid in flagged) == (e is None)
                for r in trials
                for cid, e in zip(r.ids, r.e_b, strict=True)
            )


def test_synthetic_data_mimics_the_reports_counts():
    data = load_benchmark_data("synthetic")
    na = data.carrier("Na")
    assert len(na) == 159
    assert len(data.carrier("Li")) == 159
    assert sum(v < 0.3 for v in na.values()) == 17
    assert data.values == load_benchmark_data("synthetic").values  # seeded


def test_baybe_peer_recommends_from_the_pool(full_table):
    pytest.importorskip("baybe")
    from bo_agent.benchmark.peers import initial_ids, run_peer
    from bo_agent.decide.strategy import build_pool
    from workflows.space.compositions import default_space

    data = load_benchmark_data(full_table).values
    pool = build_pool(default_space(), "Na")
    trace = run_peer("baybe", pool, data, seed=1, horizon=6)
    assert trace.ids[:5] == initial_ids(pool, data, 1, 5)
    assert trace.strategies[-1] == "baybe"
    assert trace.ids[-1] in pool.ids
    assert len(set(trace.ids)) == 6


def test_a_faithful_low_fidelity_source_leads_transfer_to_the_optimum_sooner(full_table):
    # The fidelity ladder: the source is a cheap engine's E_b of the same Na compositions, here
    # an affine image of the truth (different scale and offset, small noise).
    data = load_benchmark_data(full_table)
    rng = np.random.default_rng(0)
    low = BenchmarkData(
        {k: 3 * v + 1 + 0.05 * rng.standard_normal() for k, v in data.carrier("Na").items()},
        "low",
    )
    settings = BenchmarkSettings(
        carrier="Na", source_carrier="Na", source_data="low", strategies=("abo", "abo+multitask"),
        figures=("optimum",), trials=6, horizon=20,
    )  # fmt: skip
    run = run_benchmark(settings, data, source_data=low)
    assert run.n_source == 159
    median = {
        name: median_evaluations(
            hit_times([r.ids for r in run.results if r.strategy == name], run.optimum)
        )
        for name in settings.strategies
    }
    assert median["abo+multitask"] <= 6  # the first model-guided pick, after 5 random ones
    assert median["abo+multitask"] < median["abo"]
    assert {row["label"] for row in summary_rows(run)} == {"aBO", "low-MT aBO"}


def test_transfer_within_one_carrier_of_one_data_set_is_refused(full_table):
    data = load_benchmark_data(full_table)
    settings = BenchmarkSettings.quick(
        source_carrier="Na", strategies=("abo+gp",), figures=("optimum",)
    )
    with pytest.raises(ConfigError, match="would show the strategies the answers"):
        run_benchmark(settings, data)


def test_stop_summary_on_hand_made_trials():
    from bo_agent.benchmark.metrics import stop_summary

    s = stop_summary(TRACES, {"a", "b", "o"}, [True, True, False, True])
    assert s["trials"] == 4
    assert s["p_fired"] == 0.75
    assert s["median_evals"] == 4.0  # lengths 4, 3, 4, 4
    assert s["mean_recall"] == pytest.approx(7 / 12)  # 2, 3, 0, 2 of 3 found
    assert s["p_all_found"] == 0.25
    assert s["median_overrun"] == 0.0  # the one complete trial stopped at its last hit


@pytest.mark.parametrize(("level", "fires"), [(0.0, False), (1e6, True)])
def test_stopping_benchmark_ends_trials_by_the_rule_or_the_budget(
    full_table, tmp_path, level, fires
):
    settings = BenchmarkSettings.quick(
        figures=("stopping",), threshold_strategies=("random", "obo"), taus=("matched",),
        stopping_trials=3, stopping_horizon=15, stop_undiscovered=level, stop_patience=0,
    )  # fmt: skip
    run = run_benchmark(settings, load_benchmark_data(full_table), out=tmp_path)
    assert {r.strategy for r in run.results} == {"obo"}  # random has no posterior to stop on
    assert len(run.results) == 3
    for r in run.results:
        if fires:  # the rule is asked at the first GP decision, after the random points
            assert "expected undiscovered" in r.stop_reason
            assert len(r.ids) == 5
        else:
            assert r.stop_reason == "budget of 15 evaluations used"
            assert len(r.ids) == 15
    with (tmp_path / "stopping.csv").open() as fh:
        (row,) = list(csv.DictReader(fh))
    assert float(row["p_fired"]) == (1.0 if fires else 0.0)
    assert float(row["median_evals"]) == (5 if fires else 15)
    assert (tmp_path / "stopping.png").stat().st_size > 10_000
    assert "Stopping rule of the threshold goal" in (tmp_path / "summary.md").read_text()
