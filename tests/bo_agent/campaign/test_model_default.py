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


def test_the_gp_prior_is_gamma_without_a_source_and_none_with_one_unless_given():
    assert _config().gp_hyperprior() == "gamma"
    assert _config(transfer="gp", source_data="bvse").gp_hyperprior() == "none"
    assert _config(hyperprior="none").gp_hyperprior() == "none"
    assert _config(transfer="gp", source_data="bvse", hyperprior="lognormal").gp_hyperprior() == (
        "lognormal"
    )


def test_the_fitted_gp_carries_the_resolved_prior():
    from bo_agent.decide.selection import model_for

    groups = {"a": [0], "b": [1]}
    assert model_for("abo", "none", _config(), groups, 0).hyperprior == "gamma"
    transfer = model_for("abo", "gp", _config(transfer="gp", source_data="bvse"), groups, 0)
    assert transfer.base.hyperprior == "none"


def test_an_untrusted_result_counts_toward_the_random_start_by_default():
    from bo_agent.decide.strategy import build_pool, decide
    from workflows.space.compositions import default_space

    pool = build_pool(default_space(), "Na", "kind")
    observations = {cid: 0.3 + 0.1 * i for i, cid in enumerate(pool.ids[:3])}
    untrusted = list(pool.ids[3:5])  # 3 results and 2 untrusted: 5 evaluations
    default = decide(pool, _config(), observations, untrusted=untrusted, seq=5)
    by_results = decide(
        pool, _config(initial_design="results"), observations, untrusted=untrusted, seq=5
    )
    assert default.strategy == "abo"  # the model picks from the 6th evaluation on
    assert by_results.strategy == "initial-random"  # still waiting for 5 trusted results


def test_a_stored_campaign_keeps_its_prior_and_initial_design_when_resumed(clean_lp):
    from bo_agent.campaign.state import effective_config, open_campaign

    open_campaign(_config(hyperprior="none", initial_design="results"))
    resumed = effective_config(_config(budget=30))
    assert (resumed.hyperprior, resumed.initial_design) == ("none", "results")


def test_the_threshold_goal_picks_by_p_below_whatever_the_stored_acquisition():
    assert _config().acquisition_used() == "ei"
    assert _config(goal="threshold", tau=0.3).acquisition_used() == "below"
    assert _config(goal="threshold", acquisition="lcb").acquisition_used() == "below"


def test_settings_are_judged_against_the_campaign_a_run_will_use():
    from bo_agent.config import unused_setting

    stored = CampaignConfig(**_config(tau=0.2, stop_patience=7).model_dump())  # made before
    assert unused_setting(stored, {"name", "budget"}) is None  # resumes: only the given judged
    assert "tau needs goal threshold" in unused_setting(_config(tau=0.2), {"tau"})
    threshold = _config(goal="threshold", tau=0.2)
    assert unused_setting(threshold, {"stop_patience"}) is None  # resuming a threshold search
    assert "threshold goal's" in unused_setting(_config(), {"stop_patience"})
