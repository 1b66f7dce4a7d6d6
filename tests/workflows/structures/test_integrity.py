"""Framework integrity: a reconstructed framework is named, an intact one passes."""

from __future__ import annotations

import pytest

from workflows.space.compositions import default_space
from workflows.structures.integrity import candidate_of, framework_problems
from workflows.structures.tavorite import make_structure

ID = "Li-Ga-P-F"


@pytest.fixture(scope="module")
def cell():
    return make_structure(default_space().get(ID))


def test_the_generated_framework_is_intact(cell):
    assert framework_problems(cell, default_space().get(ID), cell) == []


def test_the_candidate_is_read_from_the_cell_it_belongs_to(cell):
    assert candidate_of(cell, ID) == default_space().get(ID)


def test_an_x_tetrahedron_that_loses_an_oxygen_is_named(cell):
    cand = default_space().get(ID)
    broken = cell.copy()
    p = next(i for i, s in enumerate(broken) if s.specie.symbol == "P")
    o = min(
        (n for n in broken.get_neighbors(broken[p], 2.0) if n.specie.symbol == "O"),
        key=lambda n: n.nn_distance,
    )
    away = o.coords + 1.2 * (o.coords - broken[p].coords) / o.nn_distance  # bond 1.5 -> 2.7 A
    broken.replace(o.index, broken[o.index].species, away, coords_are_cartesian=True)
    problems = framework_problems(broken, cand, cell, "relaxed cell")
    assert any(f"X site {p} (P) has 3 O neighbours" in msg for msg in problems)
    assert any(
        "bond network changed" in msg and f"lost anions [{o.index}]" in msg for msg in problems
    )
    assert all(msg.startswith("relaxed cell: ") for msg in problems)


def test_a_swap_of_anions_keeps_counts_but_breaks_the_bond_network(cell):
    from workflows.structures.checks import framework_bonds

    cand = default_space().get(ID)
    bonds = framework_bonds(cell, cand)
    p = next(i for i, s in enumerate(cell) if s.specie.symbol == "P")
    a = min(bonds[p])  # an O of this tetrahedron, and one bonded to none of its neighbours
    b = next(
        i
        for i, s in enumerate(cell)
        if s.specie.symbol == "O" and all((i in v) != (a in v) for v in bonds.values() if a in v)
    )
    coords = cell.cart_coords.copy()
    coords[[a, b]] = coords[[b, a]]
    swapped = type(cell)(cell.lattice, cell.species, coords, coords_are_cartesian=True)
    assert framework_problems(swapped, cand) == []  # every polyhedron still complete
    problems = framework_problems(swapped, cand, cell)
    assert len(problems) == 1
    assert "bond network changed" in problems[0]
