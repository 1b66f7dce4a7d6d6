"""What the scheduler says about this user's queue jobs: state, and why a pending job waits.

:func:`list_jobs` reads Slurm ``squeue -h -u USER -o '%i|%T|%r'`` or PBS ``qstat -f``
(``job_state`` and ``comment``). :func:`never_clears` tells a reason that will not go away by
itself (the request cannot run as asked: Slurm ``PartitionConfig``, ``ReqNodeNotAvail``,
``BadConstraints``, a per-job association or QOS limit, ...; PBS "can never run") from one that
will (``Priority``, ``Resources``: the job waits its turn). Job ids are normalised to their number
(``1234.server`` -> ``1234``), as FireWorks records them.
"""

from __future__ import annotations

import getpass
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass

__all__ = ["QueueJob", "cancel_job", "list_jobs", "never_clears", "parse_qstat_full"]

logger = logging.getLogger(__name__)

#: Slurm pending reasons that never clear by themselves (the request must change).
SLURM_NEVER_CLEARS = frozenset(
    {
        "PartitionConfig",
        "PartitionNodeLimit",
        "PartitionTimeLimit",
        "ReqNodeNotAvail",
        "BadConstraints",
        "InvalidAccount",
        "InvalidQOS",
        "DependencyNeverSatisfied",
    }
)
#: Per-job association/QOS limits (``AssocMaxCpuPerJobLimit``, ``QOSMaxWallDurationPerJobLimit``).
_PER_JOB_LIMIT = re.compile(r"^(Assoc|QOS)Max\w*PerJob\w*Limit$")
_PBS_NEVER = re.compile(r"can never run|would never run|never be able to run", re.IGNORECASE)
_PBS_DONE = {"C", "F", "X"}  # completed, finished, expired subjob


@dataclass(frozen=True)
class QueueJob:
    """One queue job as the scheduler lists it.

    Attributes
    ----------
    job_id : str
        The number of the job id.
    pending : bool
        Waiting to start (Slurm PENDING, PBS Q/H/W).
    reason : str or None
        Why it waits (Slurm reason, PBS comment), if the scheduler says.
    """

    job_id: str
    pending: bool
    reason: str | None = None


def never_clears(job: QueueJob) -> str | None:
    """The reason of a pending job that will not clear by itself, or None."""
    if not job.pending or not job.reason:
        return None
    reason = job.reason.strip()
    head = reason.split(",")[0].strip("() ")
    if head in SLURM_NEVER_CLEARS or _PER_JOB_LIMIT.match(head):
        return reason
    if _PBS_NEVER.search(reason):
        return reason
    return None


def _job_number(text: str) -> str:
    m = re.match(r"\d+", text.strip())
    return m.group() if m else text.strip()


def parse_squeue(text: str) -> dict[str, QueueJob]:
    """Jobs from ``squeue -h -o '%i|%T|%r'``."""
    jobs = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 3:
            continue
        job_id = _job_number(parts[0])
        reason = parts[2].strip()
        jobs[job_id] = QueueJob(
            job_id, parts[1].strip() == "PENDING", None if reason in ("None", "") else reason
        )
    return jobs


def parse_qstat_full(text: str, user: str | None = None) -> dict[str, QueueJob]:
    """Jobs from ``qstat -f`` (PBS Pro, Torque or Slurm's wrapper), finished ones left out."""
    jobs = {}
    for block in re.split(r"(?m)^(?=Job Id:)", text):
        head = re.match(r"Job Id:\s*(\S+)", block)
        if not head:
            continue
        fields = dict(re.findall(r"(?m)^\s+([\w.]+)\s*=\s*(.*(?:\n\t\s+.*)*)", block))
        owner = fields.get("Job_Owner", "")
        if user and owner and owner.split("@")[0] != user:
            continue
        state = fields.get("job_state", "").strip()
        if state in _PBS_DONE:
            continue
        comment = " ".join(fields.get("comment", "").split()) or None
        job_id = _job_number(head.group(1))
        jobs[job_id] = QueueJob(job_id, state in ("Q", "H", "W"), comment)
    return jobs


def list_jobs(q_type: str, timeout: float = 60.0) -> dict[str, QueueJob] | None:
    """This user's jobs still in the queue (pending or running), by job id; None if unknown.

    ``q_type`` is the queue adapter's (``SLURM`` or ``PBS``). None means the scheduler could not
    be asked: nothing may then be concluded from a job's absence.
    """
    user = getpass.getuser()
    q_type = q_type.upper()
    if q_type == "SLURM":
        cmd = ["squeue", "-h", "-u", user, "-o", "%i|%T|%r"]
    elif q_type == "PBS":
        cmd = ["qstat", "-f"]
    else:
        return None
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("%s failed (%s); cannot tell which queue jobs wait or vanished", cmd[0], exc)
        return None
    if q_type == "SLURM":
        return parse_squeue(out.stdout)
    return parse_qstat_full(out.stdout, user)


def cancel_job(q_type: str, job_id: str) -> bool:
    """``scancel``/``qdel`` one job; False (logged) if the scheduler refused."""
    cmd = ["scancel" if q_type.upper() == "SLURM" else "qdel", str(job_id)]
    try:
        subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("`%s` failed: %s", " ".join(cmd), exc)
        return False
    return True
