"""The physics engines through the real FireWorks path on the embedded LaunchPad.

One Firework per job (the chgnet hop job replaces itself with one Firework per hop), results
written by the final job and found by ``tavbo barriers``.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bo_agent.cli.main import app

#: Reduced CHGNet settings (production supercell, fewer images, looser forces) for test time.
QUICK_CHGNET = {
    "relax_fmax": 0.1,
    "endpoint_fmax": 0.1,
    "n_images": 3,
    "fmax": 0.1,
    "max_steps": 150,
}


@pytest.mark.slow
def test_bvse_and_chgnet_results_land_in_the_database_and_barriers_finds_them(launchpad):
    from workflows.flows.evaluation import evaluate

    bvse = evaluate("Li-Ga-P-F", "bvse", campaign="fw-test", launchpad=launchpad)
    assert bvse.fidelity == "bvse-rough"
    assert 0.0 < bvse.e_b < 5.0

    chgnet = evaluate(
        "Li-Ga-P-F", "chgnet", campaign="fw-test", launchpad=launchpad, **QUICK_CHGNET
    )
    assert chgnet.fidelity == "mlp-neb"
    assert len(chgnet.hops) >= 2
    assert chgnet.percolating_hops  # the network that sets E_b is recorded
    assert chgnet.e_b == pytest.approx(
        max(h.barrier for h in chgnet.hops if h.hop_index in chgnet.percolating_hops), abs=1e-6
    )
    # every hop ran as its own Firework
    nodes = launchpad.workflows.find_one({"metadata.engine": "chgnet"}, {"nodes": 1})["nodes"]
    names = [fw["name"] for fw in launchpad.fireworks.find({"fw_id": {"$in": nodes}})]
    assert sum("neb" in n.lower() for n in names) >= len(chgnet.hops)

    result = CliRunner().invoke(app, ["barriers", "-c", "fw-test", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {(r["id"], r["engine"]): r for r in json.loads(result.stdout)}
    assert rows[("Li-Ga-P-F", "bvse")]["e_b"] == pytest.approx(bvse.e_b)
    assert rows[("Li-Ga-P-F", "chgnet")]["e_b"] == pytest.approx(chgnet.e_b)
