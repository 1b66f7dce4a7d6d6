"""Preflight checks of a cluster configuration: can queue jobs run as configured?

:func:`run_checks` checks a directory written by :func:`workflows.hpc.config.write_config`:
queue commands present, scheduler answering, database reachable (short timeout), private
permissions on files holding credentials, POTCARs present, rocket launcher on ``PATH``. Each
:class:`Check` says what is wrong and what to do. Credentials are never printed: URIs are shown
with ``***`` in place of user and password (:func:`mask_uri`).

Everything here is also importable from :mod:`workflows.hpc.config`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from workflows.errors import ConfigError
from workflows.hpc.cluster import categories_for, check_fits, probe_cluster
from workflows.hpc.resources import Scheduler

__all__ = [
    "QUEUE_COMMANDS",
    "Check",
    "CheckStatus",
    "check_database",
    "check_launchpad_permissions",
    "check_potcars_present",
    "check_queue_commands",
    "check_rocket_launcher",
    "check_scheduler",
    "mask_uri",
    "run_checks",
]

CheckStatus = Literal["ok", "warn", "fail"]

#: Commands the queue launcher and lost-run handling need, per scheduler.
QUEUE_COMMANDS: dict[Scheduler, tuple[str, ...]] = {
    "slurm": ("sbatch", "squeue", "scancel"),
    "pbs": ("qsub", "qstat", "qdel"),
}
_SCHEDULER_PING: dict[Scheduler, list[str]] = {
    "slurm": ["sinfo", "-h", "-o", "%P %a %D %t"],
    "pbs": ["qstat", "-Q"],
}
_SECRET_FILES = ("my_launchpad.yaml", "jobflow.yaml")


@dataclass(frozen=True)
class Check:
    """Outcome of one preflight check.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``"queue-commands"``.
    status : {"ok", "warn", "fail"}
        ``fail`` means jobs cannot run as configured; ``warn`` deserves a look.
    message : str
        One line: what was found and, if not ok, what to do. Never holds a credential.
    """

    name: str
    status: CheckStatus
    message: str

    @property
    def ok(self) -> bool:
        """True unless the check failed (warnings pass)."""
        return self.status != "fail"

    def as_dict(self) -> dict[str, str]:
        """Record for the CLI's table/CSV/JSON printer."""
        return {"check": self.name, "status": self.status, "message": self.message}


def mask_uri(uri: str) -> str:
    """``mongodb+srv://user:pass@host/db`` -> ``mongodb+srv://***@host/db`` (safe to print)."""
    return re.sub(r"^([a-z+]+://)[^@/]*@", r"\1***@", uri)


def check_queue_commands(scheduler: Scheduler) -> Check:
    """Whether the scheduler's submit, status and cancel commands are on ``PATH``."""
    cmds = QUEUE_COMMANDS[scheduler]
    missing = [c for c in cmds if shutil.which(c) is None]
    if missing:
        return Check(
            "queue-commands",
            "fail",
            f"{', '.join(missing)} not on PATH: run on a {scheduler} login node, or load the "
            f"scheduler's module",
        )
    return Check("queue-commands", "ok", f"{', '.join(cmds)} found")


def check_scheduler(scheduler: Scheduler, timeout: float = 10.0) -> Check:
    """Whether the scheduler answers a status query within ``timeout`` seconds."""
    cmd = _SCHEDULER_PING[scheduler]
    if shutil.which(cmd[0]) is None:
        return Check("scheduler", "fail", f"{cmd[0]} not on PATH")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Check("scheduler", "fail", f"`{' '.join(cmd)}` did not answer in {timeout:g} s")
    if out.returncode != 0:
        err = " ".join(out.stderr.split())[:200]
        return Check("scheduler", "fail", f"`{' '.join(cmd)}` failed: {err}")
    first = out.stdout.strip().splitlines()[:1]
    return Check("scheduler", "ok", f"{scheduler} answers ({first[0] if first else 'no queues'})")


def check_launchpad_permissions(path: str | Path) -> Check:
    """Warn when a file holding credentials can be read by other users.

    Parameters
    ----------
    path : str or Path
        ``my_launchpad.yaml`` (or ``jobflow.yaml``, which holds the same credentials).

    Returns
    -------
    Check
        ``warn`` if group or others may read or write it (remedy: ``chmod 600``), ``ok``
        otherwise, ``warn`` if it is missing.
    """
    path = Path(path).expanduser()
    name = f"permissions:{path.name}"
    try:
        mode = path.stat().st_mode
    except OSError:
        return Check(name, "warn", f"{path} not found")
    loose = mode & (stat.S_IRWXG | stat.S_IRWXO)
    if loose:
        who = " and ".join(
            w for w, bits in (("group", stat.S_IRWXG), ("others", stat.S_IRWXO)) if mode & bits
        )
        return Check(
            name,
            "warn",
            f"{path} (mode {stat.S_IMODE(mode):o}) is accessible to {who} and may hold "
            f"database credentials; run `chmod 600 {path}`",
        )
    return Check(name, "ok", f"{path} is private (mode {stat.S_IMODE(mode):o})")


