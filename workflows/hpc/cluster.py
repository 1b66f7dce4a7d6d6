"""What the cluster offers, requests that fit it, and refusing requests no node can satisfy.

:func:`probe_cluster` asks the scheduler once: Slurm ``sinfo`` (partitions, their nodes with
cores and memory, time limits); PBS ``pbsnodes -a`` (cores ``resources_available.ncpus`` /
``np``, memory) and ``qstat -Q`` (queues). :func:`fit_resources` turns that into the
``resources.yaml`` that ``tavbo init-config`` writes (cores per node, tasks capped by the
largest node, walltimes capped by the partition), and :func:`check_fits` refuses, before any
submission, a request no node of its partition can satisfy, in one line naming the field.

Examples
--------
>>> info = ClusterInfo("slurm", (Partition("debug", True, ((1, 2, 22899),), None),))
>>> fit_resources(info).screening.cpus_per_task
1
>>> check_fits(QueueResources(), info, ["relax"])
Traceback (most recent call last):
...
workflows.errors.ConfigError: resources.yaml: relax.ntasks=64 needs 64 cores on one node, but \
the largest node of partition debug has 2 (ntasks <= 2, or more nodes: set cores_per_node: 2)
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, replace

from workflows.errors import ConfigError
from workflows.hpc.dialects import PbsDialect, memory_mb, walltime_seconds
from workflows.hpc.resources import CATEGORIES, JobResources, QueueResources, Scheduler

__all__ = [
    "ClusterInfo",
    "Partition",
    "categories_for",
    "check_fits",
    "fit_resources",
    "probe_cluster",
]

#: (node count, cores per node, memory per node in MB or None)
NodeGroup = tuple[int, int, int | None]


@dataclass(frozen=True)
class Partition:
    """A Slurm partition or PBS queue and the nodes it can use.

    Attributes
    ----------
    name : str
    default : bool
        The queue jobs without ``queue`` go to.
    groups : tuple of (count, cores, mem_mb)
        Its nodes, grouped by size.
    max_walltime : int or None
        Longest walltime in seconds (None: unlimited or unknown).
    """

    name: str
    default: bool
    groups: tuple[NodeGroup, ...]
    max_walltime: int | None

    @property
    def max_cores(self) -> int:
        """Cores of its largest node."""
        return max(g[1] for g in self.groups)

    @property
    def nodes(self) -> int:
        """Number of nodes."""
        return sum(g[0] for g in self.groups)


@dataclass(frozen=True)
class ClusterInfo:
    """Partitions (queues) of a cluster, as the scheduler reports them."""

    scheduler: Scheduler
    partitions: tuple[Partition, ...]
    dialect: PbsDialect | None = None  # PBS only: "pbspro" or "torque" when recognised

    def partition(self, name: str | None) -> Partition:
        """The partition ``name`` (None: the default one); ConfigError naming ``queue``."""
        if name is None:
            for p in self.partitions:
                if p.default:
                    return p
            if len(self.partitions) == 1:
                return self.partitions[0]
            raise ConfigError(
                "no default queue on this cluster: set queue in resources.yaml or --queue "
                f"(one of {', '.join(p.name for p in self.partitions)})"
            )
        for p in self.partitions:
            if p.name == name:
                return p
        raise ConfigError(
            f"queue={name!r} does not exist on this cluster; queues: "
            f"{', '.join(p.name for p in self.partitions) or 'none'}"
        )


def _run(cmd: list[str], timeout: float) -> str:
    if shutil.which(cmd[0]) is None:
        raise ConfigError(f"`{cmd[0]}` not found: run on a login node of the cluster")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"`{' '.join(cmd)}` did not answer in {timeout:g} s") from None
    if out.returncode != 0:
        raise ConfigError(f"`{' '.join(cmd)}` failed: {' '.join(out.stderr.split())[:200]}")
    return out.stdout


def _number(text: str) -> int | None:
    m = re.match(r"\d+", text.strip())
    return int(m.group()) if m else None


def _limit(text: str) -> int | None:
    text = text.strip()
    if not text or text.lower() in ("infinite", "unlimited", "n/a", "none"):
        return None
    try:
        return walltime_seconds(text)
    except ValueError:
        return None


def parse_sinfo(text: str) -> tuple[Partition, ...]:
    """Partitions from ``sinfo -h -o '%P|%a|%D|%c|%m|%l'`` (one line per node size)."""
    found: dict[str, Partition] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 6 or parts[1].strip() != "up":
            continue
        name, _, count, cores, mem, limit = (p.strip() for p in parts)
        default = name.endswith("*")
        name = name.rstrip("*")
        group = (_number(count) or 0, _number(cores) or 1, _number(mem))
        old = found.get(name)
        groups = (*old.groups, group) if old else (group,)
        found[name] = Partition(name, default or bool(old and old.default), groups, _limit(limit))
    return tuple(found.values())


def parse_pbsnodes(text: str) -> tuple[NodeGroup, ...]:
    """Node sizes from ``pbsnodes -a`` (PBS Pro ``resources_available.*``, Torque ``np``)."""
    sizes: dict[tuple[int, int | None], int] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        cores = re.search(r"resources_available\.ncpus\s*=\s*(\d+)|\bnp\s*=\s*(\d+)", block)
        if not cores:
            continue
        mem = re.search(r"resources_available\.mem\s*=\s*(\w+)|[,\s](?:phys|avail)mem=(\w+)", block)
        mem_mb = None
        if mem:
            try:
                mem_mb = memory_mb(mem.group(1) or mem.group(2))
            except ConfigError:
                mem_mb = None
        key = (int(cores.group(1) or cores.group(2)), mem_mb)
        sizes[key] = sizes.get(key, 0) + 1
    return tuple((n, c, m) for (c, m), n in sizes.items())


def parse_qstat_queues(text: str) -> list[str]:
    """Queue names from ``qstat -Q`` (the lines after the dashed header)."""
    names, body = [], False
    for line in text.splitlines():
        if line.startswith("---"):
            body = True
        elif body and line.strip():
            names.append(line.split()[0])
    return names


def probe_cluster(scheduler: Scheduler, timeout: float = 10.0) -> ClusterInfo:
    """Ask the scheduler for its partitions/queues and node sizes.

    Raises
    ------
    ConfigError
        If the scheduler's commands are missing, fail or report no usable node.
    """
    if scheduler == "slurm":
        parts = parse_sinfo(_run(["sinfo", "-h", "-o", "%P|%a|%D|%c|%m|%l"], timeout))
        info = ClusterInfo("slurm", parts)
    else:
        groups = parse_pbsnodes(_run(["pbsnodes", "-a"], timeout))
        queues = parse_qstat_queues(_run(["qstat", "-Q"], timeout))
        if groups:
            parts = tuple(Partition(q, i == 0, groups, None) for i, q in enumerate(queues))
        else:
            parts = ()
        info = ClusterInfo("pbs", parts, dialect=_pbs_dialect(timeout))
    if not info.partitions:
        raise ConfigError(f"the {scheduler} scheduler reports no partition with usable nodes")
    return info


def _pbs_dialect(timeout: float) -> PbsDialect | None:
    """``pbspro`` when ``qstat --version`` names PBS Pro/OpenPBS, ``torque`` for Torque."""
    try:
        out = subprocess.run(
            ["qstat", "--version"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout + out.stderr).lower()
    if "pbs_version" in text:
        return "pbspro"
    if re.search(r"version:\s*\d", text):
        return "torque"
    return None


def fit_resources(info: ClusterInfo, queue: str | None = None) -> QueueResources:
    """The default requests of :class:`QueueResources`, cut to fit ``queue`` (default partition).

    Cores per node is the partition's largest node; relax jobs take up to 64 tasks and NEBs up
    to 128 on as many nodes as the partition has (at least one task per image); screening jobs
    one task with up to 4 threads and at most half a node (two run side by side on small
    nodes); walltimes are capped by the partition's limit.
    """
    part = info.partition(queue)
    cores = part.max_cores
    base = QueueResources(scheduler=info.scheduler)
    if info.scheduler == "pbs":
        base = replace(base, dialect=info.dialect or "pbspro")
    total = cores * part.nodes

    def cap(res: JobResources, ntasks: int, cpt: int | None = None) -> JobResources:
        walltime = res.walltime
        if part.max_walltime is not None and walltime_seconds(walltime) > part.max_walltime:
            s = part.max_walltime
            walltime = f"{s // 86400}-{s % 86400 // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
        return replace(res, ntasks=ntasks, cpus_per_task=cpt, walltime=walltime, nodes=1)

    return replace(
        base,
        cores_per_node=cores,
        relax=cap(base.relax, min(base.relax.ntasks, cores)),
        neb=cap(base.neb, max(base.n_images, min(base.neb.ntasks, total))),
        screening=cap(
            base.screening, 1, max(1, min(base.screening.cpus_per_task or 1, cores // 2))
        ),
    )


def categories_for(engines: Iterable[str]) -> tuple[str, ...]:
    """Job categories the engines' workflows use: all three for VASP, else ``screening``."""
    return CATEGORIES if "vasp" in set(engines) else ("screening",)


