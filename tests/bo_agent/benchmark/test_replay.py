"""The offline replay proposes exactly what a live campaign on the LaunchPad proposes."""

from __future__ import annotations

import pytest

from bo_agent.benchmark.replay import memoised_fits, replay
from bo_agent.config import CampaignConfig


def _live_ids(lp, table, **kw) -> list[str]:
    """Run a campaign through FireWorks with the table engine; IDs in decision order."""
    from bo_agent.campaign.agent import CampaignAgent
    from bo_agent.campaign.state import Decision
    from workflows.flows.evaluation import run_workflow

    cfg = CampaignConfig(
        name="live", carrier="Na", engine="table",
        engine_settings={"table": str(table), **kw.pop("engine_settings", {})}, **kw,
    )  # fmt: skip
    agent = CampaignAgent(cfg, lp)
    agent.run(execute=lambda fw_id: run_workflow(lp, fw_id), lostrun_expiration=None)
    assert agent.completed
    return [d.candidate_id for d in Decision.objects(campaign="live").order_by("seq")]


def _replay_ids(table, source=None, drop=(), missing="untrusted", **kw):
    from bo_agent.decide.strategy import build_pool
    from workflows.engines.table import read_table
    from workflows.space.compositions import default_space

    data = {k: v["e_b"] for k, v in read_table(table).items() if k not in drop}
    cfg = CampaignConfig(name="replay", carrier="Na", engine="table", **kw)
    pool = build_pool(default_space(), "Na", cfg.groups, source_carrier=source)
    src = None
    if source is not None:  # the source campaign's candidate table is in space order
        src = {c.id: data[c.id] for c in default_space().filter(A=source)}
    return replay(pool, cfg, data, source_observations=src, missing=missing)


def _finished_source_campaign(table, carrier: str = "Li") -> None:
    """A finished Li campaign: every Li composition done with its table E_b."""
    from bo_agent.campaign.state import Campaign, CandidateRecord, Status
    from workflows.engines.table import read_table
    from workflows.space.compositions import default_space

    data = read_table(table)
    cfg = CampaignConfig(name="li", carrier=carrier, engine="table")
    Campaign(name="li", config=cfg.model_dump(mode="json"), status="completed").save()
    CandidateRecord.objects.insert(
        [
            CandidateRecord(
                campaign="li",
                candidate_id=c.id,
                carrier=carrier,
                status=Status.done.value,
                e_b=data[c.id]["e_b"],
            )
            for c in default_space().filter(A=carrier)
        ]
    )


@pytest.mark.parametrize(
    ("model", "max_pending", "budget"),
    [("abo", 1, 10), ("obo", 1, 9), ("abo", 3, 11), ("random", 2, 5), ("auto", 1, 10)],
)
def test_replay_proposes_the_live_campaigns_ids_in_order(
    clean_lp, full_table, model, max_pending, budget
):
    kw = {"model": model, "max_pending": max_pending, "budget": budget, "seed": 3}
    live = _live_ids(clean_lp, full_table, **kw)
    trace = _replay_ids(full_table, **kw)
    assert len(live) == budget
    assert trace.ids == live
    assert None not in trace.e_b  # every result known: no failure
    assert trace.strategies[:5] == ["initial-random"] * 5 or model == "random"


@pytest.mark.parametrize("model", ["obo", "abo"])
def test_replay_with_a_hyperprior_matches_live_campaign(clean_lp, full_table, model):
    kw = {"model": model, "hyperprior": "gamma", "budget": 9, "seed": 3}
    live = _live_ids(clean_lp, full_table, **kw)
    trace = _replay_ids(full_table, **kw)
    assert trace.ids == live
    assert trace.strategies[-1] == model


@pytest.mark.parametrize("length_scales", ["ard", "shared"])
def test_replay_with_either_length_scale_option_matches_live_campaign(
    clean_lp, full_table, length_scales
):
    kw = {"model": "abo", "length_scales": length_scales, "budget": 9, "seed": 4}
    live = _live_ids(clean_lp, full_table, **kw)
    trace = _replay_ids(full_table, **kw)
    assert trace.ids == live
    assert trace.strategies[-1] == "abo"


@pytest.mark.parametrize("transfer", ["hp", "gp", "multitask"])
def test_transfer_replay_matches_live_campaign(clean_lp, full_table, transfer):
    _finished_source_campaign(full_table)
    kw = {"model": "abo", "transfer": transfer, "budget": 8, "seed": 5}
    live = _live_ids(clean_lp, full_table, source_campaign="li", **kw)
    trace = _replay_ids(full_table, source="Li", source_campaign="li", **kw)
    assert trace.ids == live
    assert trace.strategies[-1] == f"abo+{transfer}"


