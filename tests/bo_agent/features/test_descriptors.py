"""Tests for bo_agent.features.descriptors: composition -> feature rows, groups and scaling."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from pymatgen.core.periodic_table import Element

from bo_agent.errors import DescriptorError
from bo_agent.features.descriptors import (
    FEATURES,
    _electronegativity,
    compute_descriptors,
    shannon_radius,
)
from bo_agent.features.scaling import DescriptorScaler, standardise
from bo_agent.features.table import DescriptorTable
from workflows.errors import TavboError
from workflows.space.compositions import SITES, Candidate, default_space

ELEMENT_KINDS = {
    "radius",
    "electronegativity",
    "oxidation",
    "mass",
    "period",
    "group",
    "ionisation",
}


@pytest.fixture(scope="module")
def pool() -> DescriptorTable:
    return compute_descriptors(default_space())


@pytest.fixture(scope="module")
def standardised(pool: DescriptorTable) -> DescriptorTable:
    return standardise(pool)


def value(table: DescriptorTable, candidate_id: str, name: str) -> float:
    return float(table.column(name)[table.ids.index(candidate_id)])


# ------------------------------------------------------------------------------ raw table
def test_every_default_candidate_has_a_finite_full_row(pool: DescriptorTable) -> None:
    assert pool.values.shape == (318, len(FEATURES))
    assert np.isfinite(pool.values).all()
    assert list(pool.ids) == default_space().ids


def test_column_names_are_unique_and_start_with_their_site(pool: DescriptorTable) -> None:
    assert len(set(pool.names)) == pool.n_features
    assert all(
        name.startswith(f"{site}_") for name, site in zip(pool.names, pool.site_of, strict=True)
    )


def test_every_site_gets_every_element_property(pool: DescriptorTable) -> None:
    for site in SITES:
        assert {f"{site}_{kind}" for kind in ELEMENT_KINDS} <= set(pool.names)


def test_rows_follow_the_order_of_the_candidates(pool: DescriptorTable) -> None:
    reversed_table = compute_descriptors(reversed(default_space().candidates))
    assert reversed_table.ids == pool.ids[::-1]
    np.testing.assert_array_equal(reversed_table.values, pool.values[::-1])


def test_table_values_are_read_only(pool: DescriptorTable) -> None:
    with pytest.raises(ValueError, match="read-only"):
        pool.values[0, 0] = 1.0


def test_table_rejects_non_finite_values() -> None:
    with pytest.raises(DescriptorError, match="non-finite b for y"):
        DescriptorTable(("a", "b"), ("x", "y"), [[1.0, 2.0], [3.0, np.nan]], ("A", "M"), ("k", "k"))


def test_table_rejects_values_of_the_wrong_shape() -> None:
    with pytest.raises(DescriptorError, match="shape"):
        DescriptorTable(("a",), ("x", "y"), [[1.0, 2.0]], ("A",), ("k",))


# --------------------------------------------------------------------------------- groups
@pytest.mark.parametrize("which", ["raw", "standardised"])
def test_groups_by_site_cover_every_column_once_in_four_groups(
    which: str, pool: DescriptorTable, standardised: DescriptorTable
) -> None:
    table = pool if which == "raw" else standardised
    groups = table.groups("site")
    assert list(groups) == ["A", "M", "X", "Z"]
    assert sorted(j for cols in groups.values() for j in cols) == list(range(table.n_features))
    for site, cols in groups.items():
        assert all(table.names[j].startswith(f"{site}_") for j in cols)


@pytest.mark.parametrize("which", ["raw", "standardised"])
def test_groups_by_kind_cover_every_column_once(
    which: str, pool: DescriptorTable, standardised: DescriptorTable
) -> None:
    table = pool if which == "raw" else standardised
    groups = table.groups("kind")
    assert set(groups) >= ELEMENT_KINDS
    assert sorted(j for cols in groups.values() for j in cols) == list(range(table.n_features))
    for kind, cols in groups.items():
        assert all(table.kind_of[j] == kind for j in cols)


def test_raw_element_properties_have_one_column_per_site(pool: DescriptorTable) -> None:
    groups = pool.groups("kind")
    for kind in ELEMENT_KINDS:
        assert sorted(pool.site_of[j] for j in groups[kind]) == sorted(SITES)


def test_groups_reject_an_unknown_grouping(pool: DescriptorTable) -> None:
    with pytest.raises(DescriptorError, match="valid options are 'site', 'kind'"):
        pool.groups("element")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ physics
def test_hydroxide_gets_its_documented_group_values(pool: DescriptorTable) -> None:
    oxygen = Element("O")
    cid = "Li-Al-P-OH"
    assert value(pool, cid, "Z_radius") == pytest.approx(1.32)
    assert value(pool, cid, "Z_electronegativity") == pytest.approx(oxygen.X)
    assert value(pool, cid, "Z_oxidation") == -1
    assert value(pool, cid, "Z_mass") == pytest.approx(17.007, abs=1e-3)
    assert value(pool, cid, "Z_period") == 2
    assert value(pool, cid, "Z_group") == 16
    assert value(pool, cid, "Z_ionisation") == pytest.approx(oxygen.ionization_energies[0])


def test_hydroxide_radius_lies_between_fluoride_and_oxide(pool: DescriptorTable) -> None:
    r_f = value(pool, "Li-Al-P-F", "Z_radius")
    r_oh = value(pool, "Li-Al-P-OH", "Z_radius")
    r_o = value(pool, "Li-Ti-P-O", "Z_radius")
    assert r_f < r_oh < r_o


def test_sodium_radius_exceeds_lithium_radius(pool: DescriptorTable) -> None:
    for cid in pool.ids:
        if cid.startswith("Li-"):
            na = "Na-" + cid.removeprefix("Li-")
            assert value(pool, na, "A_radius") > value(pool, cid, "A_radius")
            assert value(pool, na, "A_Z_bond_length") > value(pool, cid, "A_Z_bond_length")


def test_listed_coordination_gives_the_tabulated_radius() -> None:
    assert shannon_radius("Na", 1, 5) == pytest.approx(1.00)
    assert shannon_radius("Al", 3, 6) == pytest.approx(0.535)
    assert shannon_radius("P", 5, 4) == pytest.approx(0.17)
    assert shannon_radius("F", -1, 2) == pytest.approx(1.285)


def test_missing_coordination_is_interpolated_between_listed_neighbours() -> None:
    r_iv, r_vi = shannon_radius("Li", 1, 4), shannon_radius("Li", 1, 6)
    assert shannon_radius("Li", 1, 5) == pytest.approx((r_iv + r_vi) / 2)


def test_missing_coordination_outside_the_listed_range_takes_the_nearest() -> None:
    assert shannon_radius("Cs", 1, 5) == shannon_radius("Cs", 1, 6)


def test_other_carriers_get_finite_full_rows() -> None:
    table = compute_descriptors(
        [Candidate("K", "Al", "P", "F", 1, 3, 5, -1), Candidate("Mg", "Al", "S", "O", 2, 3, 6, -2)]
    )
    assert np.isfinite(table.values).all()
    assert value(table, "K-Al-P-F", "A_radius") > value(table, "Mg-Al-S-O", "A_radius")


# ------------------------------------------------------------------------------- errors
def test_species_without_shannon_radius_raises_one_line_tavbo_error() -> None:
    polonium = Candidate("Li", "Po", "S", "F", 1, 2, 6, -1)  # Po2+: no Shannon radius
    with pytest.raises(TavboError) as info:
        compute_descriptors([polonium])
    message = str(info.value)
    assert isinstance(info.value, DescriptorError)
    assert isinstance(info.value, ValueError)
    assert "\n" not in message
    assert "Po+2" in message
    assert "radius" in message
    assert "Li-Po-S-F" in message


def test_element_without_electronegativity_is_named() -> None:
    with pytest.raises(DescriptorError, match="no Pauling electronegativity for Ne"):
        _electronegativity(Element("Ne"))


def test_unknown_element_is_named() -> None:
    with pytest.raises(DescriptorError, match="'Qq' is not a chemical element"):
        compute_descriptors([Candidate("Li", "Qq", "P", "F", 1, 3, 5, -1)])


def test_hydroxide_with_another_oxidation_state_has_no_radius() -> None:
    with pytest.raises(DescriptorError, match="OH-2"):
        compute_descriptors([Candidate("Li", "Ti", "P", "OH", 1, 4, 5, -2)])


def test_no_candidates_raise() -> None:
    with pytest.raises(DescriptorError, match="no candidates"):
        compute_descriptors([])


# ------------------------------------------------------------------------------ scaling
def test_standardised_columns_have_zero_mean_and_unit_std_over_the_pool(
    standardised: DescriptorTable,
) -> None:
    np.testing.assert_allclose(standardised.values.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(standardised.values.std(axis=0), 1.0, rtol=1e-12)
    assert np.isfinite(standardised.values).all()


def test_constant_columns_are_dropped_from_standardised_table_but_kept_in_raw(
    pool: DescriptorTable, standardised: DescriptorTable
) -> None:
    constant = {n for n, col in zip(pool.names, pool.values.T, strict=True) if np.ptp(col) == 0}
    assert {"A_oxidation", "A_group", "Z_period"} <= constant
    assert constant <= set(pool.names)
    assert constant.isdisjoint(standardised.names)
    assert set(standardised.names) == set(pool.names) - constant
    assert DescriptorScaler().fit(pool).dropped_ == tuple(n for n in pool.names if n in constant)


def test_keeping_constant_columns_centres_them_at_zero(pool: DescriptorTable) -> None:
    table = standardise(pool, drop_constant=False)
    assert table.names == pool.names
    assert not table.column("A_oxidation").any()


def test_reference_pool_gives_li_and_na_one_feature_space(
    pool: DescriptorTable, standardised: DescriptorTable
) -> None:
    li_ids = [cid for cid in pool.ids if cid.startswith("Li-")]
    li = standardise(pool.subset(li_ids), reference=pool)
    assert li.names == standardised.names
    np.testing.assert_allclose(li.values, standardised.subset(li_ids).values)


def test_li_only_pool_drops_the_carrier_property_columns(pool: DescriptorTable) -> None:
    li = standardise(pool.subset([cid for cid in pool.ids if cid.startswith("Li-")]))
    assert [li.names[j] for j in li.groups("site")["A"]] == ["A_Z_bond_length"]


def test_transform_rejects_a_table_with_other_columns(pool: DescriptorTable) -> None:
    scaler = DescriptorScaler().fit(pool)
    other = DescriptorTable(("a",), ("x",), [[1.0]], ("A",), ("radius",))
    with pytest.raises(DescriptorError, match="columns differ"):
        scaler.transform(other)


def test_unfitted_scaler_raises() -> None:
    with pytest.raises(DescriptorError, match="not fitted"):
        DescriptorScaler().transform(compute_descriptors(default_space().candidates[:2]))


def test_scaler_rejects_a_pool_where_every_column_is_constant() -> None:
    single = compute_descriptors(default_space().candidates[:1])
    with pytest.raises(DescriptorError, match="every descriptor is constant"):
        standardise(single)


# ------------------------------------------------------------------------------- export
def test_as_csv_round_trips_ids_names_and_values(pool: DescriptorTable) -> None:
    rows = list(csv.reader(io.StringIO(pool.as_csv())))
    assert rows[0] == ["id", *pool.names]
    assert [r[0] for r in rows[1:]] == list(pool.ids)
    np.testing.assert_array_equal(np.array([r[1:] for r in rows[1:]], dtype=float), pool.values)


def test_repr_is_one_short_line(pool: DescriptorTable) -> None:
    assert repr(pool) == "DescriptorTable(318 candidates x 34 features)"


def test_to_rows_gives_one_dict_per_candidate(pool: DescriptorTable) -> None:
    rows = pool.to_rows()
    assert len(rows) == pool.n_candidates
    assert rows[0]["id"] == pool.ids[0]
    assert rows[0]["A_radius"] == pool.values[0, 0]
