"""A hop whose lowest point is its middle image runs again through that image relaxed as a site.

The energy surface is analytic so that the well halfway along the hop is known exactly: the
migrating ion sees Gaussian wells at both carrier sites and a deeper one at the hop's midpoint,
with humps in between; every other atom is held by a spring to its place. The NEB, the
relaxations and the repair logic are the real ones (ASE NEB through tavbo's evaluator, which
accepts any model with ``predict_atoms``).
"""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Structure

from workflows.physics.dip_repair import run_neb_repaired
from workflows.physics.hop_symmetry import PathMirror
from workflows.physics.hops import find_hops, hop_endpoints
from workflows.physics.midpoint_site import midpoint_dip
from workflows.physics.relax import BatchEvaluator
from workflows.physics.schemas import dip_depth, dipped_hops
from workflows.space.compositions import default_space
from workflows.structures.tavorite import make_structure

QUICK_NEB = {"n_images": 3, "fmax": 0.02, "max_steps": 300}
WIDTH = 0.45  # angstrom


class WellModel:
    """E = sum_j a_j exp(-|p - c_j|^2 / w^2) for the migrating ion at p, plus springs."""

    def __init__(self, frame: np.ndarray, moving: int, centres, amplitudes, lattice) -> None:
        self.frame, self.moving = frame, moving
        self.centres, self.amplitudes = np.asarray(centres), np.asarray(amplitudes)
        self.lattice = np.asarray(lattice)

    def _mic(self, d: np.ndarray) -> np.ndarray:
        frac = d @ np.linalg.inv(self.lattice)
        return (frac - np.round(frac)) @ self.lattice

    def predict_atoms(self, atoms_list, task):
        out = []
        for atoms in atoms_list:
            x = atoms.get_positions()
            springs = self._mic(x - self.frame)
            springs[self.moving] = 0.0
            energy = 2.0 * float(np.sum(springs**2))
            forces = -4.0 * springs
            d = self._mic(x[self.moving] - self.centres)
            g = self.amplitudes * np.exp(-np.sum(d**2, axis=1) / WIDTH**2)
            energy += float(g.sum())
            forces[self.moving] += (2.0 / WIDTH**2) * (g[:, None] * d).sum(axis=0)
            out.append({"energy": energy, "forces": forces, "stress": np.zeros(6)})
        return out


@pytest.fixture(scope="module")
def hop_with_a_midway_well():
    hopset = find_hops(make_structure(default_space().get("Li-Ga-P-F")), min_image_distance=7.0)
    ends = hop_endpoints(hopset, 1)
    m = ends.moving_index
    a = ends.initial.cart_coords[m]
    b = ends.final.cart_coords[m]
    final = ends.initial.copy()
    final.replace(m, final[m].species, b, coords_are_cartesian=True)
    centres = [a, b, a + 0.5 * (b - a), a + 0.25 * (b - a), a + 0.75 * (b - a)]
    model = WellModel(
        ends.initial.cart_coords,
        m,
        centres,
        [-0.3, -0.3, -0.6, 0.5, 0.5],
        ends.initial.lattice.matrix,
    )
    evaluator = BatchEvaluator(model, task="ef")
    e_i, e_f = (r["energy"] for r in evaluator.evaluate([_atoms(ends.initial), _atoms(final)]))
    endpoints = ends.model_copy(update={"final": final, "energy_initial": e_i, "energy_final": e_f})
    return endpoints, evaluator


def _atoms(structure: Structure):
    from workflows.physics.relax import to_atoms

    return to_atoms(structure)


def test_the_middle_image_alone_below_the_endpoints_is_a_midpoint_dip():
    assert midpoint_dip([0.0, 0.2, -0.25, 0.2, 0.0]) == pytest.approx(0.25)
    assert midpoint_dip([0.0, 0.2, -0.03, 0.2, 0.0]) == 0.0  # within tolerance
    assert midpoint_dip([0.0, -0.3, -0.25, 0.2, 0.0]) == 0.0  # an endpoint's half dips deeper
    assert midpoint_dip([0.0, 0.2, -0.2, 0.0]) == 0.0  # an even band has no middle image


@pytest.mark.parametrize("symmetric", [True, False], ids=["mirrored-half", "two-halves"])
def test_a_path_through_a_midway_well_is_run_through_that_well_relaxed(
    hop_with_a_midway_well, symmetric
):
    endpoints, evaluator = hop_with_a_midway_well
    # the hop is inversion-symmetric about its midpoint (P-1): with use_symmetry the second
    # half is the mirror of the first, without it both halves are run
    assert PathMirror.find(endpoints) is not None
    neb = {**QUICK_NEB, "use_symmetry": symmetric}
    kept, _ = run_neb_repaired(endpoints, evaluator=evaluator, max_rounds=0, **neb)
    assert midpoint_dip(kept.energies) > 0.05  # without repairs the dip stays, flagged
    assert dip_depth(kept) > 0.05

    result, _ = run_neb_repaired(
        endpoints, evaluator=evaluator, max_rounds=2, relax_fmax=0.01, **neb
    )
    site = [r for r in result.repairs if r["side"] == "midpoint"]
    assert len(site) == 1
    record = site[0]
    assert record["site_image"] == QUICK_NEB["n_images"] + 1  # the end of the first half path
    energies = np.asarray(result.energies)
    assert len(energies) == 2 * QUICK_NEB["n_images"] + 3  # endpoint -> site -> endpoint
    assert energies[record["site_image"]] == pytest.approx(record["site_energy"], abs=1e-6)
    assert energies.min() == pytest.approx(record["site_energy"], abs=0.01)  # the lowest state
    assert record["site_energy"] <= kept.energies[len(kept.energies) // 2] + 1e-6  # relaxed
    assert dip_depth(result) == 0.0  # measured from the site, nothing dips: trusted
    assert energies == pytest.approx(energies[::-1], abs=0.02)
    assert result.barrier_from_min == pytest.approx(energies.max() - record["site_energy"])


def test_a_stored_hop_through_a_site_is_not_flagged_but_one_that_dips_below_it_is():
    from workflows.physics.schemas import HopBarrier

    common = {"length": 3.0, "isite": 0, "esite": 1, "to_jimage": (0, 0, 0), "barrier": 0.3}
    through = {"side": "midpoint", "site_image": 2}
    hops = [
        HopBarrier(hop_index=0, energies=[0, 0.3, -0.2, 0.3, 0], barrier_from_min=0.5,
                   repairs=[through], **common),
        HopBarrier(hop_index=1, energies=[0, -0.3, -0.2, 0.3, 0], barrier_from_min=0.6,
                   repairs=[through], **common),
        HopBarrier(hop_index=2, energies=[0, 0.3, -0.2, 0.3, 0], barrier_from_min=0.5, **common),
    ]  # fmt: skip
    assert dipped_hops(hops) == [1, 2]