def check_database(launchpad_file: str | Path | None, timeout: float = 5.0) -> Check:
    """Whether the LaunchPad's MongoDB answers a ping within ``timeout`` seconds.

    With ``launchpad_file`` None this describes the embedded store instead (nothing to reach;
    queue jobs must run offline).
    """
    if launchpad_file is None:
        from workflows.settings import WorkflowSettings

        path = WorkflowSettings().store_path
        return Check(
            "database",
            "ok",
            f"embedded LaunchPad ({path}): single process, queue jobs run offline; set "
            "TAVBO_LAUNCHPAD_FILE for a MongoDB LaunchPad",
        )
    from workflows.launchpad.config import load_launchpad_config

    config = load_launchpad_config(launchpad_file)
    kwargs = config.launchpad_kwargs()
    client_kwargs = dict(kwargs.get("mongoclient_kwargs") or {})
    client_kwargs["serverSelectionTimeoutMS"] = int(timeout * 1000)
    client_kwargs.setdefault("connectTimeoutMS", int(timeout * 1000))
    import pymongo

    try:
        if config.uri_mode:
            client = pymongo.MongoClient(config.host, **client_kwargs)
        else:
            client = pymongo.MongoClient(
                config.host,
                config.port or 27017,
                username=kwargs.get("username"),
                password=kwargs.get("password"),
                authSource=kwargs.get("authsource") or config.name,
                **client_kwargs,
            )
        try:
            client[config.name or "admin"].command("ping")
        finally:
            client.close()
    except Exception as exc:
        text = " ".join(str(exc).split())
        for secret in config.secrets():
            text = text.replace(secret, "***")
        text = mask_uri(text)[:200]
        return Check(
            "database",
            "fail",
            f"MongoDB at {config.where()} not reachable in {timeout:g} s ({type(exc).__name__}: "
            f"{text}); check host, credentials, TLS options and the firewall",
        )
    return Check("database", "ok", f"MongoDB at {config.where()} answers (database {config.name})")


def _space_elements(space: str | Path | None) -> list[str]:
    from workflows.space.compositions import MOLECULAR_ANIONS, load_space

    elements: set[str] = {"O"}
    for cand in load_space(space):
        for species in cand.sites.values():
            elements.update(MOLECULAR_ANIONS.get(species, (species,)))
    return sorted(elements)


def check_potcars_present(
    elements: Iterable[str] | None = None,
    *,
    potcar_dir: str | Path | None = None,
    space: str | Path | None = None,
) -> Check:
    """Whether every POTCAR the VASP engine needs is present (for the whole space by default).

    Parameters
    ----------
    elements : iterable of str, optional
        Elements to check; default every element of the composition space ``space``.
    potcar_dir : str or Path, optional
        Check this directory instead of ``PMG_VASP_PSP_DIR``.
    space : str or Path, optional
        Composition-space file (default: the packaged space).
    """
    from pymatgen.core import SETTINGS

    from workflows.engines.vasp.potcars import check_potcars
    from workflows.errors import SubmissionError

    elements = sorted(elements) if elements is not None else _space_elements(space)
    previous = SETTINGS.get("PMG_VASP_PSP_DIR")
    if potcar_dir is not None:
        SETTINGS["PMG_VASP_PSP_DIR"] = str(potcar_dir)
    try:
        found = check_potcars(elements)
    except SubmissionError as exc:
        return Check("potcars", "fail", f"{exc} (needed by the vasp engine only)")
    finally:
        if potcar_dir is not None:
            if previous is None:
                SETTINGS.pop("PMG_VASP_PSP_DIR", None)
            else:
                SETTINGS["PMG_VASP_PSP_DIR"] = previous
    return Check("potcars", "ok", f"{len(found)} POTCARs found for {len(elements)} elements")


def check_rocket_launcher(rocket_launch: str) -> Check:
    """Whether the program of the ``rocket_launch`` line is found (on this node)."""
    argv = shlex.split(rocket_launch)
    program = argv[0] if argv else ""
    if not program or shutil.which(program) is None:
        return Check(
            "rocket-launcher",
            "fail",
            f"{program!r} not found: install tavbo in the jobs' environment, or use "
            f"`{sys.executable} -m workflows.hpc.rocket` in rocket_launch",
        )
    if "singleshot" not in argv:
        return Check(
            "rocket-launcher", "fail", "rocket_launch must use `singleshot` (reservation mode)"
        )
    mode = "offline" if "--offline" in argv else "online (compute nodes need the database)"
    return Check("rocket-launcher", "ok", f"{program} found; jobs run {mode}")


