"""Percolation of hand-made periodic hop graphs (pure; no CHGNet)."""

from __future__ import annotations

import math

import pytest

from workflows.physics.percolation import (
    network_components,
    percolation_barrier,
    periodic_dimension,
)

# Tavorite-like: two carrier sites, three hop types between them (as MigrationGraph finds them).
TAVORITE = [(0, 1, (0, 0, 1), 0), (0, 1, (-1, 0, 0), 1), (0, 1, (0, 1, 1), 2)]


def test_pair_only_hop_never_percolates():
    edges = [(0, 1, (0, 0, 0), 0)]
    assert periodic_dimension(edges) == 0
    result = percolation_barrier(edges, [0.1])
    assert result.e_b is None
    assert not result.percolates
    assert result.dimension == 0
    assert result.thresholds == {1: None, 2: None, 3: None}


def test_pair_through_a_boundary_is_still_a_pair():
    assert periodic_dimension([(0, 1, (1, 0, 0), 0)]) == 0


def test_single_site_hopping_to_its_own_image_is_a_chain():
    assert periodic_dimension([(0, 0, (0, 0, 1), 0)]) == 1


def test_two_hop_types_form_a_chain():
    assert periodic_dimension(TAVORITE[:2]) == 1


def test_three_hop_types_form_a_layer():
    (component,) = network_components(TAVORITE)
    assert component.dimension == 2
    assert component.sites == frozenset({0, 1})
    assert component.hop_indices == frozenset({0, 1, 2})
    assert len(component.translations) == 2


def test_cubic_network_is_3d():
    edges = [(0, 0, (1, 0, 0), 0), (0, 0, (0, 1, 0), 1), (0, 0, (0, 0, 1), 2)]
    assert periodic_dimension(edges) == 3


def test_collinear_cycles_stay_1d():
    # two different paths that both advance along a only
    edges = [(0, 1, (0, 0, 0), 0), (1, 0, (1, 0, 0), 1), (0, 0, (2, 0, 0), 2)]
    assert periodic_dimension(edges) == 1


def test_finite_ring_is_0d():
    edges = [(0, 1, (0, 0, 0), 0), (1, 2, (0, 0, 0), 0), (2, 0, (0, 0, 0), 0)]
    assert periodic_dimension(edges) == 0


def test_ring_across_boundaries_that_closes_is_0d():
    # 0 -> 1 in the next cell, 1 -> 0 back: the cycle translation is zero
    edges = [(0, 1, (1, 0, 0), 0), (1, 0, (-1, 0, 0), 1)]
    assert periodic_dimension(edges) == 0


def test_e_b_is_second_lowest_barrier_for_tavorite_chain():
    result = percolation_barrier(TAVORITE, [0.5, 0.2, 0.8])
    assert result.e_b == pytest.approx(0.5)
    assert result.dimension == 1
    assert result.hop_indices == [0, 1]
    assert result.thresholds == {1: 0.5, 2: 0.8, 3: None}


def test_lowest_hop_alone_does_not_set_e_b():
    # hop 0 is very easy but only links pairs
    result = percolation_barrier(TAVORITE, [0.05, 0.3, 0.4])
    assert result.e_b == pytest.approx(0.3)


def test_equal_barriers_jump_straight_to_2d():
    result = percolation_barrier(TAVORITE, [0.3, 0.3, 0.3])
    assert result.e_b == pytest.approx(0.3)
    assert result.dimension == 2
    assert result.hop_indices == [0, 1, 2]
    assert result.thresholds[1] == result.thresholds[2] == pytest.approx(0.3)


def test_nan_and_missing_barriers_are_impassable():
    assert percolation_barrier(TAVORITE, [0.1, math.nan, 0.4]).e_b == pytest.approx(0.4)
    assert percolation_barrier(TAVORITE, {0: 0.1}).e_b is None


def test_only_percolating_component_hops_are_reported():
    # sites 0-1 form a chain by hops 0 and 1; sites 2-3 a pair by hop 2 (cheapest)
    edges = [
        (0, 1, (0, 0, 0), 0),
        (1, 0, (1, 0, 0), 1),
        (2, 3, (0, 0, 0), 2),
    ]
    result = percolation_barrier(edges, [0.3, 0.4, 0.1])
    assert result.e_b == pytest.approx(0.4)
    assert result.hop_indices == [0, 1]


def test_accepts_objects_with_edge_attributes():
    from workflows.physics.hops import HopEdge

    edges = [HopEdge(isite=i, esite=e, to_jimage=j, hop_index=h) for i, e, j, h in TAVORITE]
    assert percolation_barrier(edges, [0.5, 0.2, 0.8]).e_b == pytest.approx(0.5)


def test_many_sites_long_chain():
    # 0 -> 1 -> 2 -> 3 -> 0 (next cell): a chain through four sites per cell
    edges = [(i, (i + 1) % 4, (1, 0, 0) if i == 3 else (0, 0, 0), i) for i in range(4)]
    result = percolation_barrier(edges, [0.1, 0.2, 0.3, 0.4])
    assert result.e_b == pytest.approx(0.4)
    assert result.dimension == 1


def test_barrier_result_from_engine_agnostic_paths():
    from workflows.physics.barrier_result import build_barrier_result
    from workflows.physics.hops import find_hops
    from workflows.space.compositions import default_space
    from workflows.structures.tavorite import make_structure

    hopset = find_hops(make_structure(default_space().get("Li-Ga-P-F")))
    # absolute energies (as a DFT engine would give), one path dips below its start
    paths = [
        {"hop_index": 0, "energies": [-100.0, -99.6, -99.5, -99.6, -100.0], "n_steps": 7},
        {"hop_index": 1, "energies": [-100.0, -100.05, -99.8, -100.05, -100.0]},
        {"hop_index": 2, "energies": [-100.0, -99.7, -99.3, -99.7, -100.0], "converged": False},
    ]
    result = build_barrier_result("Li-Ga-P-F", "vasp", "dft-neb", hopset, paths)
    barriers = [h.barrier for h in result.hops]
    assert barriers == pytest.approx([0.5, 0.2, 0.7])
    assert result.hops[1].barrier_from_min == pytest.approx(0.25)
    # hops 0 and 1 form the chain; its lowest point is hop 1's split-site well at -0.05 eV
    assert result.e_b == pytest.approx(0.55)
    assert result.e_b_from_min == pytest.approx(0.5)
    assert result.percolating_hops == [0, 1]
    assert result.reference == "network"
    assert result.extra["e_b_endpoint"] == pytest.approx(0.5)
    assert result.extra["unconverged_hops"] == [2]
    assert result.hops[2].converged is False
    assert result.hops[0].n_steps == 7
    assert result.volume == pytest.approx(hopset.structure.volume)


def test_barrier_result_needs_every_hop():
    from workflows.errors import CalculationError
    from workflows.physics.barrier_result import build_barrier_result
    from workflows.physics.hops import find_hops
    from workflows.space.compositions import default_space
    from workflows.structures.tavorite import make_structure

    hopset = find_hops(make_structure(default_space().get("Li-Ga-P-F")))
    with pytest.raises(CalculationError, match=r"no energy profile for hops \[1, 2\]"):
        build_barrier_result(
            "Li-Ga-P-F", "vasp", "dft-neb", hopset, [{"hop_index": 0, "energies": [0, 1, 0]}]
        )
