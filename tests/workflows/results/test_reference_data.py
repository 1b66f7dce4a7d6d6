"""The reference data shipped in the package: complete records a user can trust and replay."""

from __future__ import annotations

from pathlib import Path

import pytest

import workflows.data
from workflows.physics.schemas import BarrierResult
from workflows.results.export import read_export
from workflows.space.compositions import default_space

DATA = Path(workflows.data.__file__).parent
FILES = {"bvse": "bvse-rough", "chgnet": "mlp-neb"}
STEP_LIMITS = ("max_steps", "endpoint_max_steps", "relax_max_steps")


@pytest.mark.parametrize("engine", sorted(FILES))
def test_packaged_reference_records_are_complete_and_belong_to_the_space(engine):
    path = DATA / f"reference_{engine}.json.gz"
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
        assert result.fidelity == FILES[engine]
        assert rec["campaign"] == f"reference-{engine}"
        assert rec["date"]
        assert rec["versions"]
        assert rec["settings"]
        assert result.structure is not None
        assert result.e_b >= 0.0
        if engine == "chgnet":
            assert result.hops
            assert result.percolating_hops
            assert all(len(h.energies) == 7 for h in result.hops)  # 5 images + 2 endpoints
            # E_b from the lowest image of each path; the endpoint value never above it
            assert result.reference == "path_minimum"
            assert result.e_b == pytest.approx(result.e_b_from_min)
            assert result.extra["e_b_endpoint"] <= result.e_b + 1e-9


def test_one_protocol_per_reference_set():
    """Results made with different engine settings must not be mixed in one data set.

    Threads do not change a result, nor do step limits change a converged one (reruns of
    unconverged NEBs may raise them); ``reference`` (the zero of E_b) is checked per record
    above.
    """
    for engine in FILES:
        records = read_export(DATA / f"reference_{engine}.json.gz")
        physics = {
            tuple(
                sorted(
                    (k, str(v))
                    for k, v in r["settings"].items()
                    if k not in ("torch_threads", "reference", *STEP_LIMITS)
                )
            )
            for r in records
        }
        assert len(physics) == 1, f"{engine}: {len(physics)} different settings"


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
