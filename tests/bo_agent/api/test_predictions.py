"""The GP's view of a campaign from the API: its own model over the whole pool, and a GP that
cannot be fitted is reported, not a crash of the page."""

from __future__ import annotations

import numpy as np
import pytest

from bo_agent.api import predictions
from bo_agent.api.store import Store
from bo_agent.config import CampaignConfig


@pytest.fixture
def small_campaign(clean_lp, full_table):
    from bo_agent.campaign.agent import CampaignAgent
    from workflows.flows.evaluation import run_workflow

    cfg = CampaignConfig(
        name="p", carrier="Na", engine="table", engine_settings={"table": str(full_table)},
        budget=7, model="obo", seed=1,
    )  # fmt: skip
    agent = CampaignAgent(cfg, clean_lp)
    agent.run(execute=lambda fw_id: run_workflow(clean_lp, fw_id), lostrun_expiration=None)
    return agent


def test_predictions_cover_the_pool_and_agree_with_the_measured_points(small_campaign):
    with Store.open() as store:
        pred = store.predictions("p")
        nxt = store.next_proposals("p", 2)
    assert len(pred) == 159
    assert pred.attrs["gp_error"] is None
    done = pred[pred["status"] == "done"]
    assert len(done) == 7
    # a GP with little noise passes close to the E_b it was fitted on, and is sure of them
    assert np.allclose(done["mean"], done["e_b"], atol=0.05)
    assert done["std"].max() < pred[pred["status"] == "new"]["std"].median()
    assert list(nxt["rank"]) == [0, 1]
    assert set(nxt["id"]).isdisjoint(done["id"])


def test_a_gp_that_cannot_be_fitted_is_reported_with_its_reason(small_campaign, monkeypatch):
    def singular(agent, observed):
        raise np.linalg.LinAlgError("matrix is singular")

    monkeypatch.setattr(predictions, "_fit_and_predict", singular)
    with Store.open() as store:
        pred = store.predictions("p")
    assert pred["mean"].isna().all()
    assert pred.attrs["gp_error"] == "LinAlgError: matrix is singular"