def test_auto_with_a_source_replay_matches_live_campaign(clean_lp, full_table):
    _finished_source_campaign(full_table)
    kw = {"model": "auto", "transfer": "gp", "budget": 9, "seed": 5}
    live = _live_ids(clean_lp, full_table, source_campaign="li", **kw)
    trace = _replay_ids(full_table, source="Li", source_campaign="li", **kw)
    assert trace.ids == live
    assert all(s.startswith("auto:") for s in trace.strategies[5:])


def test_low_fidelity_source_data_replay_matches_live_campaign(clean_lp, full_table, tmp_path):
    # The fidelity ladder: the source is a cheaper engine's E_b of the same Na compositions,
    # read from a barrier table (as `tavbo screen --export` writes) instead of a campaign.
    from workflows.engines.table import read_table
    from workflows.space.compositions import default_space

    truth = {k: v["e_b"] for k, v in read_table(full_table).items()}
    low = {c.id: 3 * truth[c.id] + 1 for c in default_space().filter(A="Na")}
    low_file = tmp_path / "low.csv"
    low_file.write_text("candidate_id,e_b\n" + "".join(f"{k},{v}\n" for k, v in low.items()))
    kw = {"model": "abo", "transfer": "multitask", "budget": 8, "seed": 4}
    live = _live_ids(clean_lp, full_table, source_data=str(low_file), **kw)

    from bo_agent.decide.strategy import build_pool

    cfg = CampaignConfig(name="replay", carrier="Na", engine="table", source_data="x", **kw)
    pool = build_pool(default_space(), "Na", cfg.groups, source_carrier="Na")
    trace = replay(pool, cfg, truth, source_observations=low)
    assert trace.ids == live
    assert trace.strategies[-1] == "abo+multitask"


def test_threshold_goal_replay_matches_live_campaign(clean_lp, full_table):
    kw = {"model": "abo", "goal": "threshold", "tau": 0.75, "budget": 8, "seed": 2}
    live = _live_ids(clean_lp, full_table, **kw)
    assert _replay_ids(full_table, **kw).ids == live


@pytest.mark.parametrize(
    ("goal", "transfer"), [("threshold", "none"), ("minimum", "gp")], ids=["threshold", "li-gp"]
)
def test_log_target_replay_matches_live_campaign_and_changes_the_search(
    clean_lp, full_table, goal, transfer
):
    # tau 0.6 eV: the 5 lowest of the synthetic Na barriers (0.54-1.17 eV) lie below it
    # maximum likelihood: the Gamma prior's smoother fit makes the same 4 picks on either scale
    kw = {"model": "obo", "goal": goal, "budget": 9, "seed": 2, "hyperprior": "none"}
    if goal == "threshold":  # a minimum search has no tau (given, it is refused as unused)
        kw["tau"] = 0.6
    source = {}
    if transfer != "none":
        _finished_source_campaign(full_table)
        source = {"transfer": transfer, "source_campaign": "li"}
    log = {"target_transform": "log", **kw, **source}
    live = _live_ids(clean_lp, full_table, **log)
    src = "Li" if source else None
    assert _replay_ids(full_table, source=src, **log).ids == live
    assert _replay_ids(full_table, source=src, **kw, **source).ids != live


def test_log_target_decisions_record_predictions_in_ev(full_table):
    from bo_agent.decide.strategy import build_pool, decide
    from workflows.engines.table import read_table
    from workflows.space.compositions import default_space

    data = {k: v["e_b"] for k, v in read_table(full_table).items()}
    pool = build_pool(default_space(), "Na")
    seen = {cid: data[cid] for cid in pool.ids[::9]}
    cfg = CampaignConfig(carrier="Na", engine="table", model="obo", target_transform="log")
    ((cid, proposal),) = decide(pool, cfg, seen).proposals
    assert cid not in seen
    # log-normal moments in eV: positive, and inside the range of the barriers it learnt from
    assert 0 < proposal.mean < 2 * max(seen.values())
    assert proposal.std > 0


def test_a_run_failure_replays_like_a_fizzled_workflow_left_out_of_the_gp(clean_lp, full_table):
    from bo_agent.campaign.state import CandidateRecord

    cfg_kw = {"model": "abo", "budget": 7, "seed": 4}
    doomed = _replay_ids(full_table, **cfg_kw).ids[2]
    live = _live_ids(clean_lp, full_table, engine_settings={"fail_ids": [doomed]}, **cfg_kw)
    assert CandidateRecord.objects.get(campaign="live", candidate_id=doomed).failure == "run"
    trace = _replay_ids(full_table, drop={doomed}, missing="run", **cfg_kw)
    assert trace.ids == live
    # as a flagged result (the benchmark's reading of a missing answer) it would enter the GP
    assert _replay_ids(full_table, drop={doomed}, **cfg_kw).ids != live
    assert trace.e_b[2] is None
    assert len(trace.ids) == 7


