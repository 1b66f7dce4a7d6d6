"""Which NEB results cannot be trusted: unconverged, dipping paths, reconstructed frameworks."""

from __future__ import annotations

import pytest

from workflows.physics.dip_repair import plan_repair
from workflows.physics.schemas import HopBarrier, dip_depth, dipped_hops, trust_issues


def _hop(i: int, energies: list[float], converged: bool = True) -> HopBarrier:
    return HopBarrier(
        hop_index=i, length=4.0, isite=0, esite=1, to_jimage=(0, 0, 0), energies=energies,
        barrier=max(energies) - energies[0], barrier_from_min=max(energies) - min(energies),
        converged=converged,
    )  # fmt: skip


def test_a_path_below_its_endpoint_is_flagged_as_dipped():
    hops = [_hop(0, [0.0, 0.3, 0.5, 0.3, 0.0]), _hop(1, [0.0, -0.4, -0.2, -0.4, 0.0])]
    assert dip_depth(hops[1]) == pytest.approx(0.4)
    assert dipped_hops(hops) == [1]
    issues = trust_issues(hops)
    assert list(issues) == ["dipped"]
    assert "hops [1] dips up to 0.40 eV" in issues["dipped"]


def test_a_split_site_within_the_tolerance_is_trusted():
    hops = [_hop(0, [0.0, -0.04, 0.3, -0.04, 0.0])]
    assert dipped_hops(hops) == []
    assert trust_issues(hops) == {}


def test_every_kind_of_distrust_is_named():
    hops = [_hop(0, [0.0, 0.5, 0.0], converged=False), _hop(1, [0.0, -0.3, 0.0])]
    extra = {"framework_failures": ["relaxed cell: X site 4 (W) has 6 O", "hop 0 image 2: x"]}
    issues = trust_issues(hops, extra)
    assert set(issues) == {"unconverged", "dipped", "framework"}
    assert (
        issues["framework"]
        == "framework reconstructed: relaxed cell: X site 4 (W) has 6 O (and 1 more)"
    )


def test_the_repair_relaxes_the_endpoint_of_the_half_that_dips():
    # the dip sits next to the final endpoint only: relax that one, from image 3
    assert plan_repair([0.0, 0.2, 0.4, -0.3, 0.1]) == [("final", 3, pytest.approx(0.4))]
    assert plan_repair([0.0, -0.02, 0.4, 0.3, 0.0]) == []


def test_a_well_halfway_along_the_hop_is_not_made_an_endpoint():
    from workflows.physics.dip_repair import endpoint_span
    from workflows.physics.endpoints import Endpoints
    from workflows.space.compositions import default_space
    from workflows.structures.tavorite import make_structure

    # the lowest point is the middle image: relaxed and mirrored it would be both ends at once
    assert plan_repair([0.0, -0.02, -0.04, -0.3, -0.04, -0.02, 0.0]) == []
    cell = make_structure(default_space().get("Li-Ga-P-F"))
    same = Endpoints(hop_index=0, initial=cell, final=cell.copy(), moving_index=0,
                     vacancy_initial=[0, 0, 0], vacancy_final=[0, 0, 0])  # fmt: skip
    assert endpoint_span(same) == pytest.approx(0.0)
