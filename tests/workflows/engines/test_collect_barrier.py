"""``collect barrier``: what the per-hop jobs found lands in the composition's record."""

from __future__ import annotations

from workflows.engines.jobs import collect_barrier
from workflows.physics.hops import find_hops
from workflows.physics.schemas import trust_issues
from workflows.space.compositions import default_space
from workflows.structures.tavorite import make_structure


def test_a_skipped_repair_and_its_reason_are_kept_with_the_framework_flag():
    hopset = find_hops(make_structure(default_space().get("Li-Ga-P-F")))
    problem = "hop 0 endpoint initial: Ga has 5 O neighbours, expected 6"
    paths = [
        {
            "hop_index": hop.hop_index,
            "energies": [0.0, 0.3, 0.5, 0.3, 0.0],
            "repair_skipped": f"framework reconstructed before the NEB: {problem}"
            if hop.hop_index == 0
            else None,
        }
        for hop in hopset.hops
    ]
    result = collect_barrier.original(
        "Li-Ga-P-F", "chgnet", "mlp-neb", hopset, paths, framework_problems=[[], [problem]]
    )
    assert result.extra["repairs_skipped"] == {"0": paths[0]["repair_skipped"]}
    assert result.extra["framework_failures"] == [problem]
    # reconstructed: untrusted, out of the GP by default
    assert "framework" in trust_issues(result.hops, result.extra)
