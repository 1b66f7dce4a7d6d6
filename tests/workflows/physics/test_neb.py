"""CHGNet evaluation, endpoint relaxation and climbing-image NEB on a small tavorite supercell.

The supercell here is 47 atoms (images >= 7 A apart) and the NEBs are short, so every test is
seconds; production uses about 80 atoms (10 A).
"""

from __future__ import annotations

import numpy as np
import pytest

from workflows.errors import CalculationError
from workflows.physics.hop_symmetry import PathMirror
from workflows.physics.hops import HopSet, find_hops
from workflows.physics.neb import EndpointSet, NebResult, relax_endpoints, run_neb
from workflows.physics.relax import BatchEvaluator, get_model, relax_structure, to_atoms
from workflows.space.compositions import default_space
from workflows.structures.tavorite import make_structure

pytestmark = pytest.mark.slow

SMALL = 7.0  # min image distance of the test supercell, A


@pytest.fixture(scope="module")
def hopset() -> HopSet:
    relaxed = relax_structure(make_structure(default_space().get("Li-Ga-P-F")), fmax=0.1)
    return find_hops(relaxed.structure, min_image_distance=SMALL)


@pytest.fixture(scope="module")
def endpoint_set(hopset: HopSet) -> EndpointSet:
    return relax_endpoints(hopset, fmax=0.1, max_steps=200)


def test_model_is_cached():
    assert get_model() is get_model()
    assert get_model("chgnet") is get_model()  # one CHGNet per process, however it is asked for


def test_batched_evaluation_matches_single(hopset: HopSet):
    structures = [hopset.structure.copy() for _ in range(3)]
    for i, s in enumerate(structures):
        s.perturb(0.05 * (i + 1))
    atoms = [to_atoms(s) for s in structures]
    batch = BatchEvaluator(task="ef", batch_size=3).evaluate(atoms)
    for a, res in zip(atoms, batch, strict=True):
        (single,) = BatchEvaluator(task="ef").evaluate([a])
        assert res["energy"] == pytest.approx(single["energy"], abs=1e-4)
        assert np.allclose(res["forces"], single["forces"], atol=1e-4)


def test_cell_relaxation_keeps_species_and_order(hopset: HopSet):
    start = make_structure(default_space().get("Li-Ga-P-F"))
    assert [s.species_string for s in hopset.structure] == [s.species_string for s in start]
    assert 0.85 < hopset.structure.volume / start.volume < 1.15


def test_one_relaxation_and_mapped_endpoints_have_equal_energy(endpoint_set: EndpointSet):
    assert endpoint_set.n_relaxed == 1
    assert endpoint_set.n_mapped == 2 * len(endpoint_set.endpoints) - 1
    energies = [e for ep in endpoint_set.endpoints for e in (ep.energy_initial, ep.energy_final)]
    assert max(energies) - min(energies) < 1e-3  # all vacancies equivalent in P-1 tavorite


def test_mirror_found_for_p1_hops(endpoint_set: EndpointSet):
    for ep in endpoint_set.endpoints:
        mirror = PathMirror.find(ep)
        assert mirror is not None
        assert np.allclose(
            mirror.positions(ep.initial.cart_coords), ep.final.cart_coords, atol=1e-3
        )


NEB_KWARGS = {"n_images": 3, "fmax": 0.1, "max_steps": 150}


@pytest.fixture(scope="module")
def symmetric_neb(endpoint_set: EndpointSet) -> NebResult:
    return run_neb(endpoint_set.endpoints[0], **NEB_KWARGS)


def test_neb_energies_barriers_and_symmetry(symmetric_neb: NebResult):
    result = symmetric_neb
    assert result.converged
    assert result.symmetric
    assert len(result.energies) == 5
    assert result.energies[0] == 0.0
    assert result.energies[-1] == pytest.approx(0.0, abs=1e-3)
    assert result.energies[1] == pytest.approx(result.energies[3], abs=1e-6)
    assert 0.0 < result.barrier < 2.0
    assert result.barrier_from_min >= result.barrier
    # only the first half and the middle image are evaluated (2 of 3), endpoints reused
    assert result.n_evaluations <= 2 * (result.n_steps + 2)


