"""P(trusted result) from a campaign's trusted and failed outcomes."""

from __future__ import annotations

import numpy as np

from bo_agent.decide.proposals import propose
from bo_agent.gp.feasibility import trusted_probability
from bo_agent.gp.models import GPModel


def test_candidates_next_to_failures_are_less_likely_to_be_trusted_than_those_next_to_results():
    rng = np.random.default_rng(0)
    good = rng.normal(0.0, 0.5, size=(15, 4))
    bad = rng.normal(0.0, 0.5, size=(5, 4)) + np.array([4.0, 0, 0, 0])
    p = trusted_probability(good, bad, np.array([[0.0, 0, 0, 0], [4.0, 0, 0, 0]]))
    assert p[0] > 0.7
    assert p[1] < 0.3


def test_without_a_failure_every_candidate_is_trusted_with_probability_one():
    p = trusted_probability(np.zeros((3, 2)), np.zeros((0, 2)), np.ones((5, 2)))
    assert np.array_equal(p, np.ones(5))


def test_a_weight_near_zero_moves_the_pick_off_the_best_expected_improvement():
    X = np.linspace(0, 1, 30)[:, None]
    y_all = (X[:, 0] - 0.9) ** 2
    obs = np.arange(0, 30, 5)
    model = GPModel(n_restarts=0, random_state=0)
    (free,) = propose(model, X, obs, y_all[obs], random_state=0)
    weight = np.ones(30)
    weight[free.index] = 1e-6
    (weighted,) = propose(model, X, obs, y_all[obs], random_state=0, feasibility=weight)
    assert weighted.index != free.index
