"""The reference data shipped in the package: complete records a user can trust and replay."""

from __future__ import annotations

from pathlib import Path

import pytest

import workflows.data
from workflows.physics.schemas import BarrierResult
from workflows.results.export import read_export
from workflows.space.compositions import default_space

DATA = Path(workflows.data.__file__).parent
#: Packaged data set -> (engine, fidelity); chgnet is reference v2, chgnet-v1 the first screen.
FILES = {
    "bvse": ("bvse", "bvse-rough"),
    "chgnet": ("chgnet", "mlp-neb"),
    "chgnet-v1": ("chgnet", "mlp-neb"),
}
if (DATA / "reference_sevennet.json.gz").exists():
    FILES["sevennet"] = ("sevennet", "mlp-neb")
STEP_LIMITS = ("max_steps", "endpoint_max_steps", "relax_max_steps")
#: How the optimiser gets there, not where: the NEB stall guard (since 2026-12-07) restarts a
#: stalled optimiser; the convergence criterion, and so a converged result, is the same.
OPTIMISER_PATH = ("stall_steps",)
#: Settings of the v2 engines that a v1 record re-measured by the network rule does not have:
#: they only act when a path dips or a framework reconstructs (both flagged in v1 records).
V2_SETTINGS = ("dip_tolerance", "repair_rounds", "check_framework", "committee", "committee_margin")


@pytest.mark.parametrize("name", sorted(FILES))
def test_packaged_reference_records_are_complete_and_belong_to_the_space(name):
    engine, fidelity = FILES[name]
    path = DATA / f"reference_{name}.json.gz"
    if not path.exists():
        pytest.fail(f"{path.name} is not in the package")
    records = read_export(path)
    ids = [r["candidate_id"] for r in records]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    space = {c.id for c in default_space()}
    assert set(ids) <= space
    for rec in records:
        result = BarrierResult.model_validate(rec)
        assert result.engine == engine
        assert result.fidelity == fidelity
        assert rec["campaign"] == f"reference-{engine}"
        assert rec["date"]
        assert rec["versions"]
        assert rec["settings"]
        assert result.structure is not None
        assert result.e_b >= 0.0
        if name == "chgnet-v1":
            # v1: each hop from the lowest image of its own path
            assert result.reference == "path_minimum"
            assert result.e_b == pytest.approx(result.e_b_from_min)
        elif fidelity == "mlp-neb":
            # v2: from the lowest point of the percolating network, never below the per-hop rule
            assert result.reference == "network"
            assert result.e_b >= result.e_b_from_min - 1e-9
            assert "framework_failures" in result.extra
        if fidelity == "mlp-neb":
            assert result.hops
            assert result.percolating_hops
            for h in result.hops:  # 5 images + 2 endpoints, twice over through a midpoint site
                sites = [r["site_image"] for r in h.repairs if r.get("site_image") is not None]
                assert len(h.energies) == (13 if sites else 7)
                assert sites in ([], [6])
            assert result.extra["e_b_endpoint"] <= result.e_b + 1e-9


def test_one_protocol_per_reference_set():
    """Results made with different engine settings must not be mixed in one data set.

    Threads do not change a result, nor do step limits change a converged one (reruns of
    unconverged NEBs may raise them); ``reference`` (the zero of E_b) is checked per record
    above.
    """
    for name in FILES:
        records = read_export(DATA / f"reference_{name}.json.gz")
        physics = {
            tuple(
                sorted(
                    (k, str(v))
                    for k, v in r["settings"].items()
                    if k
                    not in (
                        "torch_threads",
                        "reference",
                        *STEP_LIMITS,
                        *OPTIMISER_PATH,
                        *V2_SETTINGS,
                    )
                )
            )
            for r in records
        }
        assert len(physics) == 1, f"{name}: {len(physics)} different settings"


def test_untrusted_results_are_flagged_and_left_out_of_the_values():
    from workflows.physics.schemas import trust_issues, unconverged_hops
    from workflows.results.reference_data import read_barrier_values

    records = read_export(DATA / "reference_chgnet.json.gz")
    flagged, unconverged = set(), set()
    for rec in records:
        result = BarrierResult.model_validate(rec)
        hops = unconverged_hops(result.hops)
        assert rec["extra"]["unconverged_hops"] == hops
        if trust_issues(result.hops, result.extra):
            flagged.add(rec["candidate_id"])
        if hops:
            unconverged.add(rec["candidate_id"])
    values, _, left_out = read_barrier_values("chgnet")
    assert left_out == flagged
    assert unconverged <= flagged
    assert set(values) == {r["candidate_id"] for r in records} - flagged
    kept = read_barrier_values("chgnet", unconverged=True, untrusted=True)
    assert len(kept.values) == len(records)


def test_rewriting_the_same_records_gives_the_same_bytes(tmp_path):
    """A data file rewritten unchanged (a merge, a progress save) must not show up as a change."""
    from workflows.results.export import write_records

    records = read_export(DATA / "reference_sevennet.json.gz")
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    write_records(records, first)
    write_records(records, second)
    assert first.read_bytes() == second.read_bytes()
    assert read_export(first) == records
