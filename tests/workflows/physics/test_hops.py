"""Hops, supercells, endpoints and symmetry reuse on generated tavorite cells (no CHGNet)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from workflows.errors import StructureError
from workflows.physics.hop_symmetry import map_relaxed, plan_endpoint_relaxations
from workflows.physics.hops import HopSet, find_hops, find_vacancy_supercell_matrix, hop_endpoints
from workflows.physics.percolation import periodic_dimension
from workflows.space.compositions import default_space
from workflows.structures.tavorite import make_structure


@pytest.fixture(scope="module")
def li_cell() -> Structure:
    return make_structure(default_space().get("Li-Ga-P-F"))


@pytest.fixture(scope="module")
def li_hops(li_cell: Structure) -> HopSet:
    return find_hops(li_cell, max_distance=5.0)


def test_tavorite_li_has_three_distinct_hops(li_hops: HopSet):
    assert li_hops.carrier == "Li"
    assert len(li_hops.hops) == 3
    lengths = [h.length for h in li_hops.hops]
    assert lengths == sorted(lengths)
    assert all(3.5 < x < 5.0 for x in lengths)
    assert [h.hop_index for h in li_hops.hops] == [0, 1, 2]
    assert sum(h.multiplicity for h in li_hops.hops) == len(li_hops.edges)


def test_hop_sites_are_carrier_sites(li_hops: HopSet):
    for hop in li_hops.hops:
        assert li_hops.structure[hop.isite].specie.symbol == "Li"
        assert li_hops.structure[hop.esite].specie.symbol == "Li"


def test_hop_lengths_match_the_edges(li_hops: HopSet):
    s = li_hops.structure
    for hop in li_hops.hops:
        a = s.lattice.get_cartesian_coords(s[hop.isite].frac_coords)
        b = s.lattice.get_cartesian_coords(s[hop.esite].frac_coords + np.array(hop.to_jimage))
        assert np.linalg.norm(b - a) == pytest.approx(hop.length, abs=1e-6)


def test_tavorite_topology_pairs_chain_layer(li_hops: HopSet):
    edges = li_hops.edges
    for h in range(3):
        assert periodic_dimension([e for e in edges if e.hop_index == h]) == 0
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert periodic_dimension([e for e in edges if e.hop_index in (a, b)]) == 1
    assert periodic_dimension(edges) == 2


def test_no_hop_within_distance_raises(li_cell: Structure):
    with pytest.raises(StructureError, match="raise max_distance"):
        find_hops(li_cell, max_distance=2.0)


def test_na_cell_finds_hops():
    hopset = find_hops(make_structure(default_space().get("Na-Ga-P-F")))
    assert hopset.carrier == "Na"
    assert len(hopset.hops) >= 3
    assert periodic_dimension(hopset.edges) >= 1


def test_tavorite_supercell_is_80_atoms_with_images_10_a_apart(li_hops: HopSet):
    matrix = np.array(li_hops.supercell_matrix)
    assert round(np.linalg.det(matrix)) == 5
    sc = Lattice(matrix @ li_hops.structure.lattice.matrix)
    combos = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
    lengths = np.linalg.norm(combos[np.any(combos, axis=1)] @ sc.matrix, axis=1)
    assert lengths.min() >= 10.0


def test_cubic_supercell_is_2x2x2():
    matrix = find_vacancy_supercell_matrix(Lattice.cubic(5.0), 10.0)
    assert np.array_equal(matrix, 2 * np.eye(3, dtype=int))
    assert np.array_equal(find_vacancy_supercell_matrix(Lattice.cubic(5.0), 0), np.eye(3))


def test_endpoints_share_order_and_differ_by_the_hop(li_hops: HopSet):
    for hop in li_hops.hops:
        ep = hop_endpoints(li_hops, hop.hop_index)
        assert len(ep.initial) == len(ep.final) == 79
        assert [s.species_string for s in ep.initial] == [s.species_string for s in ep.final]
        moved = np.linalg.norm(ep.final.cart_coords - ep.initial.cart_coords, axis=1)
        assert moved[ep.moving_index] == pytest.approx(hop.length, abs=1e-6)
        assert np.delete(moved, ep.moving_index).max() < 1e-6
        assert ep.initial[ep.moving_index].specie.symbol == "Li"
        # the vacancy of the initial endpoint is where the migrating atom ends
        assert np.allclose(
            ep.final.lattice.get_fractional_coords(ep.vacancy_initial) % 1,
            ep.final[ep.moving_index].frac_coords % 1,
            atol=1e-6,
        )


def test_one_vacancy_relaxation_serves_all_p1_hops(li_hops: HopSet):
    endpoints = [hop_endpoints(li_hops, h.hop_index) for h in li_hops.hops]
    tasks = plan_endpoint_relaxations(endpoints, li_hops.structure)
    assert len(tasks) == 6
    relaxed = [t for t in tasks if t.source is None]
    assert len(relaxed) == 1
    assert (relaxed[0].hop_index, relaxed[0].side) == (0, "initial")
    assert all(t.mapping is not None and t.mapping.max_error < 1e-3 for t in tasks[1:])


def test_mapping_carries_displacements_consistently(li_hops: HopSet):
    ep = hop_endpoints(li_hops, 0)
    (task,) = [t for t in plan_endpoint_relaxations([ep], li_hops.structure) if t.source]
    assert task.side == "final"
    # unrelaxed reference maps onto the unrelaxed target exactly
    same = map_relaxed(task.mapping, ep.initial, ep.initial, ep.final)
    assert np.allclose(same.cart_coords, ep.final.cart_coords, atol=1e-8)
    # a displacement field maps through the inversion: moving atom displaced by -d
    rng = np.random.default_rng(0)
    shift = rng.normal(scale=0.05, size=(len(ep.initial), 3))
    displaced = Structure(
        ep.initial.lattice,
        ep.initial.species,
        ep.initial.cart_coords + shift,
        coords_are_cartesian=True,
    )
    mapped = map_relaxed(task.mapping, ep.initial, displaced, ep.final)
    perm = task.mapping.permutation
    expected = ep.final.cart_coords + shift[perm] @ task.mapping.rotation.T
    assert np.allclose(mapped.cart_coords, expected)
    assert perm[ep.moving_index] == ep.moving_index
    assert np.allclose(task.mapping.rotation, -np.eye(3), atol=1e-6)


def test_cutoff_grows_until_the_hops_percolate_and_no_further():
    # Li-Ga-P-F: hops at 3.85, 3.92 and 4.15 A; the first alone only links pairs of sites
    cell = make_structure(default_space().get("Li-Ga-P-F"))
    extended = find_hops(cell, max_distance=3.9)
    assert extended.max_distance == pytest.approx(4.15)  # 3.9 + one 0.25 A step
    assert len(extended.hops) == 2
    assert periodic_dimension(extended.edges) == 1
    # a cutoff that percolates already is left alone
    assert find_hops(cell, max_distance=5.0).max_distance == 5.0
    with pytest.raises(StructureError, match="form no infinite network"):
        find_hops(cell, max_distance=3.9, extend_to_percolation=0.0)
