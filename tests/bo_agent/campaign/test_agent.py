from __future__ import annotations

import pytest

from bo_agent.config import CampaignConfig


def _agent(lp, table, **kw):
    from bo_agent.campaign.agent import CampaignAgent

    cfg = CampaignConfig(
        name=kw.pop("name", "t"), carrier="Na", engine="table",
        engine_settings={"table": str(table), **kw.pop("engine_settings", {})}, **kw,
    )  # fmt: skip
    return CampaignAgent(cfg, lp)


def _execute(lp):
    from workflows.flows.evaluation import run_workflow

    return lambda fw_id: run_workflow(lp, fw_id)


def test_campaign_respects_budget_and_never_submits_twice(clean_lp, full_table):
    agent = _agent(clean_lp, full_table, budget=8, max_pending=3, model="abo", seed=3)
    agent.run(execute=_execute(clean_lp), lostrun_expiration=None)
    counts = agent.counts()
    assert counts["done"] == 8
    assert counts["pending"] == 0
    wfs = list(clean_lp.workflows.find({"metadata.campaign": "t"}, {"metadata": 1}))
    ids = [w["metadata"]["candidate_id"] for w in wfs]
    assert len(ids) == 8 == len(set(ids))
    assert agent.completed


def test_failed_evaluations_are_recorded_and_not_retried(clean_lp, full_table):
    from bo_agent.campaign.state import Status

    agent = _agent(
        clean_lp, full_table, budget=6, max_pending=6, model="random", seed=1,
        engine_settings={"fail_ids": []},
    )  # fmt: skip
    first = agent.plan(6)
    doomed = first.proposals[0][0]
    agent.config.engine_settings["fail_ids"] = [doomed]
    agent.run(execute=_execute(clean_lp), lostrun_expiration=None)
    failed = agent.records(Status.failed)
    assert [r.candidate_id for r in failed] == [doomed]
    assert "FIZZLED" in failed[0].error
    assert agent.counts()["done"] == 5


def test_pending_aware_batch_gives_distinct_proposals(clean_lp, full_table):
    agent = _agent(clean_lp, full_table, budget=20, max_pending=4, model="abo", seed=0, n_initial=5)
    agent.run(execute=_execute(clean_lp), max_rounds=3, lostrun_expiration=None)
    from bo_agent.campaign.state import Decision

    # the model's picks, and the local step (every fifth) among them
    batch = [d for d in Decision.objects(campaign="t") if d.strategy in ("abo", "local-random")]
    assert len(batch) >= 4
    assert len({d.candidate_id for d in batch}) == len(batch)


def test_reserved_but_unsubmitted_candidate_is_submitted_once_on_restart(clean_lp, full_table):
    from bo_agent.campaign.agent import CampaignAgent
    from bo_agent.campaign.state import CandidateRecord, Status
    from bo_agent.campaign.sync import RoundReport

    agent = _agent(clean_lp, full_table, budget=4, model="random")
    # Simulate a crash between the reservation and the submission.
    CandidateRecord.objects(campaign="t", candidate_id="Na-Ga-P-F").update_one(
        set__status=Status.pending.value, set__decision_seq=0
    )
    restarted = CampaignAgent(agent.config, clean_lp)
    restarted.sync(RoundReport())
    restarted.sync(RoundReport())
    wfs = list(clean_lp.workflows.find({"metadata.candidate_id": "Na-Ga-P-F"}))
    assert len(wfs) == 1


def _flag_unconverged(table, cid, path):
    """The table as JSON records, with the NEB of ``cid`` unconverged (an untrusted result)."""
    import json

    from workflows.engines.table import read_table

    rows = [
        {"candidate_id": k, "e_b": row["e_b"],
         "hops": [{"barrier": row["e_b"], "converged": k != cid, "n_steps": 300}]}
        for k, row in read_table(table).items()
    ]  # fmt: skip
    path.write_text(json.dumps(rows))
    return path


def test_an_untrusted_result_enters_the_gp_at_the_worst_e_b_and_a_run_failure_does_not(
    clean_lp, full_table, tmp_path, monkeypatch
):
    import numpy as np

    from bo_agent.campaign.report import summarise
    from bo_agent.campaign.state import CandidateRecord, Status
    from bo_agent.decide import strategy

    kw = {"budget": 10, "max_pending": 10, "model": "abo", "n_initial": 8, "seed": 1}
    first = [c for c, _ in _agent(clean_lp, full_table, name="probe", **kw).plan(10).proposals]
    flagged, crashed = first[0], first[1]  # the first round's random picks, as in the campaign
    table = _flag_unconverged(full_table, flagged, tmp_path / "flagged.json")
    agent = _agent(clean_lp, table, engine_settings={"fail_ids": [crashed]}, **kw)
    assert agent.config.failed_value == "auto"  # the default: worst without a transfer source
    agent.run(execute=_execute(clean_lp), lostrun_expiration=None)
    kinds = {r.candidate_id: r.failure for r in agent.records(Status.failed)}
    assert kinds == {flagged: "untrusted", crashed: "run"}
    summary = {f["candidate_id"]: f["failure"] for f in summarise("t").failed}
    assert summary == kinds  # what tavbo status shows

    targets: list[dict[str, float]] = []
    propose = strategy.propose

    def spy(model, X, observed_idx, y, **kwargs):
        ids = [agent.pool.ids[i] for i in np.asarray(observed_idx)]
        targets.append(dict(zip(ids, np.asarray(y).tolist(), strict=True)))
        return propose(model, X, observed_idx, y, **kwargs)

    monkeypatch.setattr(strategy, "propose", spy)
    done = {r.candidate_id: r.e_b for r in agent.records(Status.done)}
    assert len(done) == 8
    decision = agent.plan(1)
    assert decision.model["n_train"] == 9
    assert targets[-1] == pytest.approx({**done, flagged: max(done.values())})
    assert crashed not in targets[-1]
    assert not {c for c, _ in decision.proposals} & {flagged, crashed}

    # a failure recorded before kinds were stored (no field) counts as a run failure
    CandidateRecord.objects(campaign="t", candidate_id=flagged).update_one(unset__failure=True)
    assert agent.plan(1).model["n_train"] == 8
    assert flagged not in targets[-1]
    assert {f["candidate_id"]: f["failure"] for f in summarise("t").failed}[flagged] == "run"