def test_symmetric_band_matches_full_band(endpoint_set: EndpointSet, symmetric_neb: NebResult):
    full = run_neb(endpoint_set.endpoints[0], use_symmetry=False, **NEB_KWARGS)
    assert not full.symmetric
    assert full.converged
    assert symmetric_neb.barrier == pytest.approx(full.barrier, abs=0.02)


def test_unconverged_neb_is_flagged_not_raised(endpoint_set: EndpointSet):
    result = run_neb(endpoint_set.endpoints[0], n_images=3, fmax=0.001, max_steps=3)
    assert not result.converged
    assert result.n_steps == 3
    assert result.max_force > 0.001


def test_crashing_model_raises_one_line_calculation_error(
    endpoint_set: EndpointSet, monkeypatch: pytest.MonkeyPatch
):
    def boom(*args, **kwargs):
        raise RuntimeError("out of memory\nsecond line")

    monkeypatch.setattr(get_model(), "predict_graph", boom)
    with pytest.raises(CalculationError) as info:
        run_neb(endpoint_set.endpoints[0], n_images=3, max_steps=5)
    message = str(info.value)
    assert "\n" not in message
    assert "hop 0" in message
    assert "out of memory" in message


def test_a_killed_neb_resumes_from_its_checkpoint_and_reaches_the_same_barrier(
    endpoint_set: EndpointSet, symmetric_neb: NebResult, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    model = get_model()
    real, calls = model.predict_graph, []

    def dies_after_12_calls(*args, **kwargs):  # the job is killed mid-NEB
        calls.append(1)
        if len(calls) > 12:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(model, "predict_graph", dies_after_12_calls)
    kwargs = {**NEB_KWARGS, "checkpoint_dir": tmp_path, "checkpoint_tag": "chgnet"}
    with pytest.raises(CalculationError):
        run_neb(endpoint_set.endpoints[0], **kwargs)
    (saved,) = tmp_path.glob("neb-*.npz")
    monkeypatch.setattr(model, "predict_graph", real)

    other = run_neb(endpoint_set.endpoints[0], **{**kwargs, "checkpoint_tag": "other"})
    assert other.resumed_at_step is None  # another potential's NEB never reads this band

    resumed = run_neb(endpoint_set.endpoints[0], **kwargs)
    assert resumed.resumed_at_step is not None
    assert resumed.resumed_at_step >= 5
    assert resumed.converged
    assert resumed.barrier == pytest.approx(symmetric_neb.barrier, abs=0.02)
    assert not saved.exists()  # a finished NEB forgets its band
    assert list(tmp_path.glob("neb-*.log"))  # the optimiser's progress stays readable


def test_a_stalled_optimiser_restarts_from_its_best_band_and_converges(
    endpoint_set: EndpointSet, symmetric_neb: NebResult, monkeypatch: pytest.MonkeyPatch
):
    from ase import optimize

    instances = []

    class GoesAstray(optimize.LBFGS):  # the first optimiser loses its way after 4 steps
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            instances.append(self)

        def step(self, forces=None):
            super().step(forces)
            if len(instances) == 1 and self.nsteps >= 4:
                x = self.optimizable.get_x()
                kick = np.random.default_rng(self.nsteps).normal(0.0, 0.15, x.shape)
                self.optimizable.set_x(x + kick)

    monkeypatch.setattr(optimize, "LBFGS", GoesAstray)
    astray = run_neb(endpoint_set.endpoints[0], **{**NEB_KWARGS, "max_steps": 60, "stall_steps": 0})
    assert not astray.converged  # without the guard it circles until max_steps
    assert astray.optimiser_restarts == 0

    instances.clear()
    guarded = run_neb(endpoint_set.endpoints[0], **{**NEB_KWARGS, "stall_steps": 8})
    assert guarded.optimiser_restarts >= 1
    assert guarded.converged
    assert guarded.barrier == pytest.approx(symmetric_neb.barrier, abs=0.02)
    assert symmetric_neb.optimiser_restarts == 0  # a NEB that never stalls never restarts
