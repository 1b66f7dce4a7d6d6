"""Write a cluster's FireWorks/jobflow/atomate2 configuration and check that it can work.

``tavbo init-config --scheduler slurm --dir DIR`` calls :func:`init_config`: it fills in the
templates in ``workflows/hpc/templates/`` (queue adapter, one FireWorker per job
category, jobflow store, atomate2 VASP settings, queue resources per category) and writes them into
``DIR``, then runs :func:`run_checks`: queue commands present, scheduler answering, database
reachable (short timeout), private permissions on files holding credentials, POTCARs present,
rocket launcher on ``PATH``. Each :class:`Check` says what is wrong and what to do. The checks
live in :mod:`workflows.hpc.checks`.

Credentials are never printed: URIs are shown with ``***`` in place of user and password.

Examples
--------
>>> import tempfile
>>> d = tempfile.mkdtemp()
>>> written = write_config("pbs", d, account="chem123")
>>> sorted(p.name for p in written)[:3]
['FW_config.yaml', 'atomate2.yaml', 'jobflow.yaml']
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from workflows.errors import ConfigError
from workflows.hpc.checks import Check, run_checks
from workflows.hpc.cluster import ClusterInfo, fit_resources, probe_cluster
from workflows.hpc.dialects import PbsDialect
from workflows.hpc.job_script import job_pre_rocket, rocket_launch_command
from workflows.hpc.resources import CATEGORIES, SCHEDULERS, QueueResources, Scheduler
from workflows.launchpad.config import job_store_connection

__all__ = ["init_config", "template_dir", "write_config"]

logger = logging.getLogger(__name__)

_VASP_CMD: dict[Scheduler, tuple[str, str]] = {
    "slurm": ("srun vasp_std", "srun vasp_gam"),
    "pbs": ("mpirun vasp_std", "mpirun vasp_gam"),
}


# -- templates --------------------------------------------------------------------------------


def template_dir() -> Path:
    """Directory holding the ``fw_config`` templates.

    ``TAVBO_TEMPLATE_DIR`` if set, else the templates shipped with the package
    (``workflows/hpc/templates``), so a plain ``pip install`` on a login node has them.

    Raises
    ------
    ConfigError
        If no template directory is found.
    """
    candidates = []
    if os.environ.get("TAVBO_TEMPLATE_DIR"):
        candidates.append(Path(os.environ["TAVBO_TEMPLATE_DIR"]))
    here = Path(__file__).resolve().parent
    candidates.append(here / "templates")
    for path in candidates:
        if (path / "my_qadapter_slurm.yaml").is_file():
            return path
    raise ConfigError(
        f"no fw_config templates found (looked in {', '.join(map(str, candidates))}); "
        "set TAVBO_TEMPLATE_DIR to a directory holding my_qadapter_slurm.yaml and the others"
    )


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round trip: keeps the templates' comments
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line (rocket_launch) across lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


def _load_template(name: str) -> Any:
    path = template_dir() / name
    try:
        return _yaml().load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read template {path}: {exc.strerror}") from None


def _dump(data: Any, path: Path, *, private: bool = False) -> Path:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    _write(path, buf.getvalue(), private=private)
    return path


def _write(path: Path, text: str, *, private: bool = False) -> None:
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, mode)  # also when the file existed with wider permissions


def _literal(text: str) -> Any:
    from ruamel.yaml.scalarstring import LiteralScalarString

    return LiteralScalarString(text.rstrip("\n") + "\n")


def _set_store(store: Any, *, connection: dict | None, database: str, collection: str) -> None:
    """Point a jobflow.yaml store at ``database.collection``, connecting like the LaunchPad."""
    store["database"] = database
    store["collection_name"] = collection
    if connection:
        for key in ("host", "port", "username", "password", "auth_source", "uri"):
            store.pop(key, None)
        store.update(connection)


def write_config(
    scheduler: Scheduler,
    directory: str | Path,
    *,
    mongo_uri: str | None = None,
    database: str = "tavbo",
    account: str | None = None,
    queue: str | None = None,
    pre_rocket: Sequence[str] = (),
    vasp_cmd: str | None = None,
    potcar_dir: str | Path | None = None,
    offline: bool = True,
    resources: QueueResources | None = None,
    cluster: ClusterInfo | None = None,
    dialect: PbsDialect | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Fill in the templates for ``scheduler`` and write them into ``directory``.

    Parameters
    ----------
    scheduler : {"slurm", "pbs"}
        Queue system of the cluster.
    directory : str or Path
        Created if missing. Files written: ``my_qadapter.yaml``, ``my_fworker.yaml`` (any
        category), ``my_fworker_{relax,neb,screening}.yaml``, ``jobflow.yaml``, ``atomate2.yaml``,
        ``resources.yaml``, ``FW_config.yaml`` and, with ``mongo_uri``, ``my_launchpad.yaml``.
    mongo_uri : str, optional
        MongoDB URI (may hold credentials: written only to files of mode 600). None means the
        embedded LaunchPad, whose queue jobs must run offline.
    database : str, default="tavbo"
        Database of the LaunchPad and the job store.
    account, queue : str, optional
        Default account and partition/queue of queue jobs.
    pre_rocket : sequence of str, default=()
        Shell lines run first in every job (``module load ...``, environment activation); the
        exports of the config files are added after them.
    vasp_cmd : str, optional
        atomate2's ``VASP_CMD``; default ``srun vasp_std`` (Slurm) or ``mpirun vasp_std`` (PBS).
    potcar_dir : str or Path, optional
        ``PMG_VASP_PSP_DIR`` exported in the jobs (default: the current one, if set).
    offline : bool, default=True
        Jobs run ``--offline`` (no database access from compute nodes). Required without
        ``mongo_uri``.
    resources : QueueResources, optional
        Per-category requests written to ``resources.yaml``; default: fitted to ``cluster``
        (:func:`workflows.hpc.cluster.fit_resources`), else ``QueueResources()``.
    cluster : ClusterInfo, optional
        The cluster as the scheduler reports it (:func:`workflows.hpc.cluster.probe_cluster`).
    dialect : {"pbspro", "torque"}, optional
        PBS job-script dialect (default: recognised from ``cluster``, else ``pbspro``).
    overwrite : bool, default=False
        Replace existing files; otherwise an existing ``DIR`` with any of them is an error.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ConfigError
        Unknown scheduler, online jobs without a database, or existing files without
        ``overwrite``.
    """
    import yaml

    if scheduler not in SCHEDULERS:
        raise ConfigError(f"unknown {scheduler=}; valid options are {list(SCHEDULERS)}")
    if not offline and not mongo_uri:
        raise ConfigError(
            "queue jobs cannot reach the embedded LaunchPad: keep offline mode, or give a "
            "MongoDB URI (--mongo-uri) that compute nodes can reach"
        )
    directory = Path(directory).expanduser().resolve()
    names = [
        "my_qadapter.yaml",
        "my_fworker.yaml",
        *(f"my_fworker_{c}.yaml" for c in CATEGORIES),
        "jobflow.yaml",
        "atomate2.yaml",
        "resources.yaml",
        "FW_config.yaml",
    ]
    if mongo_uri:
        names.append("my_launchpad.yaml")
    existing = [n for n in names if (directory / n).exists()]
    if existing and not overwrite:
        raise ConfigError(
            f"{directory} already holds {', '.join(existing)}; use --force to overwrite, or "
            "choose another --dir"
        )
    directory.mkdir(parents=True, exist_ok=True)
    if potcar_dir is None:
        from pymatgen.core import SETTINGS

        potcar_dir = SETTINGS.get("PMG_VASP_PSP_DIR")
    from workflows.settings import WorkflowSettings

    settings = WorkflowSettings()
    written: list[Path] = []

    # queue adapter
    qa = _load_template(f"my_qadapter_{scheduler}.yaml")
    qa["account"] = account
    qa["queue"] = queue
    qa["pre_rocket"] = _literal(
        job_pre_rocket(scheduler, directory, pre_rocket, str(potcar_dir) if potcar_dir else None)
    )
    qa["rocket_launch"] = rocket_launch_command(directory, offline=offline)
    if scheduler == "pbs":  # tavbo's PBS template (select= and nodes:ppn), copied next to it
        template = directory / "PBS_template.txt"
        _write(template, (template_dir() / "PBS_template.txt").read_text())
        qa["_fw_template_file"] = str(template)
        written.append(template)
    written.append(_dump(qa, directory / "my_qadapter.yaml"))

    # FireWorkers: one per category, plus one without a category for single-queue setups
    for cat in CATEGORIES:
        fw = _load_template(f"my_fworker_{cat}.yaml")
        written.append(_dump(fw, directory / f"my_fworker_{cat}.yaml"))
    _write(
        directory / "my_fworker.yaml",
        "# FireWorker without a category: runs any job (one queue for everything).\n"
        "# rlaunch/qlaunch -c DIR use it by default; pass -w my_fworker_<category>.yaml to\n"
        "# reserve only relax, neb or screening jobs.\n"
        "name: tavbo-any\ncategory: ''   # empty: any category\nquery: '{}'\nenv: {}\n",
    )
    written.append(directory / "my_fworker.yaml")

    # atomate2
    a2 = _load_template("atomate2.yaml")
    std, gam = _VASP_CMD[scheduler]
    a2["VASP_CMD"] = vasp_cmd or std
    a2["VASP_GAMMA_CMD"] = gam if vasp_cmd is None else vasp_cmd.replace("vasp_std", "vasp_gam")
    written.append(_dump(a2, directory / "atomate2.yaml"))

    # per-category resources
    fitted = ""
    if resources is not None:
        res = resources
    elif cluster is not None:
        res = fit_resources(cluster, queue)
        part = cluster.partition(queue)
        mem = max((g[2] or 0) for g in part.groups)
        fitted = (
            f"# Fitted to {scheduler} partition/queue {part.name} as the scheduler reports it: "
            f"{part.nodes} node(s), up to {part.max_cores} cores and {mem} MB per node.\n"
        )
    else:
        res = QueueResources(scheduler=scheduler)
    if scheduler == "pbs" and dialect is not None:
        res = replace(res, dialect=dialect)
    if res.scheduler != scheduler:
        raise ConfigError(f"resources are for {res.scheduler!r} but --scheduler is {scheduler!r}")
    header = (
        "# Queue resources per job category (tavbo: workflows.hpc.resources.QueueResources).\n"
        f"{fitted}"
        "# Each job's request reaches its queue script through spec._queueadapter; NEB jobs get\n"
        "# a number of MPI tasks that is a multiple of their image count. After editing, check\n"
        "# with `tavbo init-config --check-only` and fix queued workflows with `tavbo reapply`.\n"
    )
    body = yaml.safe_dump(res.to_dict(), sort_keys=False, default_flow_style=None, width=100)
    _write(directory / "resources.yaml", header + body)
    written.append(directory / "resources.yaml")

    # FireWorks settings: where the other files are (the LaunchPad template's FW_config.yaml)
    if (template_dir() / "FW_config.yaml").is_file():
        fwc = _load_template("FW_config.yaml")
        fwc["CONFIG_FILE_DIR"] = str(directory)  # where my_launchpad.yaml etc. are
        written.append(_dump(fwc, directory / "FW_config.yaml"))
    else:
        text = f"CONFIG_FILE_DIR: {directory}\nPING_TIME_SECS: 3600\n"
        _write(directory / "FW_config.yaml", text)
        written.append(directory / "FW_config.yaml")

    if mongo_uri:
        if (template_dir() / "my_launchpad.yaml").is_file():
            lp = _load_template("my_launchpad.yaml")
            for key in ("port", "username", "password", "authsource"):
                lp.pop(key, None)
        else:
            lp = {"mongoclient_kwargs": {"serverSelectionTimeoutMS": settings.server_timeout_ms}}
        lp["host"] = mongo_uri
        lp["uri_mode"] = True
        lp["name"] = database
        written.append(_dump(lp, directory / "my_launchpad.yaml", private=True))

    # jobflow store: the LaunchPad's database and collections, its file's connection options
    connection = job_store_connection(directory / "my_launchpad.yaml" if mongo_uri else None)
    jf = _load_template("jobflow.yaml")
    docs, data = jf["JOB_STORE"]["docs_store"], jf["JOB_STORE"]["additional_stores"]["data"]
    for store, coll in ((docs, settings.outputs_collection), (data, settings.data_collection)):
        _set_store(store, connection=connection, database=database, collection=coll)
    written.append(_dump(jf, directory / "jobflow.yaml", private=True))
    logger.info("wrote %d files into %s", len(written), directory)
    return written


