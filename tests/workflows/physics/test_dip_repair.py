"""Dip repair with real CHGNet: an endpoint that is no minimum is relaxed again and the NEB rerun.

The initial endpoint here is left unrelaxed (a vacancy supercell straight from the relaxed bulk),
so the NEB path falls below it, as a positions-only relaxation stopped on a saddle makes it fall
in W(VI) oxides. A small supercell (images >= 7 A) and loose forces keep it to seconds per NEB.
"""

from __future__ import annotations

import pytest

from workflows.physics.dip_repair import run_neb_repaired
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
    evaluator = BatchEvaluator(task="ef")
    ends = hop_endpoints(hopset, 1)
    final = relax_structure(ends.final, fmax=0.1, relax_cell=False, evaluator=evaluator)
    (initial,) = evaluator.evaluate([to_atoms(ends.initial)])
    return ends.model_copy(
        update={
            "final": final.structure,
            "energy_final": final.energy,
            "energy_initial": initial["energy"],
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
    assert (first["round"], first["side"]) == (1, "initial")
    assert first["dip"] > 0.05
    assert first["endpoint_energy_after"] < first["endpoint_energy_before"]
    # the rerun starts from the relaxed well: no dip left, and the record says where it started
    assert dip_depth(result) <= 0.05
    assert result.endpoint_energy == pytest.approx(used.energy_initial)
    assert used.energy_initial == pytest.approx(result.repairs[-1]["endpoint_energy_after"])
    assert result.barrier_from_min < unrepaired.barrier_from_min + 0.05
