"""Per-job queue resources: which jobs need many cores, and how many.

An evaluation flow mixes cheap jobs (BVSE, table look-ups, force-field relaxations, collecting
results) with expensive ones (VASP relaxations and NEBs). tavbo gives every job of a jobflow
``Flow`` (:func:`workflows.hpc.job_requests.apply_resources`) each job a category (``relax``,
``neb`` or ``screening``) and the matching queue request, through ``job.config.manager_config``:

* ``_category`` selects which FireWorker runs the job (``my_fworker_<category>.yaml``);
* ``_queueadapter`` overrides the queue adapter for the job's own queue script (FireWorks applies it
  in reservation mode, ``qlaunch -r``, which :func:`workflows.hpc.offline.qlaunch` uses).

A VASP NEB runs its images in parallel, so the number of MPI tasks must be a multiple of the number
of intermediate images (VASP's ``IMAGES``): the image count is read from the job (its ``images``
argument, or the ``num_images`` of the job interpolating them), else ``QueueResources.n_images``.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from workflows.errors import ConfigError
from workflows.hpc.dialects import (
    PBS_DIALECTS,
    JobRequest,
    PbsDialect,
    check_extra_keys,
    memory_mb,
    queue_keys,
)

if TYPE_CHECKING:
    from jobflow import Job

__all__ = [
    "CATEGORIES",
    "DEFAULT_RULES",
    "SCHEDULERS",
    "Category",
    "JobResources",
    "QueueResources",
    "Scheduler",
]

logger = logging.getLogger(__name__)

Category = Literal["relax", "neb", "screening"]
CATEGORIES: tuple[Category, ...] = get_args(Category)
Scheduler = Literal["slurm", "pbs"]
SCHEDULERS: tuple[Scheduler, ...] = get_args(Scheduler)

#: (category, substrings) in priority order: the first rule with a substring in the job's name
#: (or, for jobs known before submission, its Maker's class name) wins; otherwise ``screening``.
#: Substrings are case-sensitive, as jobflow's ``name_filter`` that applies them to jobs created
#: at run time. Force-field jobs come first: "Forcefield NEB" is cheap, unlike a VASP "NEB".
DEFAULT_RULES: tuple[tuple[Category, tuple[str, ...]], ...] = (
    (
        "screening",
        (
            *("Forcefield", "Force field", "ForceField", "CHGNet", "chgnet", "BVSE", "bvse"),
            *("table", "images"),  # "neb images": the interpolation, not the NEB
        ),
    ),
    ("neb", ("NEB", "Neb", "neb")),
    ("relax", ("relax", "Relax", "static", "Static")),
)

_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}:\d{2}$")
_IMAGE_KWARGS = ("num_images", "n_images", "nimages")


@dataclass
class JobResources:
    """Queue request of one job category.

    Parameters
    ----------
    nodes : int, default=1
        Nodes per job (at least ``ceil(ntasks / QueueResources.cores_per_node)`` is used).
    ntasks : int, default=1
        MPI tasks. For NEB jobs a target: rounded down to a multiple of the image count.
    cpus_per_task : int, optional
        Threads per task (Slurm ``--cpus-per-task``); None leaves the scheduler default.
    walltime : str, default="01:00:00"
        ``HH:MM:SS`` or ``D-HH:MM:SS``.
    queue : str, optional
        Partition (Slurm) or queue (PBS); None uses the queue adapter's default.
    mem : str, optional
        Memory per node, e.g. ``"64G"`` (Slurm ``--mem``; PBS Pro ``mem`` of each ``select``
        chunk; Torque ``mem`` of the whole job, nodes x this).
    extra : dict, default={}
        Further queue-adapter keys, copied verbatim (e.g. ``{"qos": "high"}``,
        ``{"pre_rocket": "module load vasp/6.4"}``).
    """

    nodes: int = 1
    ntasks: int = 1
    cpus_per_task: int | None = None
    walltime: str = "01:00:00"
    queue: str | None = None
    mem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check values; raise ConfigError naming the bad one."""
        for name in ("nodes", "ntasks"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"invalid {name}={value!r}; expected a positive integer")
        if self.cpus_per_task is not None and self.cpus_per_task < 1:
            raise ConfigError(f"invalid cpus_per_task={self.cpus_per_task!r}; expected >= 1")
        if not _WALLTIME.match(str(self.walltime)):
            raise ConfigError(
                f"invalid walltime={self.walltime!r}; expected HH:MM:SS or D-HH:MM:SS"
            )
        if self.mem is not None:
            memory_mb(self.mem)  # raises naming mem


