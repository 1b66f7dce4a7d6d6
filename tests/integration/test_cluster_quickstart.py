"""The cluster quick start of docs/hpc.md, run as written on a real Slurm (sbatch and qsub).

The commands after the install line run in a fresh HOME with nothing but the test run's own
install: ``tavbo init-config`` with its defaults, ``tavbo agent --qlaunch 2`` (a BVSE campaign,
budget 4, two in flight) and ``tavbo status``. Through ``--scheduler pbs`` the same commands go
through Debian's PBS wrappers (``qsub``/``qstat``/``qdel`` on top of Slurm). A request no node can
satisfy is refused before anything is submitted (one line, exit 2).
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]


def quickstart_commands() -> list[str]:
    """The commands of the bash block of docs/hpc.md's "Quick start" section."""
    text = (REPO / "docs" / "hpc.md").read_text()
    section = re.search(r"^## Quick start[^\n]*\n(.*?)^## ", text, flags=re.M | re.S)
    assert section, "docs/hpc.md has no Quick start section"
    (block,) = re.findall(r"```bash\n(.*?)```", section.group(1), flags=re.S)
    return [ln for ln in block.strip().splitlines() if ln.strip()]


def user_env(home: Path) -> dict[str, str]:
    """A login shell's environment: this run's install on PATH, no tavbo/FireWorks settings."""
    drop = ("TAVBO_", "MONGOMOCK_", "FW_", "JOBFLOW_", "ATOMATE2_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_quickstart_has_at_most_six_commands_from_install_to_results():
    commands = quickstart_commands()
    assert len(commands) <= 6
    assert "pip install" in commands[0]
    assert any(c.startswith("tavbo init-config --scheduler slurm") for c in commands)
    assert any("--qlaunch" in c for c in commands)


@pytest.mark.parametrize("scheduler", ["slurm", "pbs"])
def test_quickstart_campaign_runs_as_written(slurm, tmp_path, scheduler):
    _install, *commands = quickstart_commands()  # the test run is installed already
    commands = [c.replace("--scheduler slurm", f"--scheduler {scheduler}") for c in commands]
    init = next(i for i, c in enumerate(commands) if c.startswith("tavbo init-config"))
    commands.insert(init, 'echo "T_INIT $(date +%s.%N)"')
    start = time.time()
    out = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(commands)],
        cwd=tmp_path,
        env=user_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    t_init = float(re.search(r"T_INIT (\S+)", log).group(1))
    done = re.findall(r"^(\d\d:\d\d:\d\d) done +(\S+) E_b = ([\d.]+) eV", log, flags=re.M)
    assert len(done) == 4, log[-4000:]
    assert re.search(r"pending 0\s+done 4\s+failed 0", log), log[-2000:]

    # the job scripts: the environment activated after the login profile, the fitted request
    runs = sorted((tmp_path / "tavbo-runs").glob("launcher_*"))
    assert len(runs) >= 8  # at least two jobs per evaluation
    script = (runs[0] / "FW_submit.script").read_text()
    assert f"source {Path(sys.prefix)}/bin/activate" in script
    cfg = tmp_path / "tavbo-config"
    res = yaml.safe_load((cfg / "resources.yaml").read_text())
    assert res["scheduler"] == scheduler
    assert res["cores_per_node"] == os.cpu_count()
    if scheduler == "slurm":
        assert "#SBATCH --ntasks=1" in script
    else:
        assert re.search(r"^#PBS -l select=1:ncpus=\d+:mpiprocs=1", script, flags=re.M)
        assert re.search(r"^export OMP_NUM_THREADS=\d+$", script, flags=re.M)

    day = datetime.datetime.fromtimestamp(t_init).date()
    first = datetime.datetime.combine(day, datetime.time.fromisoformat(done[0][0])).timestamp()
    print(
        f"\nquick start via {scheduler}: init-config -> first finished evaluation "
        f"{first - t_init:.0f} s, all four {time.time() - start:.0f} s"
    )


def test_a_request_no_node_can_satisfy_is_refused_before_submission(slurm, tmp_path):
    env = user_env(tmp_path)
    cfg = tmp_path / "tavbo-config"
    run = subprocess.run(
        ["tavbo", "init-config", "--scheduler", "slurm", "--dir", str(cfg), "-f", "csv"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    res = yaml.safe_load((cfg / "resources.yaml").read_text())
    res["screening"]["cpus_per_task"] = 4096  # more cores than any node has
    (cfg / "resources.yaml").write_text(yaml.safe_dump(res))
    env["FW_CONFIG_FILE"] = str(cfg / "FW_config.yaml")
    args = [
        "--campaign",
        "big",
        "--carrier",
        "Na",
        "--engine",
        "bvse",
        "--budget",
        "4",
        "--qlaunch",
        "2",
        "--once",
    ]
    agent = subprocess.run(
        ["tavbo", "agent", *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert agent.returncode == 2, agent.stdout + agent.stderr
    (line,) = agent.stderr.strip().splitlines()
    assert line.startswith("tavbo: error: resources.yaml: screening.cpus_per_task=4096")
    assert not (tmp_path / "tavbo-runs").exists()  # nothing was submitted
    check = subprocess.run(
        ["tavbo", "init-config", "--scheduler", "slurm", "--dir", str(cfg), "--check-only"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 1
    assert "screening.cpus_per_task=4096" in check.stdout
