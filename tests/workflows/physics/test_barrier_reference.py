"""What E_b is measured from: a path that dips below its vacancy endpoint must not read as 0 eV,
and the ion of a percolating network climbs from the network's lowest point."""

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
    from workflows.physics.barrier_result import build_barrier_result

    return build_barrier_result(ID, "chgnet", "mlp-neb", hopset, PATHS, reference=reference)


def test_a_path_dipping_below_its_endpoint_is_measured_from_the_dip(hopset):
    result = _result(hopset, "path_minimum")
    assert [h.barrier for h in result.hops] == pytest.approx([0.5, 0.0, 0.7])
    assert [h.barrier_from_min for h in result.hops] == pytest.approx([0.5, 0.9, 0.7])
    # each hop from its own minimum: hops 0 and 2 percolate at 0.7 eV, not 0.5 eV
    assert result.e_b == pytest.approx(0.7)
    assert result.percolating_hops == [0, 2]
    assert result.extra["e_b_endpoint"] == pytest.approx(0.5)

    endpoint = _result(hopset, "endpoint")
    assert (endpoint.e_b, endpoint.percolating_hops) == (pytest.approx(0.5), [0, 1])
    assert endpoint.e_b_from_min == pytest.approx(0.7)


def test_the_network_is_measured_from_its_lowest_point_by_default(hopset):
    from workflows.physics.barrier_result import build_barrier_result

    result = build_barrier_result(ID, "chgnet", "mlp-neb", hopset, PATHS)  # the default
    # hops 0 and 1 percolate once E(saddle) reaches 0.5 eV; the ion on that chain sits in hop 1's
    # well at -0.9 eV, so it climbs 1.4 eV: more than any hop measured from its own minimum
    assert result.reference == "network"
    assert result.e_b == pytest.approx(1.4)
    assert result.percolating_hops == [0, 1]
    assert result.e_b_from_min == pytest.approx(0.7)
    assert result.extra["e_b_network"] == pytest.approx(1.4)


def test_the_network_rule_equals_the_others_when_no_path_dips(hopset):
    from workflows.physics.barrier_result import build_barrier_result

    flat = [
        {"hop_index": 0, "energies": [-100.0, -99.6, -99.5, -99.6, -100.0]},
        {"hop_index": 1, "energies": [-100.0, -99.9, -99.8, -99.9, -100.0]},
        {"hop_index": 2, "energies": [-100.0, -99.7, -99.3, -99.7, -100.0]},
    ]
    by_ref = {
        ref: build_barrier_result(ID, "chgnet", "mlp-neb", hopset, flat, reference=ref).e_b
        for ref in ("network", "endpoint", "path_minimum")
    }
    assert by_ref["network"] == pytest.approx(by_ref["endpoint"])
    assert by_ref["network"] == pytest.approx(by_ref["path_minimum"])


def test_a_repaired_endpoint_shifts_its_hop_onto_the_common_zero(hopset):
    from workflows.physics.barrier_result import build_barrier_result

    # hop 1 was repaired: its NEB ran from the deeper well found at -100.9 eV; it says so by
    # its endpoint's total energy, and the others keep the vacancy endpoint at -100.0 eV
    paths = [
        {"hop_index": 0, "energies": [0.0, 0.4, 0.5, 0.4, 0.0], "endpoint_energy": -100.0},
        {"hop_index": 1, "energies": [0.0, 0.3, 0.6, 0.3, 0.0], "endpoint_energy": -100.9},
        {"hop_index": 2, "energies": [0.0, 0.3, 0.7, 0.3, 0.0], "endpoint_energy": -100.0},
    ]
    result = build_barrier_result(ID, "chgnet", "mlp-neb", hopset, paths)
    assert [h.e_initial for h in result.hops] == pytest.approx([0.9, 0.0, 0.9])
    # saddles on the common zero: 1.4, 0.6, 1.6 eV; hops 0 and 1 percolate from the -100.9 well
    assert result.e_b == pytest.approx(1.4)
    assert result.percolating_hops == [0, 1]


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


def test_a_resumed_neb_says_so_in_the_hop_record_and_its_stored_document(hopset):
    from workflows.physics.barrier_result import build_barrier_result
    from workflows.results.documents import HopDocument

    paths = [dict(p) for p in PATHS]
    paths[1]["resumed_at_step"] = 35  # its job was killed and re-queued
    result = build_barrier_result(ID, "chgnet", "mlp-neb", hopset, paths)
    assert [h.resumed_at_step for h in result.hops] == [None, 35, None]
    stored = HopDocument(**result.hops[1].model_dump())
    assert stored.resumed_at_step == 35