def _vasp_check(vasp_cmd: str) -> Check:
    argv = shlex.split(vasp_cmd)
    exe = next((a for a in argv if "vasp" in Path(a).name), argv[-1] if argv else "")
    if exe and shutil.which(exe):
        return Check("vasp-command", "ok", f"{exe} found ({vasp_cmd})")
    return Check(
        "vasp-command",
        "warn",
        f"{exe!r} not on PATH here; fine if pre_rocket loads it on compute nodes ({vasp_cmd})",
    )


def run_checks(
    scheduler: Scheduler,
    directory: str | Path,
    *,
    timeout: float = 5.0,
    vasp: bool = True,
    space: str | Path | None = None,
    engines: Sequence[str] | None = None,
) -> list[Check]:
    """Check a configuration directory written by :func:`write_config`.

    Parameters
    ----------
    scheduler : {"slurm", "pbs"}
    directory : str or Path
        The configuration directory.
    timeout : float, default=5.0
        Seconds allowed for the database and the scheduler to answer.
    vasp : bool, default=True
        Check POTCARs and the VASP command (skip for force-field/BVSE-only campaigns).
    space : str or Path, optional
        Composition space whose elements need POTCARs (default: the packaged one).
    engines : sequence of str, optional
        Engines the campaigns use: ``resources.yaml`` is checked against the cluster for their
        job categories (default: every category when ``vasp``, else ``screening``).

    Returns
    -------
    list of Check
        In a fixed order; a ``fail`` means jobs cannot run as configured.
    """
    import yaml

    directory = Path(directory).expanduser().resolve()
    checks = [check_queue_commands(scheduler), check_scheduler(scheduler, timeout=2 * timeout)]
    lp_file = directory / "my_launchpad.yaml"
    env_lp = os.environ.get("TAVBO_LAUNCHPAD_FILE")
    launchpad_file = lp_file if lp_file.exists() else (Path(env_lp) if env_lp else None)
    try:
        checks.append(check_database(launchpad_file, timeout=timeout))
    except ConfigError as exc:
        checks.append(Check("database", "fail", str(exc)))
    checks += [
        check_launchpad_permissions(directory / name)
        for name in _SECRET_FILES
        if (directory / name).exists()
    ]
    if launchpad_file is not None and launchpad_file != lp_file:
        checks.append(check_launchpad_permissions(launchpad_file))
    qa_path = directory / "my_qadapter.yaml"
    try:
        qa = yaml.safe_load(qa_path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        checks.append(Check("queue-adapter", "fail", f"cannot read {qa_path}: {exc}"))
        qa = {}
    if qa:
        rocket_launch = str(qa.get("rocket_launch", ""))
        checks.append(check_rocket_launcher(rocket_launch))
        if launchpad_file is None and "--offline" not in rocket_launch:
            checks.append(
                Check(
                    "offline-mode",
                    "fail",
                    "the embedded LaunchPad needs offline jobs: add --offline to rocket_launch",
                )
            )
    checks.append(
        check_resources_fit(
            scheduler,
            directory,
            categories_for(engines or (("vasp",) if vasp else ())),
            default_queue=qa.get("queue") if qa else None,
        )
    )
    if vasp:
        checks.append(check_potcars_present(space=space))
        a2_path = directory / "atomate2.yaml"
        if a2_path.exists():
            a2 = yaml.safe_load(a2_path.read_text()) or {}
            checks.append(_vasp_check(str(a2.get("VASP_CMD", "vasp_std"))))
    else:
        checks.append(Check("potcars", "ok", "skipped: only the vasp engine needs POTCARs"))
    return checks


def check_resources_fit(
    scheduler: Scheduler,
    directory: Path,
    categories: Sequence[str],
    *,
    default_queue: str | None = None,
) -> Check:
    """Whether every request of ``resources.yaml`` the engines use fits a node of the cluster."""
    from workflows.hpc.resources import QueueResources

    path = directory / "resources.yaml"
    try:
        res = QueueResources.from_file(path)
    except ConfigError as exc:
        return Check("resources", "fail", str(exc))
    try:
        info = probe_cluster(scheduler, timeout=10.0)
    except ConfigError as exc:
        return Check("resources", "warn", f"not checked against the cluster: {exc}")
    try:
        check_fits(res, info, categories, default_queue=default_queue)
    except ConfigError as exc:
        return Check("resources", "fail", str(exc))
    return Check("resources", "ok", f"{', '.join(categories)} requests fit the cluster")
