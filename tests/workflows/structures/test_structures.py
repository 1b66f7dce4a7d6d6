from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from pymatgen.core import Composition, Lattice, Species

from workflows.errors import ConfigError, StructureError, TavboWarning
from workflows.space.compositions import default_space
from workflows.space.site_chemistry import SITE_COORDINATION, shannon_radius
from workflows.structures.checks import check_structure
from workflows.structures.supercells import (
    find_supercell_matrix,
    make_supercell,
    perpendicular_widths,
)
from workflows.structures.tavorite import (
    H_CATION_MIN_DISTANCE,
    OH_BOND_LENGTH,
    PROTOTYPE,
    PROTOTYPE_BONDS,
    VOLUME_METHODS,
    make_structure,
    predict_volume,
    shannon_scale_factor,
)


@pytest.fixture(scope="module")
def space():
    return default_space()


@pytest.fixture(scope="module")
def structures(space):
    return {c.id: make_structure(c) for c in space}


def test_every_default_candidate_builds_a_structure_that_passes_the_checks(space):
    start = time.perf_counter()
    failures = []
    for candidate in space:
        try:
            check_structure(make_structure(candidate), candidate)
        except StructureError as exc:
            failures.append(str(exc))
    assert failures == []
    assert time.perf_counter() - start < 30


def test_structure_formula_matches_the_candidate(space, structures):
    for candidate in space:
        found = structures[candidate.id].composition.element_composition
        assert found.reduced_composition == Composition(candidate.formula).reduced_composition
        n_atoms = 18 if candidate.z == "OH" else 16
        assert len(structures[candidate.id]) == n_atoms


def test_structures_carry_oxidation_states_that_sum_to_zero(space, structures):
    for candidate in space:
        species = [site.specie for site in structures[candidate.id]]
        assert all(isinstance(sp, Species) for sp in species)
        assert sum(sp.oxi_state for sp in species) == 0
        assert Species(candidate.m, candidate.ox_m) in species


def test_make_structure_is_deterministic(space):
    for candidate_id in ("Li-Al-P-F", "Na-In-As-OH", "Li-Ti-P-O"):
        candidate = space.get(candidate_id)
        first, second = make_structure(candidate), make_structure(candidate)
        assert first == second
        assert np.array_equal(first.lattice.matrix, second.lattice.matrix)
        assert np.array_equal(first.frac_coords, second.frac_coords)
        assert [str(s.specie) for s in first] == [str(s.specie) for s in second]


def test_hydroxide_protons_sit_0_97_angstrom_from_their_oxygen_away_from_cations(space, structures):
    hydroxides = space.filter(Z="OH")
    assert len(hydroxides) == 106
    for candidate in hydroxides:
        structure = structures[candidate.id]
        protons = [i for i, site in enumerate(structure) if site.specie.symbol == "H"]
        assert len(protons) == 2
        for i in protons:
            neighbours = sorted(
                structure.get_neighbors(structure[i], 3.0), key=lambda n: n.nn_distance
            )
            assert neighbours[0].specie.symbol == "O"
            assert neighbours[0].nn_distance == pytest.approx(OH_BOND_LENGTH, abs=1e-6)
            cations = [n for n in neighbours if n.specie.symbol not in {"O", "H"}]
            assert min(n.nn_distance for n in cations) >= H_CATION_MIN_DISTANCE


def test_oxide_candidates_put_oxygen_on_the_z_site(space, structures):
    structure = structures["Li-Ti-P-O"]
    assert structure.composition["O"] == 10
    assert "F" not in structure.composition
    assert structure == make_structure(space.get("Li-Ti-P-O"))


