"""The local step (``local_every``): every n-th pick of the model is instead a random one among
the compositions one substitution away from the best result."""

from __future__ import annotations

import numpy as np
import pytest

from bo_agent.config import CampaignConfig
from bo_agent.decide.neighbourhood import local_region, one_substitution_away
from bo_agent.decide.strategy import build_pool, decide
from workflows.space.compositions import default_space


@pytest.fixture(scope="module")
def na_pool():
    return build_pool(default_space(), "Na", "kind")


def test_neighbours_differ_from_the_centre_in_exactly_one_of_m_x_z_and_keep_the_carrier():
    ids = ["Na-Cd-Se-F", "Na-Ca-Se-F", "Na-Cd-S-F", "Na-Cd-Se-OH", "Li-Cd-Se-F", "Na-Ca-S-F"]
    assert one_substitution_away(ids, "Na-Cd-Se-F") == ["Na-Ca-Se-F", "Na-Cd-S-F", "Na-Cd-Se-OH"]


def test_the_region_moves_to_the_next_best_result_when_the_best_ones_neighbours_are_taken():
    ids = ["Na-Cd-Se-F", "Na-Ca-Se-F", "Na-Cd-S-F", "Na-Mg-W-O", "Na-Mg-Mo-O"]
    observations = {"Na-Cd-Se-F": 0.12, "Na-Mg-W-O": 0.40}
    taken = {"Na-Cd-Se-F", "Na-Mg-W-O", "Na-Ca-Se-F", "Na-Cd-S-F"}
    assert local_region(ids, observations, taken) == ("Na-Mg-W-O", ["Na-Mg-Mo-O"])
    assert local_region(ids, observations, taken | {"Na-Mg-Mo-O"}) is None


def _history(pool, n=12):
    """Results that make the GP's global pick land far from the best composition."""
    rng = np.random.default_rng(3)
    ids = list(pool.ids)
    picked = [ids[i] for i in rng.choice(len(ids), n, replace=False)]
    observations = {cid: round(0.3 + 0.4 * float(rng.random()), 3) for cid in picked}
    best = picked[0]
    observations[best] = 0.10
    return observations, best


def test_every_nth_pick_of_the_model_is_a_neighbour_of_the_best_result(na_pool):
    observations, best = _history(na_pool)
    neighbours = set(one_substitution_away(na_pool.ids, best))
    config = CampaignConfig(model="abo", seed=0, n_initial=5, local_every=2)
    # 12 results: the model's 8th pick (12 - 5 + 1) is local with local_every 2, not the 9th
    local = decide(na_pool, config, observations)
    assert local.proposals[0][0] in neighbours
    assert local.model["local"] == {"centre": best, "free": len(neighbours - set(observations))}
    assert local.proposals[0][1].acquisition == "random-local"
    assert local.proposals[0][1].index == na_pool.ids.index(local.proposals[0][0])
    more = dict(observations, **{local.proposals[0][0]: 0.5})
    assert "local" not in decide(na_pool, config, more).model


def test_without_local_every_the_pick_may_leave_the_neighbourhood(na_pool):
    observations, best = _history(na_pool)
    neighbours = set(one_substitution_away(na_pool.ids, best))
    config = CampaignConfig(model="abo", seed=0, n_initial=5, local_every=0)
    glob = decide(na_pool, config, observations)
    assert "local" not in glob.model
    assert glob.proposals[0][0] not in neighbours  # so the test above can fail


def test_by_default_every_fifth_pick_of_the_model_is_local(na_pool):
    observations, _ = _history(na_pool, n=9)  # the model's 5th pick: 9 - 5 + 1
    assert decide(na_pool, CampaignConfig(model="abo", seed=0), observations).model["local"]
    observations, _ = _history(na_pool, n=10)
    assert "local" not in decide(na_pool, CampaignConfig(model="abo", seed=0), observations).model


def test_a_threshold_search_takes_no_local_step(na_pool):
    observations, _ = _history(na_pool, n=9)
    config = CampaignConfig(model="abo", seed=0, goal="threshold", tau=0.3, acquisition="below")
    decision = decide(na_pool, config, observations)
    assert "local" not in decision.model
    assert decision.proposals[0][1].acquisition == "below"


def test_a_batch_holds_as_many_local_picks_as_its_turns_call_for_and_the_model_fills_the_rest(
    na_pool,
):
    observations, best = _history(na_pool, n=8)  # the batch is the model's picks 4, 5 and 6
    config = CampaignConfig(model="abo", seed=0)
    batch = decide(na_pool, config, observations, n=3)
    kinds = [p.acquisition for _, p in batch.proposals]
    assert kinds == ["ei", "random-local", "ei"]  # in the order of their turns
    alone = decide(na_pool, config, observations, n=1).proposals[0]
    assert batch.proposals[0][0] == alone[0]  # the model's picks do not lean on the local one
    assert batch.proposals[0][1].value == pytest.approx(alone[1].value, rel=1e-9)
    assert [p.rank for _, p in batch.proposals] == [0, 1, 2]
    ids = [cid for cid, _ in batch.proposals]
    assert len(set(ids)) == 3
    assert not set(ids) & set(observations)
    local = ids[kinds.index("random-local")]
    assert local in one_substitution_away(na_pool.ids, best)
    assert batch.model["local"]["centre"] == best
    assert "kernel" in batch.model  # the record of the model that made the other picks
    # what the campaign records, plots and shows for each pick
    assert [batch.strategy_of(p) for _, p in batch.proposals] == ["abo", "local-random", "abo"]
