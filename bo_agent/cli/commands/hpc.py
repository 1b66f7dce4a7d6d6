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
from workflows.errors import TavboError
from workflows.hpc.config import init_config as _init_config

__all__ = ["SchedulerChoice", "init_config"]


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
    vasp: Annotated[
        bool, typer.Option("--vasp/--no-vasp", help="Check POTCARs and the VASP command.")
    ] = True,
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

    Files: my_qadapter.yaml, my_fworker[_relax|_neb|_screening].yaml, jobflow.yaml, atomate2.yaml,
    resources.yaml, FW_config.yaml (and my_launchpad.yaml with --mongo-uri). Checks: queue
    commands, scheduler, database, file permissions, POTCARs, rocket launcher, VASP command.
    Exits 1 if a check fails.
    """
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
        vasp=vasp,
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
