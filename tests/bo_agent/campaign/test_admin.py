"""Campaign lifecycle: delete, rename, and submissions that fail never strand a candidate."""

from __future__ import annotations

import pytest

from bo_agent.config import CampaignConfig
from workflows.errors import ConfigError, LockError, StructureError


def _run(lp, table, name: str, budget: int = 3):
    from bo_agent.campaign.agent import CampaignAgent
    from workflows.flows.evaluation import run_workflow

    cfg = CampaignConfig(name=name, carrier="Na", engine="table", budget=budget, model="random",
                         engine_settings={"table": str(table)})  # fmt: skip
    agent = CampaignAgent(cfg, lp)
    agent.run(execute=lambda fw_id: run_workflow(lp, fw_id), lostrun_expiration=None)
    return agent


def test_delete_removes_workflows_candidates_decisions_and_results_of_that_campaign_only(
    clean_lp, full_table
):
    from bo_agent.campaign.admin import delete_campaign, list_campaigns
    from bo_agent.campaign.state import Campaign, CandidateRecord, Decision

    _run(clean_lp, full_table, "gone")
    _run(clean_lp, full_table, "kept")
    removed = delete_campaign(clean_lp, "gone")
    assert removed["workflows"] == 3
    assert removed["results"] == 3
    assert [c.name for c in list_campaigns()] == ["kept"]
    assert Campaign.objects(name="gone").count() == 0
    assert CandidateRecord.objects(campaign="gone").count() == 0
    assert Decision.objects(campaign="gone").count() == 0
    assert clean_lp.workflows.count_documents({"metadata.campaign": "gone"}) == 0
    assert clean_lp.db["barriers"].count_documents({"campaign": "gone"}) == 0
    assert clean_lp.workflows.count_documents({"metadata.campaign": "kept"}) == 3
    assert clean_lp.db["barriers"].count_documents({"campaign": "kept"}) == 3
    with pytest.raises(ConfigError, match="no campaign 'gone'; campaigns here: kept"):
        delete_campaign(clean_lp, "gone")


def test_a_running_campaign_cannot_be_deleted_or_renamed(clean_lp, full_table):
    from bo_agent.campaign.admin import delete_campaign, rename_campaign
    from bo_agent.campaign.lease import acquire_lease

    _run(clean_lp, full_table, "busy", budget=1)
    acquire_lease("busy", "other-host:9", seconds=600)
    with pytest.raises(LockError, match="other-host:9 runs it"):
        delete_campaign(clean_lp, "busy")
    with pytest.raises(LockError, match="other-host:9 runs it"):
        rename_campaign(clean_lp, "busy", "calm")


def test_rename_moves_the_campaign_and_its_results_and_it_resumes_under_the_new_name(
    clean_lp, full_table
):
    from bo_agent.campaign.admin import rename_campaign
    from bo_agent.campaign.report import summarise

    _run(clean_lp, full_table, "old", budget=2)
    _run(clean_lp, full_table, "taken", budget=1)
    with pytest.raises(ConfigError, match="exists already"):
        rename_campaign(clean_lp, "old", "taken")
    rename_campaign(clean_lp, "old", "new")
    summary = summarise("new")
    assert summary.counts["done"] == 2
    assert clean_lp.db["barriers"].count_documents({"campaign": "new"}) == 2
    agent = _run(clean_lp, full_table, "new", budget=3)  # resumes: one more, none redone
    assert agent.counts()["done"] == 3
    assert clean_lp.workflows.count_documents({"metadata.campaign": "new"}) == 3


@pytest.mark.parametrize(
    ("error", "status"),
    [(StructureError("no tavorite for this one"), "failed"), (OSError("disk gone"), "new")],
    ids=["composition-error-fails-it", "other-error-returns-it"],
)
def test_a_submission_error_never_leaves_a_candidate_pending_without_a_workflow(
    clean_lp, full_table, monkeypatch, error, status
):
    import workflows.flows.submit as submit
    from bo_agent.campaign.agent import CampaignAgent
    from bo_agent.campaign.state import CandidateRecord

    cfg = CampaignConfig(name="sub", carrier="Na", engine="table", budget=2, model="random",
                         max_pending=1, engine_settings={"table": str(full_table)})  # fmt: skip
    agent = CampaignAgent(cfg, clean_lp)

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(submit, "submit_evaluation", broken)
    if status == "new":
        with pytest.raises(OSError, match="disk gone"):
            agent.step()
    else:
        report = agent.step()
        assert report.failed[0][1] == "submission failed: no tavorite for this one"
    recs = list(CandidateRecord.objects(campaign="sub", status__ne="new"))
    assert [r.status for r in recs] == ([] if status == "new" else ["failed"])
    assert CandidateRecord.objects(campaign="sub", status="pending").count() == 0
