"""What every queue job script runs before and as its rocket: environment, exports, launcher.

Job scripts start ``#!/bin/bash -l`` (Slurm) and run on compute nodes whose login profile may
reset ``PATH``; :func:`job_pre_rocket` writes, after the site's own lines, the activation of the
Python environment that ran ``tavbo init-config`` (:func:`environment_activation`), the exports
of the config files, and the thread count (Slurm: ``$SLURM_CPUS_PER_TASK``; PBS jobs export
``omp_threads`` from their template). :func:`rocket_launch_command` is the rocket line.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from workflows.hpc.resources import Scheduler

__all__ = ["environment_activation", "job_pre_rocket", "rocket_launch_command"]


def rocket_launch_command(config_dir: str | Path, *, offline: bool = True) -> str:
    """The ``rocket_launch`` line: ``tavbo-rlaunch -c DIR singleshot [--offline]``.

    Uses ``tavbo-rlaunch`` when it is on ``PATH``, else ``<this python> -m workflows.hpc.rocket``
    (the same program).
    """
    launcher = (
        "tavbo-rlaunch"
        if shutil.which("tavbo-rlaunch")
        else f"{sys.executable} -m workflows.hpc.rocket"
    )
    line = f"{launcher} -c {shlex.quote(str(config_dir))} singleshot"
    return f"{line} --offline" if offline else line


def environment_activation() -> str:
    """The shell line that puts this Python environment (and ``tavbo-rlaunch``) on a job's PATH.

    Job scripts start ``#!/bin/bash -l``: the login profile may reset PATH, so the environment
    that ran ``init-config`` is activated explicitly in every script, after the profile: a
    virtualenv by its ``activate`` script, a conda environment by conda's shell hook, anything
    else by putting the interpreter's ``bin`` directory first on PATH.
    """
    prefix = Path(sys.prefix)
    if sys.prefix != sys.base_prefix and (prefix / "bin" / "activate").is_file():
        return f"source {shlex.quote(str(prefix / 'bin' / 'activate'))}   # tavbo's virtualenv"
    conda_exe = os.environ.get("CONDA_EXE")
    if conda_exe and (prefix / "conda-meta").is_dir():
        return (
            f'eval "$({shlex.quote(conda_exe)} shell.bash hook)" && '
            f"conda activate {shlex.quote(str(prefix))}   # tavbo's conda environment"
        )
    bin_dir = shlex.quote(str(Path(sys.executable).parent))
    return f'export PATH={bin_dir}:"$PATH"   # the Python environment holding tavbo'


def job_pre_rocket(
    scheduler: Scheduler,
    directory: Path,
    extra_lines: Sequence[str],
    potcar_dir: str | None,
) -> str:
    """The ``pre_rocket`` lines of every job: site lines, environment, config exports, threads."""
    lines = list(extra_lines) or [
        "# module load vasp/6.4.3   # site-specific: VASP and MPI for relax/neb jobs",
    ]
    lines.append(environment_activation())
    lines += [
        f"export FW_CONFIG_FILE={shlex.quote(str(directory / 'FW_config.yaml'))}",
        f"export JOBFLOW_CONFIG_FILE={shlex.quote(str(directory / 'jobflow.yaml'))}",
        f"export ATOMATE2_CONFIG_FILE={shlex.quote(str(directory / 'atomate2.yaml'))}",
    ]
    if potcar_dir:
        lines.append(f"export PMG_VASP_PSP_DIR={shlex.quote(str(potcar_dir))}")
    if scheduler == "slurm":
        lines.append("export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}")
    return "\n".join(lines)
