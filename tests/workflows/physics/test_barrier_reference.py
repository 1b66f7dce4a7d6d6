"""What E_b is measured from: a path that dips below its vacancy endpoint must not read as 0 eV."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from workflows.errors import ConfigError
from workflows.physics.barrier_reference import with_reference
from workflows.physics.schemas import BarrierResult
from workflows.results.export import read_export, rereference_records

ID = "Li-Ga-P-F"
#: Absolute energies per hop; hop 1 dips 0.9 eV below its endpoint (the endpoint sat on a
#: saddle), so from the endpoint its barrier is 0 and the 0-1 chain would percolate at 0.5 eV.
PATHS = [
    {"hop_index": 0, "energies": [-100.0, -99.6, -99.5, -99.6, -100.0]},
    {"hop_index": 1, "energies": [-100.0, -100.6, -100.9, -100.6, -100.0]},
    {"hop_index": 2, "energies": [-100.0, -99.7, -99.3, -99.7, -100.0]},
]


@pytest.fixture(scope="module")
def hopset():
    from workflows.physics.hops import find_hops
    from workflows.space.compositions import default_space
    from workflows.structures.tavorite import make_structure

    return find_hops(make_structure(default_space().get(ID)))


def _result(hopset, reference: str) -> BarrierResult:
    from workflows.engines.jobs import build_barrier_result

    return build_barrier_result(ID, "chgnet", "mlp-neb", hopset, PATHS, reference=reference)


def test_a_path_dipping_below_its_endpoint_is_measured_from_the_dip(hopset):
    from workflows.engines.jobs import build_barrier_result

    result = build_barrier_result(ID, "chgnet", "mlp-neb", hopset, PATHS)  # the default
    assert [h.barrier for h in result.hops] == pytest.approx([0.5, 0.0, 0.7])
    assert [h.barrier_from_min for h in result.hops] == pytest.approx([0.5, 0.9, 0.7])
    # from the well at -100.9 eV the ion needs 0.7 eV (hops 0 and 2), not 0.5 eV
    assert result.reference == "path_minimum"
    assert result.e_b == pytest.approx(0.7)
    assert result.percolating_hops == [0, 2]
    assert result.extra["e_b_endpoint"] == pytest.approx(0.5)

    endpoint = _result(hopset, "endpoint")
    assert (endpoint.e_b, endpoint.percolating_hops) == (pytest.approx(0.5), [0, 1])
    assert endpoint.e_b_from_min == pytest.approx(0.7)


def test_a_stored_result_re_measured_equals_one_computed_with_that_reference(hopset):
    stored = BarrierResult.model_validate(_result(hopset, "endpoint").model_dump(mode="json"))
    fresh = _result(hopset, "path_minimum")
    moved = with_reference(stored, "path_minimum")
    for field in ("e_b", "reference", "percolating_hops", "percolation_dimension"):
        assert getattr(moved, field) == getattr(fresh, field)
    assert moved.extra["e_b_endpoint"] == pytest.approx(0.5)
    assert with_reference(moved, "endpoint").e_b == pytest.approx(stored.e_b)


def test_a_result_without_hop_profiles_cannot_be_re_measured():
    bvse = BarrierResult(
        candidate_id="Na-Ga-P-F",
        engine="bvse",
        fidelity="bvse-rough",
        e_b=2.1,
        reference="path_minimum",
    )
    assert with_reference(bvse, "path_minimum") is bvse
    with pytest.raises(ConfigError, match=r"Na-Ga-P-F \(bvse\): no per-hop energy profiles"):
        with_reference(bvse, "endpoint")
    with pytest.raises(ConfigError, match="unknown E_b reference 'saddle'"):
        with_reference(bvse, "saddle")  # type: ignore[arg-type]


@pytest.mark.skipif(
    bool(os.environ.get("TAVBO_TEST_MONGO_URI")), reason="runs its own embedded store"
)
def test_export_reference_re_measures_merged_records(tmp_path, hopset):
    part = tmp_path / "part.json"
    old = _result(hopset, "endpoint").model_dump(mode="json")
    part.write_text(json.dumps([{**old, "campaign": "reference-chgnet", "date": "2026-11-24"}]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVBO_")}
    env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    env["TAVBO_EMBEDDED_STORE"] = str(tmp_path / "lp.json")
    env["TAVBO_RUN_DIR"] = str(tmp_path / "runs")

    def export(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "bo_agent.cli", "export", *args, "-c", "reference-chgnet"]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)

    out = tmp_path / "ref.json.gz"
    proc = export(str(out), "--merge", str(part), "--reference", "path_minimum")
    assert proc.returncode == 0, proc.stderr
    (rec,) = read_export(out)
    assert (rec["e_b"], rec["reference"]) == (pytest.approx(0.7), "path_minimum")
    assert (rec["campaign"], rec["date"]) == ("reference-chgnet", "2026-11-24")
    assert rereference_records([rec], "endpoint")[0]["e_b"] == pytest.approx(0.5)

    bad = export(str(tmp_path / "x.json"), "--merge", str(part), "--reference", "saddle")
    assert bad.returncode != 0
    assert bad.stderr.strip().count("\n") == 0
    assert "--reference 'saddle'" in bad.stderr
