"""``tavbo init-config``: write and check the configuration for a Slurm or PBS cluster.

Registered by the main app as ``app.command("init-config")(init_config)``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bo_agent.cli.formatting import print_records
from bo_agent.cli.options import FormatOpt, OutputFormat, SpaceOpt
from workflows.errors import ConfigError, TavboError
from workflows.hpc.config import init_config as _init_config

__all__ = ["DialectChoice", "EngineChoice", "SchedulerChoice", "init_config"]


class EngineChoice(StrEnum):
    """Engines whose needs init-config checks."""

    vasp = "vasp"
    chgnet = "chgnet"
    bvse = "bvse"
    table = "table"


class DialectChoice(StrEnum):
    """PBS job-script dialects."""

    pbspro = "pbspro"
    torque = "torque"


class SchedulerChoice(StrEnum):
    """Queue systems with a tavbo queue-adapter template."""

    slurm = "slurm"
    pbs = "pbs"


def init_config(
    scheduler: Annotated[
        SchedulerChoice, typer.Option("--scheduler", "-s", help="Queue system of the cluster.")
    ],
    directory: Annotated[
        Path,
        typer.Option(
            "--dir",
            "-d",
            help="Directory to write the configuration into (created).",
            file_okay=False,
        ),
    ],
    mongo_uri: Annotated[
        str | None,
        typer.Option(
            "--mongo-uri",
            envvar="TAVBO_MONGO_URI",
            show_envvar=True,
            help=(
                "MongoDB URI for the LaunchPad and job store (prefer the environment variable: "
                "the URI may hold a password). Default: the embedded LaunchPad."
            ),
        ),
    ] = None,
    database: Annotated[str, typer.Option("--database", help="Database name.")] = "tavbo",
    account: Annotated[
        str | None, typer.Option("--account", "-A", help="Account/project charged for jobs.")
    ] = None,
    queue: Annotated[
        str | None, typer.Option("--queue", "-q", help="Default partition (Slurm) or queue (PBS).")
    ] = None,
    pre_rocket: Annotated[
        list[str] | None,
        typer.Option(
            "--pre-rocket",
            help="Shell line run first in every job, e.g. 'module load vasp/6.4' (repeatable).",
        ),
    ] = None,
    vasp_cmd: Annotated[
        str | None,
        typer.Option(
            "--vasp-cmd", help="VASP command (default 'srun vasp_std' / 'mpirun vasp_std')."
        ),
    ] = None,
    potcar_dir: Annotated[
        Path | None,
        typer.Option("--potcar-dir", help="POTCAR library (default: PMG_VASP_PSP_DIR)."),
    ] = None,
    online: Annotated[
        bool,
        typer.Option(
            "--online/--offline",
            help="Whether compute nodes reach the database (online needs --mongo-uri).",
        ),
    ] = False,
    engines: Annotated[
        list[EngineChoice] | None,
        typer.Option(
            "--engine",
            "-e",
            help=(
                "Engine the campaigns will use (repeatable; default bvse, chgnet, table). POTCARs "
                "and the VASP command are checked only for vasp."
            ),
        ),
    ] = None,
    dialect: Annotated[
        DialectChoice | None,
        typer.Option(
            "--pbs-dialect",
            help="PBS job scripts: pbspro (select=...) or torque (nodes=N:ppn=P); default: "
            "recognised from `qstat --version`, else pbspro.",
        ),
    ] = None,
    space: SpaceOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds allowed for the database to answer.")
    ] = 5.0,
    check_only: Annotated[
        bool, typer.Option("--check-only", help="Only check an existing directory.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Write FireWorks/jobflow/atomate2 config for a cluster into DIR, then check it.

    Reads the cluster first (sinfo, or pbsnodes and qstat -Q) and fits resources.yaml to it.
    Files: my_qadapter.yaml, my_fworker[_relax|_neb|_screening].yaml, jobflow.yaml, atomate2.yaml,
    resources.yaml, FW_config.yaml (PBS: PBS_template.txt; my_launchpad.yaml with --mongo-uri).
    Checks: cluster, queue commands, scheduler, database, file permissions, rocket launcher,
    resources fit, and for --engine vasp POTCARs and the VASP command. Exits 1 if a check fails.
    """
    written_only = {  # options that go into the files, which --check-only does not write
        "--account": account is not None, "--queue": queue is not None,
        "--pre-rocket": bool(pre_rocket), "--vasp-cmd": vasp_cmd is not None,
        "--database": database != "tavbo", "--online": online, "--force": force,
        "--pbs-dialect": dialect is not None,
    }  # fmt: skip
    given = [flag for flag, is_set in written_only.items() if is_set]
    if check_only and given:
        raise ConfigError(f"--check-only checks the files in DIR as they are; {given[0]} is "
                          "written into them: run without --check-only")  # fmt: skip
    if dialect is not None and scheduler.value != "pbs":
        raise ConfigError(f"--pbs-dialect is for PBS job scripts, not {scheduler.value}")
    checks = _init_config(
        scheduler.value,
        directory,
        check_only=check_only,
        timeout=timeout,
        space=space,
        mongo_uri=mongo_uri,
        database=database,
        account=account,
        queue=queue,
        pre_rocket=tuple(pre_rocket or ()),
        vasp_cmd=vasp_cmd,
        potcar_dir=potcar_dir,
        offline=not online,
        engines=tuple(e.value for e in engines) if engines else ("bvse", "chgnet", "table"),
        dialect=dialect.value if dialect else None,
        overwrite=force,
    )
    title = f"tavbo config in {directory.expanduser().resolve()} ({scheduler.value})"
    print_records([c.as_dict() for c in checks], fmt.value, title=title)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise TavboError(
            f"{len(failed)} check(s) failed: {', '.join(failed)}; fix them and rerun with "
            f"--check-only"
        )