def _with_unconverged(table, ids, path):
    """The table as JSON records, with the NEB of one hop of each of ``ids`` unconverged."""
    import json

    from workflows.engines.table import read_table

    rows = [
        {"candidate_id": cid, "e_b": row["e_b"],
         "hops": [{"barrier": row["e_b"], "converged": cid not in ids, "n_steps": 300}]}
        for cid, row in read_table(table).items()
    ]  # fmt: skip
    path.write_text(json.dumps(rows))
    return path


def test_an_unconverged_result_fails_as_untrusted_and_enters_the_gp_live_and_in_replay(
    clean_lp, full_table, tmp_path
):
    from bo_agent.benchmark.data import load_benchmark_data
    from bo_agent.campaign.agent import load_observations
    from bo_agent.campaign.state import CandidateRecord

    kw = {"model": "abo", "budget": 7, "seed": 4}
    doomed = _replay_ids(full_table, **kw).ids[2]
    table = _with_unconverged(full_table, {doomed}, tmp_path / "flagged.json")
    live = _live_ids(clean_lp, table, **kw)
    rec = CandidateRecord.objects.get(campaign="live", candidate_id=doomed)
    assert rec.status == "failed"
    assert rec.failure == "untrusted"
    assert "did not converge" in rec.error
    assert "unconverged: use" in rec.error
    assert doomed not in load_observations("live")  # its E_b is not an observation
    # the benchmark's data set keeps it out of the answers: the replay fails it the same way,
    # and both put it in the GP at the worst E_b (failed_value: worst, the default)
    data = load_benchmark_data(table)
    assert data.failed == {doomed}
    assert doomed not in data.values
    trace = _replay_ids(full_table, drop={doomed}, **kw)
    assert trace.ids == live
    assert trace.e_b[2] is None


def test_unconverged_use_keeps_the_result_like_any_other(clean_lp, full_table, tmp_path):
    from bo_agent.campaign.agent import load_observations

    kw = {"model": "abo", "budget": 7, "seed": 4}
    plain = _replay_ids(full_table, **kw)
    doomed = plain.ids[2]
    table = _with_unconverged(full_table, {doomed}, tmp_path / "flagged.json")
    live = _live_ids(clean_lp, table, unconverged="use", **kw)
    assert live == plain.ids
    assert load_observations("live")[doomed] == pytest.approx(plain.e_b[2])


def _with_dip(table, ids, path):
    """The table as JSON records; each of ``ids`` has a path 0.4 eV below its endpoint."""
    import json

    from workflows.engines.table import read_table

    rows = []
    for cid, row in read_table(table).items():
        e = row["e_b"]
        energies = [0.0, -0.4, e - 0.4, -0.4, 0.0] if cid in ids else [0.0, e / 2, e, e / 2, 0.0]
        hop = {"barrier": max(energies), "barrier_from_min": max(energies) - min(energies)}
        rows.append({"candidate_id": cid, "e_b": e, "hops": [{**hop, "energies": energies}]})
    path.write_text(json.dumps(rows))
    return path


def test_a_dipped_result_fails_as_untrusted_and_enters_the_gp_live_and_in_replay(
    clean_lp, full_table, tmp_path
):
    from bo_agent.benchmark.data import load_benchmark_data
    from bo_agent.campaign.agent import load_observations
    from bo_agent.campaign.state import CandidateRecord

    kw = {"model": "abo", "budget": 7, "seed": 4}
    doomed = _replay_ids(full_table, **kw).ids[2]
    table = _with_dip(full_table, {doomed}, tmp_path / "dipped.json")
    live = _live_ids(clean_lp, table, **kw)
    rec = CandidateRecord.objects.get(campaign="live", candidate_id=doomed)
    assert rec.status == "failed"
    assert rec.failure == "untrusted"
    assert "dips up to 0.40 eV below its endpoint" in rec.error
    assert "untrusted: use" in rec.error
    assert doomed not in load_observations("live")
    data = load_benchmark_data(table)
    assert data.failed == {doomed}
    trace = _replay_ids(full_table, drop={doomed}, **kw)
    assert trace.ids == live


