"""Cluster configuration: rendered templates (Slurm and PBS), checks, credentials kept private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from workflows.errors import ConfigError
from workflows.hpc.checks import (
    Check,
    check_database,
    check_launchpad_permissions,
    check_potcars_present,
    check_queue_commands,
    check_rocket_launcher,
    mask_uri,
)
from workflows.hpc.config import init_config, template_dir, write_config
from workflows.hpc.resources import JobResources, QueueResources

SECRET = "s3cr3t-pw"
URI = f"mongodb://alice:{SECRET}@127.0.0.1:1/tavbo?authSource=admin"


def _adapter(path: Path):
    from workflows.hpc.queue_adapter import TavboQueueAdapter

    return TavboQueueAdapter.from_file(str(path))


@pytest.mark.parametrize(
    "name",
    [
        "my_qadapter_slurm.yaml",
        "my_qadapter_pbs.yaml",
        "my_fworker_relax.yaml",
        "my_fworker_neb.yaml",
        "my_fworker_screening.yaml",
        "jobflow.yaml",
        "atomate2.yaml",
    ],
)
def test_templates_are_valid_yaml(name):
    data = yaml.safe_load((template_dir() / name).read_text())
    assert isinstance(data, dict)


def test_fworker_templates_have_one_category_each():
    for cat in ("relax", "neb", "screening"):
        data = yaml.safe_load((template_dir() / f"my_fworker_{cat}.yaml").read_text())
        assert data["category"] == cat


@pytest.mark.parametrize("dialect", ["pbspro", "torque"])
def test_pbs_job_script_requests_what_resources_say_in_either_dialect(tmp_path, dialect):
    cfg = tmp_path / "cfg"
    write_config(
        "pbs",
        cfg,
        account="chem123",
        queue="short",
        pre_rocket=["module load vasp/6.4.3", "source /opt/venv/bin/activate"],
        dialect=dialect,
    )
    qa = _adapter(cfg / "my_qadapter.yaml")
    assert qa.q_type == "PBS"
    res = QueueResources.from_file(cfg / "resources.yaml")
    assert (res.scheduler, res.dialect) == ("pbs", dialect)
    res.cores_per_node = 48
    res.neb.mem = "96G"
    res.screening.cpus_per_task = 4
    qa.update(res.queueadapter("neb", 4))  # what qlaunch -r does with spec._queueadapter
    lines = qa.get_script_str(str(tmp_path)).splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "#PBS -A chem123" in lines
    assert "#PBS -q short" in lines
    assert "#PBS -l walltime=24:00:00" in lines
    assert "export OMP_NUM_THREADS=1" in lines
    if dialect == "pbspro":  # 128 tasks over 4 images on 48-core nodes: 3 nodes x 40 ranks
        assert "#PBS -l select=3:ncpus=40:mpiprocs=40:ompthreads=1:mem=96gb" in lines
        assert not any(ln.startswith(("#PBS -l nodes=", "#PBS -l mem=")) for ln in lines)
    else:  # Torque: cores per node, and mem of the whole job
        assert "#PBS -l nodes=3:ppn=40" in lines
        assert "#PBS -l mem=288gb" in lines
        assert not any(ln.startswith("#PBS -l select=") for ln in lines)
    assert not any("pmem" in ln for ln in lines)  # per-process memory is never written
    assert "module load vasp/6.4.3" in lines
    assert f"export JOBFLOW_CONFIG_FILE={cfg.resolve()}/jobflow.yaml" in lines
    assert f"export ATOMATE2_CONFIG_FILE={cfg.resolve()}/atomate2.yaml" in lines
    launch = next(ln for ln in lines if "singleshot" in ln)
    assert launch.endswith(f"-c {cfg.resolve()} singleshot --offline")
    assert "$$" not in "\n".join(lines)
    a2 = yaml.safe_load((cfg / "atomate2.yaml").read_text())
    assert a2["VASP_CMD"] == "mpirun vasp_std"

    threads = _adapter(cfg / "my_qadapter.yaml")
    threads.update(res.queueadapter("screening"))
    script = threads.get_script_str(str(tmp_path))
    assert "export OMP_NUM_THREADS=4" in script.splitlines()  # thread exports as for Slurm
    want = "select=1:ncpus=4:mpiprocs=1:ompthreads=4" if dialect == "pbspro" else "nodes=1:ppn=4"
    assert f"#PBS -l {want}" in script.splitlines()


def test_slurm_template_renders_per_job_resources(tmp_path):
    cfg = tmp_path / "cfg"
    write_config("slurm", cfg, account="proj", queue="cpu", vasp_cmd="srun -n 8 vasp_std")
    qa = _adapter(cfg / "my_qadapter.yaml")
    qa.update(
        QueueResources(relax=JobResources(ntasks=32, walltime="04:00:00")).queueadapter("relax")
    )
    lines = qa.get_script_str(str(tmp_path)).splitlines()
    for expected in (
        "#SBATCH --ntasks=32",
        "#SBATCH --nodes=1",
        "#SBATCH --time=04:00:00",
        "#SBATCH --partition=cpu",
        "#SBATCH --account=proj",
    ):
        assert expected in lines
    assert not any(ln.startswith("#SBATCH --qos") for ln in lines)  # null keys are left out
    assert yaml.safe_load((cfg / "atomate2.yaml").read_text())["VASP_GAMMA_CMD"] == (
        "srun -n 8 vasp_gam"
    )


def test_written_files(tmp_path):
    cfg = tmp_path / "cfg"
    written = {p.name for p in write_config("slurm", cfg)}
    assert written == {
        "my_qadapter.yaml",
        "my_fworker.yaml",
        "my_fworker_relax.yaml",
        "my_fworker_neb.yaml",
        "my_fworker_screening.yaml",
        "jobflow.yaml",
        "atomate2.yaml",
        "resources.yaml",
        "FW_config.yaml",
    }
    from fireworks import FWorker

    anyw = FWorker.from_file(str(cfg / "my_fworker.yaml"))
    assert anyw.category == ""
    assert "spec._category" not in anyw.query  # reserves any job
    fw_config = yaml.safe_load((cfg / "FW_config.yaml").read_text())
    assert fw_config["CONFIG_FILE_DIR"] == str(cfg.resolve())


def test_jobflow_yaml_builds_the_job_store(tmp_path, monkeypatch):
    from jobflow.settings import JobflowSettings

    write_config("slurm", tmp_path, mongo_uri=URI, database="camp1")
    settings = JobflowSettings(CONFIG_FILE=str(tmp_path / "jobflow.yaml"))
    store = settings.JOB_STORE
    assert store.docs_store.database == "camp1"
    assert store.docs_store.collection_name == "jobflow_outputs"
    assert set(store.additional_stores) == {"data"}
    assert type(store.additional_stores["data"]).__name__ == "GridFSStore"


def test_credentials_only_in_private_files(tmp_path):
    write_config("slurm", tmp_path, mongo_uri=URI)
    for path in tmp_path.iterdir():
        mode = stat.S_IMODE(path.stat().st_mode)
        if SECRET in path.read_text():
            assert path.name in ("my_launchpad.yaml", "jobflow.yaml")
            assert mode == 0o600
    lp = yaml.safe_load((tmp_path / "my_launchpad.yaml").read_text())
    assert lp["uri_mode"] is True
    assert lp["name"] == "tavbo"


def test_existing_files_need_overwrite(tmp_path):
    write_config("slurm", tmp_path)
    with pytest.raises(ConfigError, match="--force"):
        write_config("slurm", tmp_path)
    write_config("pbs", tmp_path, overwrite=True)
    assert _adapter(tmp_path / "my_qadapter.yaml").q_type == "PBS"


def test_online_jobs_need_a_database(tmp_path):
    with pytest.raises(ConfigError, match="embedded LaunchPad"):
        write_config("slurm", tmp_path, offline=False)
    write_config("slurm", tmp_path, offline=False, mongo_uri=URI)
    launch = yaml.safe_load((tmp_path / "my_qadapter.yaml").read_text())["rocket_launch"]
    assert launch.endswith("singleshot")


def test_unknown_scheduler(tmp_path):
    with pytest.raises(ConfigError, match="valid options are"):
        write_config("lsf", tmp_path)  # type: ignore[arg-type]


def test_permissions_warn_when_others_can_read(tmp_path):
    path = tmp_path / "my_launchpad.yaml"
    path.write_text(f"host: {URI}\n")
    path.chmod(0o644)
    check = check_launchpad_permissions(path)
    assert check.status == "warn"
    assert "chmod 600" in check.message
    assert SECRET not in check.message
    path.chmod(0o600)
    assert check_launchpad_permissions(path).status == "ok"
    assert check_launchpad_permissions(tmp_path / "missing.yaml").status == "warn"


def test_unreachable_database_fails_fast_without_leaking(tmp_path):
    path = tmp_path / "my_launchpad.yaml"
    path.write_text(f"host: '{URI}'\nuri_mode: true\nname: tavbo\n")
    check = check_database(path, timeout=0.3)
    assert check.status == "fail"
    assert "127.0.0.1:1" in check.message
    assert SECRET not in check.message
    assert "alice" not in check.message


def test_embedded_database_check():
    check = check_database(None)
    assert check.ok
    assert "offline" in check.message


def test_queue_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    check = check_queue_commands("pbs")
    assert check.status == "fail"
    assert "qsub, qstat, qdel not on PATH" in check.message
    for cmd in ("qsub", "qstat", "qdel"):
        exe = tmp_path / cmd
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    assert check_queue_commands("pbs").status == "ok"


def test_potcar_check_names_the_problem(tmp_path):
    check = check_potcars_present(["Li", "O"], potcar_dir=tmp_path / "nope")
    assert check.status == "fail"
    assert "not a directory" in check.message


def test_rocket_launcher_check(tmp_path):
    assert check_rocket_launcher("no-such-rlaunch singleshot").status == "fail"
    import sys

    ok = check_rocket_launcher(f"{sys.executable} -m workflows.hpc.offline singleshot --offline")
    assert ok.status == "ok"
    assert "offline" in ok.message
    assert check_rocket_launcher(f"{sys.executable} rapidfire").status == "fail"


def test_init_config_runs_the_checks(tmp_path):
    checks = init_config("pbs", tmp_path / "cfg", timeout=0.5)
    assert all(isinstance(c, Check) for c in checks)
    names = [c.name for c in checks]
    assert names[names.index("queue-commands") :][:3] == ["queue-commands", "scheduler", "database"]
    assert "rocket-launcher" in names
    again = init_config("pbs", tmp_path / "cfg", check_only=True, timeout=0.5)
    assert [c.name for c in again] == [n for n in names if n != "cluster"]  # read when writing
    with pytest.raises(ConfigError, match="does not exist"):
        init_config("pbs", tmp_path / "other", check_only=True)


def test_potcars_are_checked_only_for_the_vasp_engine(tmp_path, monkeypatch):
    from pymatgen.core import SETTINGS

    monkeypatch.setitem(SETTINGS, "PMG_VASP_PSP_DIR", str(tmp_path / "no-potcars"))
    light = init_config("slurm", tmp_path / "a", engines=("bvse", "chgnet"), timeout=0.5)
    (potcars,) = [c for c in light if c.name == "potcars"]
    assert potcars.ok
    assert "only the vasp engine" in potcars.message
    heavy = init_config("slurm", tmp_path / "b", engines=("vasp",), timeout=0.5)
    (potcars,) = [c for c in heavy if c.name == "potcars"]
    assert potcars.status == "fail"
    with pytest.raises(ConfigError, match="unknown engine"):
        init_config("slurm", tmp_path / "c", engines=("dft",))


def test_the_resources_example_of_hpc_md_is_a_valid_resources_yaml():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "hpc.md").read_text()
    section = text.split("## 5. Job resources", 1)[1].split("\n## ", 1)[0]
    (block,) = section.split("```yaml\n")[1:]
    res = QueueResources.from_dict(yaml.safe_load(block.split("```")[0]))
    assert res.neb.extra == {"qos": "long"}
    assert res.queueadapter("neb", 5)["ntasks"] == 125  # as the page says


def test_mask_uri():
    assert mask_uri(URI) == "mongodb://***@127.0.0.1:1/tavbo?authSource=admin"
    assert mask_uri("mongodb://host:27017/db") == "mongodb://host:27017/db"


def test_cli_writes_and_reports(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bo_agent.cli.app import TavboTyper
    from bo_agent.cli.operate.hpc import init_config as init_config_cmd
    from workflows.errors import TavboError

    app = TavboTyper()
    app.command("init-config")(init_config_cmd)
    app.command("noop")(lambda: None)  # a second command keeps "init-config" a subcommand
    monkeypatch.setenv("TAVBO_MONGO_URI", URI)
    cfg = tmp_path / "cfg"
    args = ["init-config", "--scheduler", "pbs", "--dir", str(cfg), "-f", "json"]
    result = CliRunner().invoke(app, [*args, "--timeout", "0.3"])
    # the database at 127.0.0.1:1 cannot answer: one failed check, reported as a TavboError
    assert isinstance(result.exception, TavboError)
    assert "database" in str(result.exception)
    assert SECRET not in result.output
    assert (cfg / "my_launchpad.yaml").exists()
    assert os.stat(cfg / "my_launchpad.yaml").st_mode & 0o077 == 0
