"""Tests for bo_agent.decide.acquisition against a fixed posterior (mean and std stubs)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from bo_agent.decide.acquisition import (
    ACQUISITIONS,
    AcquisitionContext,
    expected_improvement,
    expected_undiscovered,
    get_acquisition,
    lower_confidence_bound,
    probability_below,
    probability_of_improvement,
    should_stop,
    thompson_sampling,
)
from workflows.errors import ConfigError

STD = np.full(3, 0.1)
CTX = AcquisitionContext(best_f=0.4, xi=0.0, kappa=2.0, threshold=0.3)


@pytest.mark.parametrize("name", ["ei", "pi", "lcb", "below"])
def test_lower_mean_scores_higher_at_equal_std(name: str) -> None:
    scores = get_acquisition(name)(np.array([0.2, 0.35, 0.5]), STD, CTX)
    assert scores[0] > scores[1] > scores[2]


@pytest.mark.parametrize("name", ["ei", "lcb"])
def test_more_uncertainty_scores_higher_at_equal_mean(name: str) -> None:
    scores = get_acquisition(name)(np.full(3, 0.5), np.array([0.05, 0.1, 0.3]), CTX)
    assert scores[0] < scores[1] < scores[2]


def test_expected_improvement_matches_the_closed_form() -> None:
    ei = expected_improvement(np.array([0.4, 0.3]), np.array([1.0, 0.2]), CTX)
    assert ei[0] == pytest.approx(norm.pdf(0.0))  # at the incumbent: std * phi(0)
    z = (0.4 - 0.3) / 0.2
    assert ei[1] == pytest.approx(0.1 * norm.cdf(z) + 0.2 * norm.pdf(z))
    assert np.all(expected_improvement(np.linspace(0, 2, 50), np.full(50, 0.1), CTX) >= 0)


def test_expected_improvement_without_uncertainty_is_the_plain_improvement() -> None:
    ei = expected_improvement(np.array([0.1, 0.4, 0.9]), np.zeros(3), CTX)
    assert np.allclose(ei, [0.3, 0.0, 0.0])


def test_xi_demands_a_larger_improvement() -> None:
    mean = np.array([0.35])
    strict = AcquisitionContext(best_f=0.4, xi=0.1)
    assert expected_improvement(mean, STD[:1], strict) < expected_improvement(mean, STD[:1], CTX)
    assert probability_of_improvement(mean, STD[:1], strict) < probability_of_improvement(
        mean, STD[:1], CTX
    )


def test_probability_of_improvement_is_a_normal_cdf() -> None:
    pi = probability_of_improvement(np.array([0.4, 0.2, 0.6]), STD, CTX)
    assert np.allclose(pi, norm.cdf((0.4 - np.array([0.4, 0.2, 0.6])) / 0.1))


def test_lcb_is_kappa_std_minus_mean_and_ucb_is_its_alias() -> None:
    mean, std = np.array([0.2, 0.5]), np.array([0.1, 0.3])
    assert np.allclose(lower_confidence_bound(mean, std, CTX), 2.0 * std - mean)
    assert get_acquisition("ucb") is get_acquisition("lcb")


def test_thompson_scores_a_given_joint_sample() -> None:
    sample = np.array([0.5, 0.1, 0.3])
    ctx = AcquisitionContext(sample=sample)
    assert np.argmax(thompson_sampling(np.zeros(3), STD, ctx)) == 1
    assert get_acquisition("thompson") is get_acquisition("ts")


def test_thompson_without_sample_is_seeded() -> None:
    mean, std = np.zeros(100), np.ones(100)
    a = thompson_sampling(mean, std, AcquisitionContext(random_state=7))
    b = thompson_sampling(mean, std, AcquisitionContext(random_state=7))
    c = thompson_sampling(mean, std, AcquisitionContext(random_state=8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_probability_below_is_correct_for_a_known_normal() -> None:
    p = probability_below(np.array([0.3, 0.2, 0.5]), np.array([0.1, 0.1, 0.0]), CTX)
    assert p[0] == pytest.approx(0.5)
    assert p[1] == pytest.approx(norm.cdf(1.0))
    assert p[2] == 0.0  # certain and above tau


def test_expected_undiscovered_sums_probabilities_of_unevaluated_candidates() -> None:
    mean = np.array([0.0, 0.0, 1.0, -5.0])
    std = np.ones(4)
    evaluated = np.array([True, False, False, False])
    value = expected_undiscovered(mean, std, 0.0, evaluated)
    assert value == pytest.approx(0.5 + norm.cdf(-1.0) + norm.cdf(5.0))
    assert expected_undiscovered(mean, std, 0.0, np.ones(4, bool)) == 0.0
    assert should_stop(mean, std, 0.0, evaluated, level=2.0)
    assert not should_stop(mean, std, 0.0, evaluated, level=1.0)


def test_expected_undiscovered_counts_a_known_population() -> None:
    # 1000 candidates certain to lie at their means: exactly those below tau count.
    mean = np.linspace(0.0, 1.0, 1000)
    value = expected_undiscovered(mean, np.zeros(1000), 0.3, np.zeros(1000, bool))
    assert value == np.sum(mean < 0.3)


def test_unknown_acquisition_raises_config_error_listing_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown acquisition='eii'.*'ei'.*'ts'"):
        get_acquisition("eii")


def test_every_campaign_config_acquisition_name_is_registered() -> None:
    for name in ("ei", "pi", "lcb", "ts", "below", "random"):
        assert name in ACQUISITIONS


@pytest.mark.parametrize(
    ("name", "field"), [("ei", "best_f"), ("pi", "best_f"), ("below", "threshold")]
)
def test_missing_context_raises_config_error(name: str, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        get_acquisition(name)(np.zeros(2), np.ones(2), AcquisitionContext())


def test_mismatched_shapes_raise_value_error() -> None:
    with pytest.raises(ValueError, match="same shape"):
        expected_improvement(np.zeros(3), np.ones(2), CTX)
    with pytest.raises(ValueError, match="non-negative"):
        expected_improvement(np.zeros(2), np.array([1.0, -1.0]), CTX)


def test_scores_are_finite_for_extreme_inputs() -> None:
    mean = np.array([-1e6, 1e6, 0.0])
    std = np.array([1e-12, 1e-12, 1e6])
    for name in ("ei", "pi", "lcb", "below"):
        assert np.all(np.isfinite(get_acquisition(name)(mean, std, CTX))), name
    assert math.isfinite(expected_undiscovered(mean, std, 0.3, np.zeros(3, bool)))
