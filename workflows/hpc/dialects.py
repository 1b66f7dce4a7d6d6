"""One job's queue request, and how each scheduler dialect spells it in a job script.

:class:`JobRequest` is what a job needs, independent of the scheduler: nodes, MPI tasks,
threads per task, walltime, queue and memory per node. :func:`queue_keys` turns it into the keys
of the FireWorks queue-adapter template (``spec._queueadapter``) for

* ``slurm``: ``--nodes``, ``--ntasks``, ``--cpus-per-task``, ``--time``, ``--partition``,
  ``--mem`` (per node);
* ``pbs`` / ``pbspro`` (PBS Pro, OpenPBS): ``-l select=N:ncpus=C:mpiprocs=P:ompthreads=T:mem=M``
  (one chunk per node; ``mem`` per chunk, i.e. per node);
* ``pbs`` / ``torque`` (Torque, and Slurm's ``qsub`` wrapper): ``-l nodes=N:ppn=C`` with
  ``-l mem=`` the whole job's memory (nodes x memory per node; Torque's ``pmem`` is per process
  and is never written).

Threads: Slurm jobs export ``OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK`` (the ``pre_rocket`` written
by ``init-config``); PBS jobs get ``omp_threads``, which tavbo's PBS template
(``templates/PBS_template.txt``) exports. Keys a template does not know are refused
(:func:`check_extra_keys`), so nothing is silently dropped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from workflows.errors import ConfigError

__all__ = [
    "PBS_DIALECTS",
    "PBS_KEYS",
    "SLURM_KEYS",
    "JobRequest",
    "PbsDialect",
    "check_extra_keys",
    "memory_mb",
    "queue_keys",
    "walltime_seconds",
]

PbsDialect = Literal["pbspro", "torque"]
PBS_DIALECTS: tuple[PbsDialect, ...] = get_args(PbsDialect)

#: Keys of FireWorks' Slurm template (fireworks/user_objects/queue_adapters/SLURM_template.txt).
SLURM_KEYS = frozenset(
    {
        "nodes",
        "ntasks",
        "ntasks_per_node",
        "ntasks_per_core",
        "core_spec",
        "exclude_nodes",
        "cpus_per_task",
        "gpus_per_task",
        "gpus_per_node",
        "gres",
        "gpus",
        "gpu-bind",
        "qos",
        "walltime",
        "time_min",
        "queue",
        "account",
        "job_name",
        "license",
        "constraint",
        "signal",
        "mem",
        "mem_per_cpu",
        "mail_type",
        "mail_user",
        "image",
        "volume",
        "pre_rocket",
        "rocket_launch",
        "post_rocket",
    }
)
#: Keys of tavbo's PBS template (workflows/hpc/templates/PBS_template.txt).
PBS_KEYS = frozenset(
    {
        "select",
        "place",
        "nnodes",
        "ppnode",
        "walltime",
        "mem",
        "queue",
        "account",
        "job_name",
        "omp_threads",
        "pre_rocket",
        "rocket_launch",
        "post_rocket",
    }
)

_MEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_MB = {"": 1.0, "k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0**2}


def memory_mb(text: str) -> int:
    """``"64G"``, ``"2gb"``, ``"500M"``, ``"1.5T"`` -> megabytes (a bare number is MB, as in Slurm).

    Raises
    ------
    ConfigError
        If ``text`` is not a memory size.
    """
    m = _MEM.match(str(text))
    if not m:
        raise ConfigError(f"invalid mem={text!r}; expected a size such as 64G, 500M or 2gb")
    return max(1, math.ceil(float(m.group(1)) * _MB[m.group(2).lower()]))


def _pbs_mem(mb: int) -> str:
    return f"{mb // 1024}gb" if mb % 1024 == 0 else f"{mb}mb"


def walltime_seconds(text: str) -> int:
    """``HH:MM:SS``, ``D-HH:MM:SS`` or ``MM:SS`` (``sinfo`` time limits) -> seconds."""
    days, _, clock = str(text).rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts[-3:]
    return (int(days) if days else 0) * 86400 + h * 3600 + m * 60 + s


@dataclass(frozen=True)
class JobRequest:
    """What one job asks the scheduler for (before any dialect).

    Attributes
    ----------
    nodes, ntasks : int
        Nodes and MPI tasks (``ntasks`` spread evenly: ``tasks_per_node`` per node).
    cpus_per_task : int or None
        Threads per task; None = the scheduler's default (one).
    walltime : str
        ``HH:MM:SS`` or ``D-HH:MM:SS``.
    queue : str or None
        Partition (Slurm) or queue (PBS); None = the queue adapter's default.
    mem : str or None
        Memory per node (``"64G"``); None = the scheduler's default.
    extra : dict
        Further template keys, copied verbatim.
    """

    nodes: int
    ntasks: int
    cpus_per_task: int | None
    walltime: str
    queue: str | None = None
    mem: str | None = None
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def tasks_per_node(self) -> int:
        """MPI tasks on the busiest node."""
        return math.ceil(self.ntasks / self.nodes)

    @property
    def cores_per_node(self) -> int:
        """Cores the busiest node must have: tasks per node x threads per task."""
        return self.tasks_per_node * (self.cpus_per_task or 1)


def check_extra_keys(scheduler: str, keys: Any, where: str) -> None:
    """Refuse queue-adapter keys the scheduler's template would silently ignore."""
    known = SLURM_KEYS if scheduler == "slurm" else PBS_KEYS
    unknown = sorted(set(keys) - known)
    if unknown:
        raise ConfigError(
            f"{where}: {', '.join(unknown)} not understood by the {scheduler} job script; "
            f"known keys: {', '.join(sorted(known))}"
        )


