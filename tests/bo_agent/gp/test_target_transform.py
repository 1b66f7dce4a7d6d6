"""The log target scale: barriers, thresholds, margins and predictions between eV and log E_b."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import lognorm

from bo_agent.config import CampaignConfig
from bo_agent.gp.target_transform import LOG_FLOOR, TargetScale
from workflows.errors import ConfigError


def test_none_leaves_barriers_thresholds_and_margins_in_ev() -> None:
    scale = TargetScale("none")
    np.testing.assert_array_equal(scale.forward([0.1, 0.4]), [0.1, 0.4])
    assert (scale.level(0.3), scale.margin(0.01, 0.2), scale.to_ev(0.3, 0.1)) == (
        0.3,
        0.01,
        (0.3, 0.1),
    )


def test_log_maps_a_threshold_so_that_the_same_barriers_lie_below_it() -> None:
    scale = TargetScale("log")
    e_b = np.array([0.09, 0.29, 0.31, 1.7])
    assert list(scale.forward(e_b) < scale.level(0.3)) == list(e_b < 0.3)


def test_a_barrierless_hop_stays_finite_on_the_log_scale() -> None:
    z = TargetScale("log").forward([0.0, -0.01, 0.2])
    assert np.all(np.isfinite(z))
    assert z[0] == z[1] == math.log(LOG_FLOOR)


def test_log_margin_puts_the_improvement_level_xi_ev_below_the_incumbent() -> None:
    scale = TargetScale("log")
    best, xi = 0.2, 0.01
    assert math.log(best) - scale.margin(xi, best) == pytest.approx(math.log(best - xi))
    # an incumbent within xi of zero: the level is the floor, not log of a negative number
    assert math.isfinite(scale.margin(0.01, 0.005))


def test_log_predictions_are_reported_as_lognormal_mean_and_std_in_ev() -> None:
    m, s = math.log(0.25), 0.4
    mean, std = TargetScale("log").to_ev(m, s)
    ref = lognorm(s, scale=math.exp(m))
    assert (mean, std) == pytest.approx((ref.mean(), ref.std()))
    nan_mean, _ = TargetScale("log").to_ev(float("nan"), float("nan"))  # random picks
    assert math.isnan(nan_mean)


def test_unknown_target_transform_is_rejected_naming_it() -> None:
    with pytest.raises(ValueError, match="sqrt"):
        TargetScale("sqrt")
    with pytest.raises((ValueError, ConfigError), match="target_transform"):
        CampaignConfig(target_transform="sqrt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tau"):  # tau <= 0 is refused for every scale
        CampaignConfig(target_transform="log", goal="threshold", tau=0.0)