def test_prototype_bond_counts_match_the_scaling_weights():
    prototype = make_structure(PROTOTYPE, volume_method="none")
    roles = {"Li": "A", "V": "M", "P": "X"}
    anion_role = {"O": "O", "F": "Z"}
    counts = dict.fromkeys([(cat, an) for cat, an, _ in PROTOTYPE_BONDS], 0)
    for site in prototype:
        role = roles.get(site.specie.symbol)
        if role is None:
            continue
        ox = int(site.specie.oxi_state)
        for n in prototype.get_neighbors(site, 3.5):
            if n.specie.symbol not in anion_role:
                continue
            r_an = shannon_radius(n.specie.symbol, int(n.specie.oxi_state), 2)
            # prototype bonds reach 1.05 x the Shannon sum, the next anion 1.43 x (around Li)
            cutoff = 1.25 * (shannon_radius(site.specie.symbol, ox, SITE_COORDINATION[role]) + r_an)
            if n.nn_distance < cutoff:
                counts[role, anion_role[n.specie.symbol]] += 1
    formula_units = 2
    assert counts == {(cat, an): formula_units * n for cat, an, n in PROTOTYPE_BONDS}


def test_shannon_scaling_leaves_the_prototype_unchanged():
    assert shannon_scale_factor(PROTOTYPE) == pytest.approx(1.0)
    volume = make_structure(PROTOTYPE).volume
    assert volume == pytest.approx(make_structure(PROTOTYPE, volume_method="none").volume)


def test_shannon_radius_falls_back_to_the_nearest_tabulated_coordination():
    assert shannon_radius("Na", 1, 5) == pytest.approx(1.00)  # tabulated
    assert shannon_radius("Li", 1, 5) == pytest.approx(0.76)  # IV and VI tie: the higher, VI
    assert shannon_radius("P", 5, 4) == pytest.approx(0.17)
    assert shannon_radius("OH", -1, 2) == pytest.approx(1.32)


def test_sodium_cells_are_larger_than_their_lithium_analogues(space):
    for li in space.filter(A="Li"):
        na = space.get(li.id.replace("Li-", "Na-", 1))
        assert shannon_scale_factor(na) > shannon_scale_factor(li)
        assert make_structure(na).volume > make_structure(li).volume


def test_bigger_m_cations_give_bigger_cells(space):
    small, large = space.get("Li-Al-P-F"), space.get("Li-Gd-P-F")
    assert predict_volume(large) > predict_volume(small)


@pytest.mark.parametrize("method", VOLUME_METHODS)
def test_every_volume_method_gives_a_plausible_volume(space, method):
    ids = ["Li-Al-P-F", "Na-Gd-P-F", "Li-Al-P-OH", "Na-Zr-V-O"]
    if method == "rls":  # pymatgen's RLS halves the volume when Z merges into O (see docs)
        with pytest.warns(TavboWarning, match="RLS volume is about half"):
            predict_volume(space.get("Li-Al-P-OH"), "rls")
        ids = ids[:2]
    for candidate_id in ids:
        candidate = space.get(candidate_id)
        structure = make_structure(candidate, volume_method=method)
        assert 120 < structure.volume < 320
        assert structure.volume == pytest.approx(predict_volume(candidate, method))


def test_unknown_volume_method_is_a_config_error(space):
    with pytest.raises(ConfigError, match="valid options"):
        make_structure(space.get("Li-Al-P-F"), volume_method="magic")  # type: ignore[arg-type]


# ---------------------------------------------------------------- check_structure rejections


@pytest.fixture
def lialpf(space):
    return space.get("Li-Al-P-F"), make_structure(space.get("Li-Al-P-F"))


def test_check_structure_rejects_two_atoms_half_an_angstrom_apart(lialpf):
    candidate, structure = lialpf
    structure.replace(
        7,
        structure[7].specie,
        coords=structure[6].coords + np.array([0.5, 0, 0]),
        coords_are_cartesian=True,
    )
    with pytest.raises(StructureError, match=r"0\.50 A apart"):
        check_structure(structure, candidate)


def test_check_structure_rejects_a_tetrahedron_that_lost_an_oxygen(lialpf):
    candidate, structure = lialpf
    x = next(i for i, s in enumerate(structure) if s.specie.symbol == "P")
    bond = min(structure.get_neighbors(structure[x], 2.0), key=lambda n: n.nn_distance)
    outward = (bond.coords - structure[x].coords) / bond.nn_distance
    structure.replace(
        bond.index, bond.specie, coords=bond.coords + 0.8 * outward, coords_are_cartesian=True
    )
    with pytest.raises(StructureError, match=r"3 O neighbours.*tetrahedral"):
        check_structure(structure, candidate)