def _default_relax() -> JobResources:
    return JobResources(nodes=1, ntasks=64, walltime="12:00:00")


def _default_neb() -> JobResources:
    return JobResources(nodes=1, ntasks=128, walltime="24:00:00")


def _default_screening() -> JobResources:
    return JobResources(nodes=1, ntasks=1, cpus_per_task=4, walltime="01:00:00")


@dataclass
class QueueResources:
    """Queue requests per job category, and how jobs are sorted into categories.

    Parameters
    ----------
    scheduler : {"slurm", "pbs"}, default="slurm"
        Decides the queue-adapter keys written (:mod:`workflows.hpc.dialects`).
    dialect : {"pbspro", "torque"}, optional
        PBS only: PBS Pro/OpenPBS ``select=`` chunks (the default), or Torque
        ``nodes=N:ppn=P``.
    cores_per_node : int, default=128
        Cores of one compute node; sets the minimum node count of large jobs.
    relax, neb, screening : JobResources
        Requests per category. Defaults: relax 64 tasks for 12 h; NEB 128 tasks for 24 h;
        screening 1 task with 4 threads for 1 h.
    tasks_per_image : int, optional
        If set, NEB jobs get exactly ``tasks_per_image * n_images`` tasks (``neb.ntasks`` is
        then ignored).
    n_images : int, default=5
        Intermediate NEB images assumed when a job's images are only known at run time.
    rules : tuple of (category, tuple of str), default=DEFAULT_RULES
        Name substrings that select a category, in priority order.
    """

    scheduler: Scheduler = "slurm"
    dialect: PbsDialect | None = None
    cores_per_node: int = 128
    relax: JobResources = field(default_factory=_default_relax)
    neb: JobResources = field(default_factory=_default_neb)
    screening: JobResources = field(default_factory=_default_screening)
    tasks_per_image: int | None = None
    n_images: int = 5
    rules: tuple[tuple[Category, tuple[str, ...]], ...] = DEFAULT_RULES

    def __post_init__(self) -> None:
        """Check values; coerce nested dicts (from YAML) to JobResources."""
        if self.scheduler not in SCHEDULERS:
            raise ConfigError(
                f"invalid scheduler={self.scheduler!r}; valid options are {list(SCHEDULERS)}"
            )
        if self.dialect is not None and self.dialect not in PBS_DIALECTS:
            raise ConfigError(
                f"invalid dialect={self.dialect!r}; valid options are {list(PBS_DIALECTS)}"
            )
        for cat in CATEGORIES:
            value = getattr(self, cat)
            if isinstance(value, dict):
                setattr(self, cat, _job_resources(value, cat))
            check_extra_keys(self.scheduler, getattr(self, cat).extra, f"{cat}.extra")
        for name in ("cores_per_node", "n_images"):
            if getattr(self, name) < 1:
                raise ConfigError(f"invalid {name}={getattr(self, name)!r}; expected >= 1")
        if self.tasks_per_image is not None and self.tasks_per_image < 1:
            raise ConfigError(f"invalid tasks_per_image={self.tasks_per_image!r}; expected >= 1")
        self.rules = tuple((cat, tuple(subs)) for cat, subs in self.rules)
        for cat, _ in self.rules:
            if cat not in CATEGORIES:
                raise ConfigError(f"unknown category {cat!r} in rules; expected {CATEGORIES}")

    # -- (de)serialisation ----------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueueResources:
        """Build from a plain dict (as in ``resources.yaml``); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown resource settings {unknown}; expected some of {sorted(known)}"
            )
        data = dict(data)
        if "rules" in data:
            data["rules"] = tuple((c, tuple(s)) for c, s in data["rules"])
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> QueueResources:
        """Read ``resources.yaml`` (written by ``tavbo init-config``)."""
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read queue resources from {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a mapping of resource settings")
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (YAML-safe): the inverse of :meth:`from_dict`."""
        data = asdict(self)
        if data["dialect"] is None:
            del data["dialect"]
        data["rules"] = [[cat, list(subs)] for cat, subs in self.rules]
        return data

    # -- classification -------------------------------------------------------------------------

    def category_of_name(self, name: str) -> Category:
        """Category selected by ``rules`` for a job or maker name; ``screening`` if none."""
        for cat, substrings in self.rules:
            if any(s in name for s in substrings):
                return cat
        return "screening"

    def category(self, job: Job) -> Category:
        """Category of a job, from its name and (if made by a Maker) the Maker's class name."""
        maker = getattr(getattr(job, "function", None), "__self__", None)
        label = job.name or ""
        if maker is not None:
            label = f"{label} {type(maker).__name__}"
        return self.category_of_name(label)

    # -- queue-adapter keys ---------------------------------------------------------------------

    def neb_tasks(self, n_images: int) -> int:
        """MPI tasks of a NEB job with ``n_images`` intermediate images (a multiple of it)."""
        if n_images < 1:
            raise ConfigError(f"invalid n_images={n_images!r}; expected >= 1")
        if self.tasks_per_image is not None:
            return self.tasks_per_image * n_images
        return max(n_images, self.neb.ntasks // n_images * n_images)

    def request(self, category: Category, n_images: int | None = None) -> JobRequest:
        """What one job of ``category`` asks for (NEB tasks a multiple of ``n_images``).

        Parameters
        ----------
        category : {"relax", "neb", "screening"}
            The job's category.
        n_images : int, optional
            Intermediate images of a NEB job (default ``self.n_images``).
        """
        if category not in CATEGORIES:
            raise ConfigError(f"unknown category {category!r}; expected one of {CATEGORIES}")
        res: JobResources = getattr(self, category)
        ntasks = res.ntasks
        step = 1
        if category == "neb":
            step = n_images or self.n_images
            ntasks = self.neb_tasks(step)
        per_node = self.cores_per_node // (res.cpus_per_task or 1) or 1
        nodes = max(res.nodes, math.ceil(ntasks / per_node))
        if self.scheduler == "pbs":
            # PBS requests tasks per node, and mpirun starts nodes * ppnode tasks: make that a
            # multiple of the image count too.
            step = math.lcm(step, nodes)
            ntasks = max(step, ntasks // step * step)
        return JobRequest(
            nodes=nodes,
            ntasks=ntasks,
            cpus_per_task=res.cpus_per_task,
            walltime=res.walltime,
            queue=res.queue,
            mem=res.mem,
            extra=tuple(res.extra.items()),
        )

    def queueadapter(self, category: Category, n_images: int | None = None) -> dict[str, Any]:
        """Queue-adapter overrides (``spec._queueadapter``) of one job.

        Parameters
        ----------
        category : {"relax", "neb", "screening"}
            The job's category.
        n_images : int, optional
            Intermediate images of a NEB job (default ``self.n_images``).

        Returns
        -------
        dict
            Keys of the scheduler's job-script template (:func:`workflows.hpc.dialects.queue_keys`:
            Slurm ``nodes``, ``ntasks``, ``cpus_per_task``, ``walltime``, ``queue``, ``mem``; PBS
            Pro ``select``; Torque ``nnodes``, ``ppnode``, ``mem``; PBS ``omp_threads``), plus
            ``extra``.
        """
        return queue_keys(
            self.request(category, n_images), self.scheduler, self.dialect or "pbspro"
        )


def _job_resources(data: dict[str, Any], category: str) -> JobResources:
    known = {f.name for f in fields(JobResources)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown keys {unknown} for {category}; expected some of {sorted(known)}"
        )
    return JobResources(**data)
