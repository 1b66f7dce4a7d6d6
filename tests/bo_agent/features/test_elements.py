"""Element-identity columns and the ``kind+element`` grouping of the additive kernel."""

from __future__ import annotations

import numpy as np
import pytest

from bo_agent.config import CampaignConfig
from bo_agent.decide.selection import model_for
from bo_agent.decide.strategy import build_pool
from bo_agent.features.elements import ELEMENT_DISTANCE, element_columns
from workflows.space.compositions import default_space


@pytest.fixture(scope="module")
def na():
    return [c for c in default_space().candidates if c.carrier == "Na"]


def _row(table, cid):
    return table.values[table.ids.index(cid)]


def test_two_compositions_differing_in_one_element_lie_one_element_distance_apart(na):
    table = element_columns(na)
    m = [j for j, k in enumerate(table.kind_of) if k == "element_M"]
    a, b = _row(table, "Na-Ga-P-F"), _row(table, "Na-Al-P-F")
    assert np.linalg.norm(a[m] - b[m]) == pytest.approx(ELEMENT_DISTANCE)
    others = [j for j in range(table.n_features) if j not in m]
    assert np.array_equal(a[others], b[others])  # same X, Z and framework


def test_a_constant_site_gets_no_identity_term(na):
    only_f = [c for c in na if c.z == "F"]
    assert not any(k == "element_Z" for k in element_columns(only_f).kind_of)


def test_element_terms_predict_an_element_effect_the_descriptors_cannot_carry(na):
    """E_b set by the M element alone, at random per element (no descriptor trend): with the
    identity terms the GP predicts unseen compositions from results with the same M."""
    rng = np.random.default_rng(3)
    offset = {m: float(rng.normal(0.4, 0.15)) for m in sorted({c.m for c in na})}
    errors = {}
    for groups in ("kind", "kind+element"):
        pool = build_pool(default_space(), "Na", groups)
        y = np.array([offset[cid.split("-")[1]] for cid in pool.ids])
        train = np.random.default_rng(0).permutation(len(y))[:60]
        test = np.setdiff1d(np.arange(len(y)), train)
        config = CampaignConfig(name="t", carrier="Na", engine="table", groups=groups)
        model = model_for("abo", "none", config, pool.groups, 0)
        model.fit(pool.X[train], y[train])
        errors[groups] = float(np.sqrt(np.mean((model.predict(pool.X[test]) - y[test]) ** 2)))
    assert errors["kind+element"] < 0.6 * errors["kind"], errors