def init_config(
    scheduler: Scheduler,
    directory: str | Path,
    *,
    check_only: bool = False,
    timeout: float = 5.0,
    engines: Sequence[str] = ("bvse", "chgnet", "table"),
    space: str | Path | None = None,
    **options: Any,
) -> list[Check]:
    """Write the configuration for ``scheduler`` into ``directory`` and check it.

    Unless ``resources`` is given, the cluster is read first (:func:`probe_cluster`: ``sinfo``,
    or ``pbsnodes``/``qstat -Q``) and ``resources.yaml`` is fitted to it; if the scheduler cannot
    be read, tavbo's defaults are written and the ``cluster`` check says so.

    Parameters
    ----------
    scheduler : {"slurm", "pbs"}
        Queue system.
    directory : str or Path
        Configuration directory (created).
    check_only : bool, default=False
        Only run the checks on an existing directory.
    timeout : float, default=5.0
        Seconds allowed for the database to answer.
    engines : sequence of str, default=("bvse", "chgnet", "table")
        Engines the campaigns will use: POTCARs and the VASP command are checked only with
        ``vasp``, and ``resources.yaml`` only for the job categories they use.
    space : str or Path, optional
        Composition space whose elements need POTCARs.
    **options
        Passed to :func:`write_config` (``mongo_uri``, ``database``, ``account``, ``queue``,
        ``pre_rocket``, ``vasp_cmd``, ``potcar_dir``, ``offline``, ``resources``, ``dialect``,
        ``overwrite``).

    Returns
    -------
    list of Check
        See :func:`run_checks`, after a ``cluster`` check (what the scheduler reported).
    """
    if scheduler not in SCHEDULERS:
        raise ConfigError(f"unknown {scheduler=}; valid options are {list(SCHEDULERS)}")
    unknown = sorted(set(engines) - {"vasp", "chgnet", "bvse", "table"})
    if unknown:
        raise ConfigError(f"unknown engine(s) {unknown}; expected vasp, chgnet, bvse or table")
    cluster_check: list[Check] = []
    if not check_only:
        if options.get("resources") is None and "cluster" not in options:
            try:
                options["cluster"] = probe_cluster(scheduler, timeout=2 * timeout)
            except ConfigError as exc:
                cluster_check.append(
                    Check("cluster", "warn", f"{exc}; resources.yaml holds tavbo's defaults")
                )
        if options.get("cluster") is not None:
            info = options["cluster"]
            parts = ", ".join(
                f"{p.name}{'*' if p.default else ''}: {p.nodes} node(s) x {p.max_cores} cores"
                for p in info.partitions
            )
            cluster_check.append(Check("cluster", "ok", f"{scheduler} partitions {parts}"))
        write_config(scheduler, directory, **options)
    elif not Path(directory).expanduser().is_dir():
        raise ConfigError(f"{directory} does not exist; run without --check-only first")
    vasp = "vasp" in engines
    kwargs = {"timeout": timeout, "vasp": vasp, "space": space, "engines": tuple(engines)}
    potcar_dir = options.get("potcar_dir")
    if potcar_dir is not None:
        from pymatgen.core import SETTINGS

        previous = SETTINGS.get("PMG_VASP_PSP_DIR")
        SETTINGS["PMG_VASP_PSP_DIR"] = str(potcar_dir)
        try:
            return cluster_check + run_checks(scheduler, directory, **kwargs)
        finally:
            if previous is None:
                SETTINGS.pop("PMG_VASP_PSP_DIR", None)
            else:
                SETTINGS["PMG_VASP_PSP_DIR"] = previous
    return cluster_check + run_checks(scheduler, directory, **kwargs)
