"""The kernel groupings of a campaign's pool (``groups``): descriptor kinds or sites, and kinds
with element-identity terms (``kind+element``)."""

from __future__ import annotations

import numpy as np
import pytest

from bo_agent.config import CampaignConfig
from bo_agent.decide.strategy import build_pool
from bo_agent.errors import DescriptorError
from workflows.space.compositions import default_space


def test_each_site_and_each_framework_is_one_kernel_group_next_to_the_descriptor_kinds():
    kind = build_pool(default_space(), "Na", "kind")
    both = build_pool(default_space(), "Na", "kind+element")
    extra = {g: cols for g, cols in both.groups.items() if g not in kind.groups}
    assert set(extra) == {"element_M", "element_X", "element_Z", "element_XZ"}
    assert {g: both.groups[g] for g in kind.groups} == kind.groups  # descriptors unchanged
    assert np.array_equal(both.X[:, : kind.X.shape[1]], kind.X)
    frameworks = {(c.x, c.z) for c in default_space().candidates if c.carrier == "Na"}
    assert len(extra["element_XZ"]) == len(frameworks)


def test_an_unknown_grouping_is_one_line_error():
    with pytest.raises(DescriptorError, match=r"unknown kernel grouping 'kind\+all'"):
        build_pool(default_space(), "Na", "kind+all")


def test_a_campaign_rejects_an_unknown_grouping_in_one_line():
    with pytest.raises(ValueError, match="groups"):
        CampaignConfig(name="t", carrier="Na", engine="table", groups="element")
