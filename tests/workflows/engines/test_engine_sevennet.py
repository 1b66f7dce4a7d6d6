"""The SevenNet engine: the CHGNet protocol with a second potential whose weights ship offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from workflows.engines import get_maker
from workflows.engines.base import BarrierMaker
from workflows.engines.sevennet import SevennetBarrierMaker
from workflows.errors import ConfigError
from workflows.space.compositions import default_space
from workflows.structures.tavorite import make_structure

LI = "Li-Ga-P-F"


def test_the_registry_gives_a_sevennet_maker_with_its_own_job_names_and_the_pbe_model():
    maker = get_maker("sevennet", n_images=3)
    assert isinstance(maker, SevennetBarrierMaker)
    assert isinstance(maker, BarrierMaker)
    assert (maker.engine, maker.potential, maker.n_images) == ("sevennet", "7net-mf-0:PBE", 3)
    flow = maker.make(make_structure(default_space().get(LI)), LI)
    assert [job.name for job in flow.jobs] == ["sevennet relax", "find hops", "sevennet nebs"]
    assert flow.jobs[0].function_kwargs["potential"] == "7net-mf-0:PBE"


def test_a_model_that_would_download_is_refused_at_configuration():
    with pytest.raises(ConfigError, match="'7net-omat' does not ship with sevenn"):
        get_maker("sevennet", model="7net-omat")
    with pytest.raises(ConfigError, match="needs a modality: 7net-mf-0:PBE"):
        get_maker("sevennet", model="7net-mf-0")
    assert get_maker("sevennet", model="7net-mf-0:PBE").potential == "7net-mf-0:PBE"


@pytest.mark.slow
@pytest.mark.skipif(
    bool(os.environ.get("TAVBO_TEST_MONGO_URI")), reason="runs its own embedded store"
)
def test_evaluate_runs_offline_and_stores_a_sevennet_barrier(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVBO_")}
    env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    dead = "http://127.0.0.1:9"  # any download attempt fails at once
    env |= {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead, "https_proxy": dead}
    env |= {"TAVBO_EMBEDDED_STORE": str(tmp_path / "lp.json"), "TAVBO_RUN_DIR": str(tmp_path)}
    # a 47-atom supercell (images >= 7 A), one image and loose forces: the protocol, not its cost
    quick = ["relax_fmax=0.1", "endpoint_fmax=0.1", "n_images=1", "fmax=0.1", "max_steps=100",
             "min_image_distance=7.0"]  # fmt: skip
    cmd = [sys.executable, "-m", "bo_agent.cli", "evaluate", LI, "--engine", "sevennet"]
    cmd += [arg for kv in quick for arg in ("--set", kv)] + ["--format", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    result = data[0] if isinstance(data, list) else data
    assert (result["engine"], result["fidelity"], result["reference"]) == (
        "sevennet",
        "mlp-neb",
        "network",
    )
    assert len(result["hops"]) == 3
    assert 0.0 < result["e_b"] < 1.5
    assert result["extra"]["potential"] == "7net-mf-0:PBE"
    assert result["extra"]["framework_failures"] == []
    assert "sevenn" in result["versions"]
