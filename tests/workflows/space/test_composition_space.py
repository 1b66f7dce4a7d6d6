from __future__ import annotations

import pytest

from workflows.errors import SpaceFileError, UnknownCompositionError
from workflows.space.compositions import default_space, load_space, parse_space


def test_default_space_has_159_per_carrier_318_in_all():
    space = default_space()
    assert len(space) == 318
    assert len(space.filter(A="Li")) == 159
    assert len(space.filter(A="Na")) == 159
    for z in ("F", "OH", "O"):
        assert len(space.filter(A="Li", Z=z)) == 53


def test_every_default_composition_is_charge_balanced_and_unique():
    space = default_space()
    assert all(c.charge == 0 for c in space)
    assert len(set(space.ids)) == len(space)


@pytest.mark.parametrize(
    ("cid", "formula"),
    [("Na-Ga-P-F", "NaGaPO4F"), ("Li-Ti-As-O", "LiTiAsO5"), ("Li-Al-P-OH", "LiAlPO4(OH)")],
)
def test_ids_and_formulas_are_readable(cid, formula):
    assert default_space().get(cid).formula == formula


def test_unknown_id_error_names_the_id_and_suggests_neighbours():
    with pytest.raises(UnknownCompositionError, match=r"'Na-Ga-P-Q'.*did you mean Na-Ga-P-F"):
        default_space().get("Na-Ga-P-Q")


def test_user_space_with_potassium_and_magnesium_carriers(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(
        "name: k-mg\nsites:\n  A: {K: 1, Mg: 2}\n  M: {Al: 3, Mg: 2}\n  X: {P: 5}\n"
        "  Z: {F: -1, O: -2}\n"
    )
    space = load_space(path)
    # K+Al3+P5+F-, Mg2+Al3+P5+O2- and Mg2+Mg2+P5+F- balance; e.g. K Mg P O4 F does not.
    assert sorted(space.ids) == ["K-Al-P-F", "Mg-Al-P-O", "Mg-Mg-P-F"]


def test_explicit_unbalanced_composition_is_rejected_naming_entry_and_rule():
    data = {
        "sites": {"A": {"Li": 1}, "M": {"Al": 3}, "X": {"S": 6}, "Z": {"F": -1}},
        "compositions": [{"A": "Li", "M": "Al", "X": "S", "Z": "F"}],
    }
    with pytest.raises(SpaceFileError, match=r"compositions\[0\].*breaks charge balance.*\+1"):
        parse_space(data, "my.yaml")


@pytest.mark.parametrize(
    ("sites", "match"),
    [
        ({"A": {"Li": 1}, "M": {"Qq": 3}, "X": {"P": 5}, "Z": {"F": -1}}, "not a chemical element"),
        ({"A": {"Li": 1}, "M": {"Al": "3"}, "X": {"P": 5}, "Z": {"F": -1}}, "must be an integer"),
        ({"A": {"Li": 1}, "M": {"Al": 3}, "X": {"P": 5}, "Z": {"F": 1}}, "must be negative"),
        ({"A": {"Li": 1}, "M": {"Al": 3}, "X": {"P": 5}}, "missing"),
        ({"A": {"Li": 1}, "M": {"Al": 3}, "X": {"P": 6}, "Z": {"F": -1}}, "no charge-balanced"),
    ],
)
def test_malformed_space_entries_are_rejected_with_the_rule(sites, match):
    with pytest.raises(SpaceFileError, match=match):
        parse_space({"sites": sites}, "bad.yaml")


def test_invalid_yaml_file_gives_one_line_error(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("sites: [unclosed\n")
    with pytest.raises(SpaceFileError, match="not valid YAML") as info:
        load_space(path)
    assert "\n" not in str(info.value)