def check_fits(
    resources: QueueResources,
    info: ClusterInfo,
    categories: Iterable[str] = CATEGORIES,
    *,
    default_queue: str | None = None,
) -> None:
    """Raise ConfigError (one line naming the field) if a request fits no node of its partition.

    Parameters
    ----------
    resources : QueueResources
        The requests (``resources.yaml``).
    info : ClusterInfo
        From :func:`probe_cluster`.
    categories : iterable of str
        The categories the campaign's engine uses (all three for VASP, ``screening`` otherwise).
    default_queue : str, optional
        The queue adapter's ``queue``, for requests without their own.
    """
    for cat in categories:
        req = resources.request(cat)  # type: ignore[arg-type]
        res = getattr(resources, cat)
        try:
            part = info.partition(req.queue or default_queue)
        except ConfigError as exc:
            raise ConfigError(f"resources.yaml: {cat}.queue: {exc}") from None
        cpt = req.cpus_per_task or 1
        where = f"partition {part.name}"
        if cpt > part.max_cores:
            raise ConfigError(
                f"resources.yaml: {cat}.cpus_per_task={cpt} but the largest node of {where} "
                f"has {part.max_cores} cores"
            )
        if req.cores_per_node > part.max_cores:
            raise ConfigError(
                f"resources.yaml: {cat}.ntasks={res.ntasks} needs {req.cores_per_node} cores on "
                f"one node, but the largest node of {where} has {part.max_cores} (ntasks <= "
                f"{part.max_cores}, or more nodes: set cores_per_node: {part.max_cores})"
            )
        need_mb = memory_mb(req.mem) if req.mem else None
        fitting = [
            g
            for g in part.groups
            if g[1] >= req.cores_per_node and (need_mb is None or g[2] is None or g[2] >= need_mb)
        ]
        if need_mb is not None and not fitting:
            biggest = max((g[2] or 0) for g in part.groups)
            raise ConfigError(
                f"resources.yaml: {cat}.mem={req.mem} but the nodes of {where} have at most "
                f"{biggest} MB"
            )
        if req.nodes > sum(g[0] for g in fitting):
            raise ConfigError(
                f"resources.yaml: {cat}.nodes: the request needs {req.nodes} nodes, {where} has "
                f"{sum(g[0] for g in fitting)} that fit it"
            )
        limit = part.max_walltime
        if limit is not None and walltime_seconds(req.walltime) > limit:
            raise ConfigError(
                f"resources.yaml: {cat}.walltime={req.walltime} exceeds the {where} limit of "
                f"{math.floor(limit / 3600)} h {limit % 3600 // 60} min"
            )
