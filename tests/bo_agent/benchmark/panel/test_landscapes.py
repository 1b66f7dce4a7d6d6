"""Panel problems made from other data: known structure, noisy answers, an unrelated source."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from bo_agent.benchmark.data import BenchmarkData
from bo_agent.benchmark.panel.landscapes import noisy, structured_landscape, unrelated_source
from bo_agent.benchmark.panel.problems import PANEL, load_problem, panel_strategies


def test_the_needle_lies_far_below_a_flat_landscape():
    e = np.sort(list(structured_landscape("needle").values.values()))
    assert len(e) == 159
    assert e[1] - e[0] >= 0.19  # one composition 0.2 eV below the rest
    assert e[-1] - e[1] < 0.15  # the rest is nearly flat


@pytest.mark.parametrize("kind", ["additive", "interacting"])
def test_structured_landscapes_are_reproducible_and_vary(kind):
    a = structured_landscape(kind)
    assert a.values == structured_landscape(kind).values
    assert np.std(list(a.values.values())) > 0.05


def test_noise_changes_the_answers_and_keeps_the_truth():
    data = BenchmarkData({"Na-a": 0.2, "Na-b": 0.3, "Na-c": 0.5}, "toy")
    noisy_data = noisy(data, 0.03)
    assert noisy_data.truth == data.values
    assert noisy_data.values != data.values
    assert noisy_data.values == noisy(data, 0.03).values  # fixed seed


def test_an_unrelated_source_has_the_same_values_in_no_relation():
    data, _ = load_problem(next(p for p in PANEL if p.name == "chgnet-na"))
    li = data.carrier("Li")
    shuffled = unrelated_source(data).values
    assert sorted(shuffled.values()) == sorted(li.values())
    ids = sorted(li)
    assert abs(spearmanr([li[i] for i in ids], [shuffled[i] for i in ids])[0]) < 0.2


def test_the_structured_source_is_a_smooth_li_landscape_unrelated_to_the_na_target():
    problem = next(p for p in PANEL if p.name == "chgnet-na-structured-source")
    data, source = load_problem(problem)
    assert source is not None
    assert set(source.values) == set(source.carrier("Li"))
    pairs = [(v, source.values["Li" + k[2:]]) for k, v in data.carrier("Na").items()]
    assert abs(spearmanr(*zip(*pairs, strict=True))[0]) < 0.1  # no relation to the target


def test_every_problem_runs_random_the_peers_the_default_and_its_candidates():
    from bo_agent.benchmark.panel.problems import CANDIDATES, DEFAULT, DEFAULT_TRANSFER
    from bo_agent.config import CampaignConfig

    assert CampaignConfig().model == DEFAULT  # the panel judges the campaign's default
    for problem in PANEL:
        names = panel_strategies(problem)
        assert {"random", "physbo", "baybe", DEFAULT, *CANDIDATES} <= set(names)
        assert (DEFAULT_TRANSFER in names) == (problem.source_carrier is not None)