def test_check_structure_rejects_a_removed_oxygen(lialpf):
    candidate, structure = lialpf
    structure.remove_sites([6])
    with pytest.raises(StructureError, match="composition"):
        check_structure(structure, candidate)


def test_check_structure_rejects_a_broken_octahedron(lialpf):
    candidate, structure = lialpf
    structure.scale_lattice(structure.volume * 1.6**3)  # every bond 60 % too long
    with pytest.raises(StructureError, match="octahedral"):
        check_structure(structure, candidate)


def test_check_structure_rejects_unbalanced_oxidation_states(lialpf):
    candidate, structure = lialpf
    structure.replace(2, Species("Al", 2))
    with pytest.raises(StructureError, match="sum to -1"):
        check_structure(structure, candidate)


def test_check_structure_accepts_undecorated_and_supercell_structures(space):
    candidate = space.get("Na-In-As-OH")
    structure = make_structure(candidate)
    check_structure(structure.copy().remove_oxidation_states(), candidate)
    check_structure(make_supercell(structure), candidate)


# ---------------------------------------------------------------- supercells


def test_supercell_helper_reaches_ten_angstrom_quickly(space, structures):
    for candidate_id in ("Li-Al-P-F", "Na-Sr-S-F", "Li-Mg-S-OH", "Na-Zr-V-O"):
        structure = structures[candidate_id]
        start = time.perf_counter()
        matrix = find_supercell_matrix(structure.lattice, 10.0)
        assert time.perf_counter() - start < 2.0  # 0.1-0.3 s idle; room for a loaded machine
        supercell = make_supercell(structure, 10.0)
        assert perpendicular_widths(supercell.lattice).min() >= 10.0
        det = round(np.linalg.det(matrix))
        assert det > 0
        assert len(supercell) == det * len(structure)
        assert np.array_equal(matrix, find_supercell_matrix(structure.lattice, 10.0))


def test_supercell_of_a_cube_is_the_2x2x2_cell():
    matrix = find_supercell_matrix(Lattice.cubic(5.0), 10.0)
    assert np.array_equal(np.abs(matrix), 2 * np.eye(3, dtype=int))


def test_no_smaller_supercell_with_small_entries_is_wide_enough(structures):
    # at 8 A the volume bound allows determinant 4, so the search itself must rule it out
    lattice = structures["Li-Al-P-F"].lattice
    det = round(np.linalg.det(find_supercell_matrix(lattice, 8.0)))
    assert det > 8.0**3 / lattice.volume
    entries = np.array(list(itertools.product(range(-1, 2), repeat=3)))
    matrices = entries[np.array(list(itertools.product(range(len(entries)), repeat=3)))]
    dets = np.rint(np.linalg.det(matrices.astype(float))).astype(int)
    cells = matrices[(dets > 0) & (dets < det)] @ lattice.matrix
    cross = np.cross(np.roll(cells, -1, axis=1), np.roll(cells, -2, axis=1))
    widths = np.abs(np.linalg.det(cells))[:, None] / np.linalg.norm(cross, axis=2)
    assert widths.min(axis=1).max() < 8.0


def test_perpendicular_widths_of_an_orthorhombic_cell_are_its_edges():
    assert perpendicular_widths(Lattice.orthorhombic(3, 4, 5)) == pytest.approx([3, 4, 5])


# ---------------------------------------------------------------- CHGNet


@pytest.mark.slow
def test_chgnet_relaxed_structure_stays_a_tavorite_near_the_predicted_volume(space):
    chgnet = pytest.importorskip("chgnet.model")
    candidate = space.get("Li-Al-P-F")
    structure = make_structure(candidate)
    result = chgnet.StructOptimizer().relax(
        structure.copy().remove_oxidation_states(), fmax=0.1, relax_cell=True, verbose=False
    )
    relaxed = result["final_structure"]
    check_structure(relaxed, candidate)
    assert relaxed.volume == pytest.approx(structure.volume, rel=0.10)