def queue_keys(
    request: JobRequest, scheduler: str, dialect: PbsDialect = "pbspro"
) -> dict[str, Any]:
    """The queue-adapter keys (``spec._queueadapter``) of ``request`` for one scheduler dialect.

    PBS keys of the other dialect are set to None, so that the defaults of ``my_qadapter.yaml``
    never add a second resource line. None values are left out of the job script by FireWorks.
    """
    cpt = request.cpus_per_task
    if scheduler == "slurm":
        qa: dict[str, Any] = {
            "nodes": request.nodes,
            "ntasks": request.ntasks,
            "cpus_per_task": cpt,
            "walltime": request.walltime,
            "queue": request.queue,
            "mem": request.mem,
        }
    elif dialect == "torque":
        qa = {
            "select": None,
            "nnodes": request.nodes,
            "ppnode": request.cores_per_node,
            "mem": _pbs_mem(memory_mb(request.mem) * request.nodes) if request.mem else None,
            "walltime": request.walltime,
            "queue": request.queue,
            "omp_threads": cpt or 1,
        }
    elif dialect == "pbspro":
        chunk = (
            f"{request.nodes}:ncpus={request.cores_per_node}:mpiprocs={request.tasks_per_node}"
            f":ompthreads={cpt or 1}"
        )
        if request.mem:
            chunk += f":mem={_pbs_mem(memory_mb(request.mem))}"
        qa = {
            "select": chunk,
            "nnodes": None,
            "ppnode": None,
            "mem": None,
            "walltime": request.walltime,
            "queue": request.queue,
            "omp_threads": cpt or 1,
        }
    else:
        raise ConfigError(f"invalid dialect={dialect!r}; expected one of {list(PBS_DIALECTS)}")
    qa.update(dict(request.extra))
    out = {k: v for k, v in qa.items() if v is not None}
    if scheduler == "pbs":  # explicit None overrides the adapter's defaults of the other dialect
        out.update({k: None for k in ("select", "nnodes", "ppnode", "mem") if qa.get(k) is None})
    return out
