"""The model a campaign runs when none is given: abo, or auto (judging its source) with transfer."""

from __future__ import annotations

from bo_agent.config import CampaignConfig


def _config(**kw):
    return CampaignConfig(name="t", carrier="Na", engine="bvse", **kw)


def test_a_transfer_campaign_judges_its_source_unless_a_model_is_given():
    assert _config().model == "abo"
    assert _config(transfer="gp", source_data="bvse").model == "auto"
    assert _config(transfer="gp", source_data="bvse", model="abo").model == "abo"


def test_a_stored_campaign_keeps_its_model_when_resumed_without_one(clean_lp):
    from bo_agent.campaign.state import effective_config, open_campaign

    open_campaign(_config(transfer="gp", source_data="bvse", model="abo"))
    resumed = effective_config(_config(transfer="gp", source_data="bvse", budget=30))
    assert resumed.model == "abo"  # the default for new campaigns does not change an old one
    assert resumed.budget == 30
