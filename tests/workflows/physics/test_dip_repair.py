"""Dip repair with real CHGNet: an endpoint that is no minimum is relaxed again and the NEB rerun.

Both endpoints here are put off their minimum (every atom but the migrating one displaced by about
0.05 A, the final endpoint the mirror image of the initial one): the NEB images relax the framework
and the path falls below both endpoints, as it falls below an endpoint that a positions-only
relaxation left on a saddle in W(VI) oxides.
A small supercell (images >= 7 A) and loose forces keep it to seconds per NEB.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Structure

from workflows.physics.dip_repair import run_neb_repaired
from workflows.physics.hop_symmetry import PathMirror
from workflows.physics.hops import find_hops, hop_endpoints
from workflows.physics.relax import BatchEvaluator, relax_structure, to_atoms
from workflows.physics.schemas import dip_depth
from workflows.space.compositions import default_space
from workflows.structures.tavorite import make_structure

pytestmark = pytest.mark.slow

QUICK_NEB = {"n_images": 3, "fmax": 0.1, "max_steps": 200}


@pytest.fixture(scope="module")
def saddle_endpoints():
    relaxed = relax_structure(make_structure(default_space().get("Li-Ga-P-F")), fmax=0.1)
    hopset = find_hops(relaxed.structure, min_image_distance=7.0)
    ends = hop_endpoints(hopset, 1)
    mirror = PathMirror.find(ends)
    shake = np.random.default_rng(0).normal(0.0, 0.05, (len(ends.initial), 3))
    shake[ends.moving_index] = 0.0
    start = ends.initial.cart_coords + shake
    initial = Structure(
        ends.initial.lattice, ends.initial.species, start, coords_are_cartesian=True
    )
    final = Structure(
        ends.final.lattice, ends.final.species, mirror.positions(start), coords_are_cartesian=True
    )
    e_i, e_f = BatchEvaluator(task="e").evaluate([to_atoms(initial), to_atoms(final)])
    return ends.model_copy(
        update={
            "initial": initial,
            "final": final,
            "energy_initial": e_i["energy"],
            "energy_final": e_f["energy"],
        }
    )


def test_a_path_below_an_unrelaxed_endpoint_is_repaired(saddle_endpoints):
    evaluator = BatchEvaluator(task="ef")
    unrepaired, _ = run_neb_repaired(
        saddle_endpoints, evaluator=evaluator, max_rounds=0, relax_fmax=0.1, **QUICK_NEB
    )
    assert dip_depth(unrepaired) > 0.05  # the unrelaxed endpoint is no minimum
    assert unrepaired.repairs == []

    result, used = run_neb_repaired(
        saddle_endpoints, evaluator=evaluator, max_rounds=2, relax_fmax=0.1, **QUICK_NEB
    )
    first = result.repairs[0]
    assert first["round"] == 1
    assert first["mirrored"]  # an inversion-symmetric hop: one relaxation serves both ends
    assert first["dip"] > 0.05
    assert first["endpoint_energy_after"] < first["endpoint_energy_before"]
    # the rerun starts from the relaxed well: no dip left, and the record says where it started
    assert dip_depth(result) <= 0.05
    assert result.endpoint_energy == pytest.approx(used.energy_initial)
    assert used.energy_initial == pytest.approx(result.repairs[-1]["endpoint_energy_after"])
    assert result.barrier_from_min < unrepaired.barrier_from_min + 0.05


def test_no_repair_is_tried_when_the_framework_reconstructed_before_the_neb(saddle_endpoints):
    from workflows.engines.jobs import chgnet_neb

    problem = "hop 1 endpoint initial: Ga has 5 O neighbours, expected 6"
    result = chgnet_neb.original(
        saddle_endpoints,
        repair={"max_rounds": 2, "relax_fmax": 0.1},
        upstream_problems=[[], [problem]],
        **QUICK_NEB,
    )
    # one NEB only: the dip stays visible (flagged) and the record says why it was not repaired
    assert result.repairs == []
    assert dip_depth(result) > 0.05
    assert problem in result.repair_skipped