def test_memoised_fits_change_no_proposal(full_table):
    kw = {"model": "obo", "transfer": "gp", "source_campaign": "li", "budget": 9, "seed": 1}
    from bo_agent.decide.strategy import build_pool
    from workflows.engines.table import read_table
    from workflows.space.compositions import default_space

    data = {k: v["e_b"] for k, v in read_table(full_table).items()}
    pool = build_pool(default_space(), "Na", source_carrier="Li")
    src = {c.id: data[c.id] for c in default_space().filter(A="Li")}
    cfg = CampaignConfig(carrier="Na", engine="table", **kw)
    plain = replay(pool, cfg, data, source_observations=src, memoise=False)
    with memoised_fits(), memoised_fits():  # nesting is harmless
        fast = replay(pool, cfg, data, source_observations=src)
    assert fast.ids == plain.ids
    gp = [i for i, s in enumerate(plain.steps) if s.strategy == "obo+gp"]
    assert gp
    assert [fast.steps[i].mean for i in gp] == [plain.steps[i].mean for i in gp]


def test_a_memoised_fit_restored_from_the_cache_predicts_like_a_fresh_fit(full_table):
    # A target GP above restart_limit is memoisable; its second fit comes from the cache and
    # must carry all fitted state (the Cholesky factor the posterior solves with included).
    import numpy as np

    from bo_agent.decide.strategy import build_pool
    from bo_agent.gp.models import GPModel
    from workflows.engines.table import read_table
    from workflows.space.compositions import default_space

    data = read_table(full_table)
    pool = build_pool(default_space(), "Na")
    y = np.array([data[c]["e_b"] for c in pool.ids])
    fresh = GPModel(n_restarts=2, restart_limit=64, random_state=0).fit(pool.X, y)
    with memoised_fits():
        GPModel(n_restarts=2, restart_limit=64, random_state=1).fit(pool.X, y)
        cached = GPModel(n_restarts=2, restart_limit=64, random_state=2).fit(pool.X, y)
    post_fresh = fresh.pool_posterior(pool.X[:20])
    post_cached = cached.pool_posterior(pool.X[:20])
    assert np.allclose(post_cached.mean, post_fresh.mean)
    assert np.allclose(post_cached.std, post_fresh.std)


def test_early_stop_and_budget(full_table):
    from workflows.engines.table import read_table

    data = {k: v["e_b"] for k, v in read_table(full_table).items()}
    full = _replay_ids(full_table, model="abo", budget=12, seed=0)
    target = full.ids[7]
    from bo_agent.decide.strategy import build_pool
    from workflows.space.compositions import default_space

    pool = build_pool(default_space(), "Na")
    cfg = CampaignConfig(carrier="Na", engine="table", model="abo", budget=12, seed=0)
    cut = replay(pool, cfg, data, until_any={target})
    assert cut.ids == full.ids[:8]
    assert cut.stop_reason == "found"
    every = replay(pool, cfg, data, until_all=set(full.ids[:3]) | {target})
    assert every.ids == full.ids[:8]
    assert full.stop_reason == "budget of 12 evaluations used"
    with pytest.raises(ValueError, match="q and budget"):
        replay(pool, cfg, data, q=0)


def test_threshold_goal_stops_only_after_stop_patience_evaluations_without_a_hit(
    clean_lp, full_table
):
    kw = {"model": "obo", "goal": "threshold", "tau": 0.6, "seed": 3}
    full = _replay_ids(full_table, budget=24, stop_undiscovered=0.0, **kw)
    hits = [t for t, e in enumerate(full.e_b, start=1) if e < 0.6]
    # The posterior condition always holds (level 1e6): the stop is set by the patience alone,
    # at the first GP decision after 6 evaluations without a composition below tau.
    expected = next(i for i in range(5, 25) if i - max([h for h in hits if h <= i], default=0) >= 6)
    assert hits  # a hit resets the count (without one the stop would be at 6)
    assert 6 < expected < 24  # the GP's own rule would stop at once, at 5
    rule = {"stop_undiscovered": 1e6, "stop_patience": 6, "budget": 24}
    cut = _replay_ids(full_table, **rule, **kw)
    assert cut.ids == full.ids[:expected]
    assert "none found in the last" in cut.stop_reason
    assert _live_ids(clean_lp, full_table, **rule, **kw) == cut.ids

    # `tavbo status` shows where the campaign stood against the rule when it stopped
    from bo_agent.campaign.report import summarise

    progress = summarise("live").threshold
    assert progress["found"] == sum(e < 0.6 for e in cut.e_b)
    assert progress["since_last_hit"] == 6
    assert progress["expected_undiscovered"] is not None
    assert progress["stop_patience"] == 6
