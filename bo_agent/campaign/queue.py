"""Queue mode of the campaign agent: submit the campaign's Fireworks as batch jobs and collect them.

:class:`QueueDriver` is what ``tavbo agent --qlaunch N`` adds to the
:class:`~bo_agent.campaign.agent.CampaignAgent`. Each agent round calls

* :meth:`QueueDriver.recover` first: copy what finished (or is still running) offline queue jobs
  wrote in their launch directories into the LaunchPad and the job store
  (:func:`workflows.hpc.offline.recover_offline`: states, jobflow outputs, last pings, so that lost
  runs are judged by their real pings), then ingest completed results; jobs that left the queue
  without ever starting are given one more chance, then failed;
* :meth:`QueueDriver.fill` last: reserve READY Fireworks of the campaign and submit one queue
  job each (:func:`workflows.hpc.offline.qlaunch`, reservation mode) until ``max_queued`` of the
  campaign's Fireworks are queued or running.

The agent's own logic (sync, lost runs, decisions) does not change: it sees Fireworks change
state as if a worker ran them. Without a queue adapter the driver only recovers (the agent then
runs beside the user's own ``qlaunch``, or finishes jobs submitted by an earlier agent).

Counting what is in the queue: every RESERVED or RUNNING Firework of the campaign is one queue
job (reservation mode submits one job per Firework), whether this agent, an earlier one or a
user's ``qlaunch -r`` submitted it. On Slurm, a job whose Firework has already finished but
that ``squeue`` still lists (the seconds while the job script exits, or COMPLETING) also holds
its slot, so ``--qlaunch N`` never has more than N of the campaign's jobs in the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflows.errors import SubmissionError

if TYPE_CHECKING:
    from fireworks import FWorker, LaunchPad
    from fireworks.queue.queue_adapter import QueueAdapterBase
    from jobflow import JobStore

    from workflows.hpc.offline import OfflineRecovery, QueueLaunch
    from workflows.hpc.queue_status import QueueJob
    from workflows.hpc.resources import QueueResources

__all__ = ["QueueDriver", "QueueFill", "queued_job_ids"]

logger = logging.getLogger(__name__)

#: Firework states that hold a queue job (reserved: queued; running: started).
IN_FLIGHT = ("RESERVED", "RUNNING")


def queued_job_ids(qadapter: QueueAdapterBase | None) -> set[str] | None:
    """Ids of this user's jobs the scheduler still holds (pending or running), or None.

    Slurm ``squeue`` or PBS ``qstat -f`` (:func:`workflows.hpc.queue_status.list_jobs`); None
    when the scheduler cannot be asked, meaning "unknown": nothing is then concluded from a
    job's absence.
    """
    jobs = _queue_jobs(qadapter)
    return None if jobs is None else set(jobs)


def _queue_jobs(qadapter: QueueAdapterBase | None) -> dict[str, QueueJob] | None:
    from workflows.hpc.queue_status import list_jobs

    q_type = str(getattr(qadapter, "q_type", "") or "")
    return list_jobs(q_type) if q_type else None


@dataclass
class QueueFill:
    """What :meth:`QueueDriver.fill` submitted, and the submission error that stopped it."""

    launched: list[QueueLaunch] = field(default_factory=list)
    error: str | None = None


@dataclass
class QueueDriver:
    """Keeps up to ``max_queued`` queue jobs running the Fireworks of one campaign.

    Parameters
    ----------
    qadapter : QueueAdapterBase, optional
        E.g. ``TavboQueueAdapter.from_file("my_qadapter.yaml")`` (``tavbo init-config``); its
        ``rocket_launch`` must use ``singleshot``. None: recover only, submit nothing.
    max_queued : int, default=0
        Jobs of the campaign queued or running at once (``--qlaunch N``).
    fworker : FWorker, optional
        Restricts which Fireworks are submitted (its ``category``/``query``).
    store : JobStore, optional
        The campaign's job store (default: the LaunchPad's ``job_store``).
    launch_dir : Path, default="tavbo-runs"
        Parent of the jobs' ``launcher_*`` directories; must be visible from compute nodes.
    resources : QueueResources, optional
        Per-job queue requests of new workflows (else ``TAVBO_RESOURCES_FILE``, see
        :func:`workflows.flows.submit.submit_evaluation`).
    campaign : str, optional
        Only this campaign's workflows (set by the agent).
    vanished_retries : int, default=1
        Times a Firework whose job left the queue without starting is submitted again before
        it is marked FIZZLED (the agent then records the evaluation as failed).
    held_timeout : float, default=3600
        Seconds a queue job may stay held for a reason that never clears (``PartitionConfig``,
        PBS "can never run", ...) before it is cancelled and its evaluation failed; the reason
        shows in ``tavbo status`` from the first round that sees it.
    max_rejections : int, default=3
        Refused submissions (``sbatch``/``qsub`` errors) of one Firework before it is FIZZLED
        with the scheduler's message.
    """

    qadapter: QueueAdapterBase | None = None
    max_queued: int = 0
    fworker: FWorker | None = None
    store: JobStore | None = None
    launch_dir: Path = field(default_factory=lambda: Path("tavbo-runs"))
    resources: QueueResources | None = None
    campaign: str | None = None
    vanished_retries: int = 1
    held_timeout: float = 3600.0
    max_rejections: int = 3

    def __post_init__(self) -> None:
        from workflows.errors import ConfigError

        if self.max_queued < 0:
            raise ConfigError(f"invalid max_queued={self.max_queued}; expected >= 0")
        if self.held_timeout < 0:
            raise ConfigError(f"invalid held_timeout={self.held_timeout}; expected >= 0 s")
        if self.max_rejections < 1:
            raise ConfigError(f"invalid max_rejections={self.max_rejections}; expected >= 1")
        if self.max_queued and self.qadapter is None:
            raise ConfigError("queue mode needs a queue adapter (my_qadapter.yaml)")
        if self.qadapter is not None and "singleshot" not in str(
            self.qadapter.get("rocket_launch", "")
        ):
            raise ConfigError(
                f"rocket_launch {self.qadapter.get('rocket_launch')!r} must use 'singleshot' "
                "(reservation mode); regenerate the queue adapter with `tavbo init-config`"
            )
        self.launch_dir = Path(self.launch_dir).expanduser().resolve()

    def for_campaign(self, name: str) -> QueueDriver:
        """A copy bound to campaign ``name``."""
        return replace(self, campaign=name)

    # ------------------------------------------------------------------ queries
    def _fw_ids(self, lp: LaunchPad) -> list[int] | None:
        if self.campaign is None:
            return None
        wfs = lp.workflows.find({"metadata.campaign": self.campaign}, {"nodes": 1})
        return sorted({n for wf in wfs for n in wf["nodes"]})

    def _fireworks(self, lp: LaunchPad, query: dict[str, Any]) -> list[int]:
        ids = self._fw_ids(lp)
        if ids is not None:
            query = {"$and": [query, {"fw_id": {"$in": ids}}]}
        return sorted(d["fw_id"] for d in lp.fireworks.find(query, {"fw_id": 1}))

    def in_flight(self, lp: LaunchPad) -> list[int]:
        """fw_ids of the campaign's Fireworks held by a queue job (RESERVED or RUNNING)."""
        return self._fireworks(lp, {"state": {"$in": list(IN_FLIGHT)}})

    def occupied(self, lp: LaunchPad) -> int:
        """Queue slots the campaign holds: jobs in flight, plus finished jobs still in ``squeue``.

        A Firework's rocket completes a few seconds before its job leaves the scheduler; counting
        Fireworks alone would then submit one job too many (and exceed a per-user job limit).
        """
        held: set[object] = set()
        for fw_id in self.in_flight(lp):
            fw = lp.fireworks.find_one({"fw_id": fw_id}, {"launches": 1})
            launch_ids = (fw or {}).get("launches") or []
            job = _reservation_id(lp, launch_ids[-1]) if launch_ids else None
            held.add(job if job is not None else ("fw", fw_id))
        in_queue = queued_job_ids(self.qadapter)
        if in_queue:
            query: dict[str, Any] = {"state_history.reservation_id": {"$in": sorted(in_queue)}}
            ids = self._fw_ids(lp)
            if ids is not None:
                query = {"$and": [query, {"fw_id": {"$in": ids}}]}
            for launch in lp.launches.find(query, {"state_history": 1}):
                held.update(
                    h["reservation_id"]
                    for h in launch["state_history"]
                    if h.get("reservation_id") in in_queue
                )
        return len(held)

    def ready(self, lp: LaunchPad) -> list[int]:
        """fw_ids of the campaign's READY Fireworks this driver's FireWorker may run."""
        query: dict[str, Any] = {"state": "READY"}
        if self.fworker is not None:
            query = {"$and": [query, self.fworker.query]}
        return self._fireworks(lp, query)

    # ------------------------------------------------------------------ round
    def recover(self, lp: LaunchPad) -> OfflineRecovery:
        """Bring the campaign's offline queue jobs back into the LaunchPad; ingest results.

        Also handles queued jobs that vanished without starting (cancelled while pending,
        rejected, or dying before the rocket starts): when ``squeue`` no longer lists such a
        job and its ``FW_offline.json`` still shows no start, its reservation is cancelled so
        that :meth:`fill` submits the Firework again, up to ``vanished_retries`` times; then
        the Firework is marked FIZZLED.
        """
        from workflows.hpc.offline import recover_offline
        from workflows.results.ingest import ingest_completed

        report = recover_offline(lp, self.store or getattr(lp, "job_store", None))
        if report.completed:
            ingest_completed(lp, campaign=self.campaign)
        jobs = _queue_jobs(self.qadapter)
        if report.waiting and jobs is not None:
            self._handle_vanished(lp, report.waiting, set(jobs))
        if jobs is not None:
            self._watch_held(lp, jobs)
        return report

    def _watch_held(self, lp: LaunchPad, jobs: dict[str, QueueJob]) -> None:
        from workflows.hpc.queue_faults import watch_held

        reserved = {}
        for fw_id in self._fireworks(lp, {"state": "RESERVED"}):
            fw = lp.fireworks.find_one({"fw_id": fw_id}, {"launches": 1})
            launch_ids = (fw or {}).get("launches") or []
            job = _reservation_id(lp, launch_ids[-1]) if launch_ids else None
            if job is not None:
                reserved[fw_id] = job
        watch_held(
            lp,
            reserved,
            jobs,
            timeout=self.held_timeout,
            q_type=str(getattr(self.qadapter, "q_type", "SLURM")),
            launch_dir=self.launch_dir,
        )

    def fill(self, lp: LaunchPad) -> QueueFill:
        """Submit READY Fireworks (lowest fw_id first) until ``max_queued`` are in flight.

        A failed submission (scheduler down, request rejected) is logged and returned as
        ``error``, and ends this round's filling: the Firework stays READY for the next round,
        so a passing scheduler hiccup does not stop the agent.
        """
        from workflows.hpc.offline import qlaunch, retire_stale_runs

        retire_stale_runs(lp)  # runs of lost Fireworks the agent reran or defused this round
        result = QueueFill()
        if self.qadapter is None or self.max_queued <= 0:
            return result
        free = self.max_queued - self.occupied(lp)
        for fw_id in self.ready(lp)[: max(free, 0)]:
            try:
                result.launched += qlaunch(
                    lp,
                    self.qadapter,
                    fworker=self.fworker,
                    store=self.store or getattr(lp, "job_store", None),
                    launch_dir=self.launch_dir,
                    fw_id=fw_id,
                )
            except SubmissionError as exc:
                from workflows.hpc.queue_faults import record_rejection

                logger.error("queue submission of fw_id %d failed: %s", fw_id, exc)
                result.error = f"fw_id {fw_id}: {exc}"
                failed = record_rejection(
                    lp,
                    fw_id,
                    str(exc),
                    max_rejections=self.max_rejections,
                    launch_dir=self.launch_dir,
                )
                if not failed:  # maybe a passing hiccup: try again next round
                    break
        return result

    # ------------------------------------------------------------------ vanished jobs
    def _handle_vanished(self, lp: LaunchPad, waiting: list[int], in_queue: set[str]) -> None:
        from monty.serialization import loadfn

        from workflows.hpc.offline_store import OFFLINE_FILE

        ids = self._fw_ids(lp)
        for fw_id in waiting:
            if ids is not None and fw_id not in ids:
                continue
            fw = lp.fireworks.find_one({"fw_id": fw_id, "state": "RESERVED"}, {"launches": 1})
            if not fw or not fw.get("launches"):
                continue
            launch_id = fw["launches"][-1]
            launch = lp.launches.find_one({"launch_id": launch_id})
            job_id = _job_of(launch)
            if job_id is None or str(job_id) in in_queue:
                continue
            try:  # read after squeue: a job that started meanwhile has written its start
                started = "started_on" in loadfn(str(Path(launch["launch_dir"]) / OFFLINE_FILE))
            except (OSError, ValueError):
                started = False
            if started:
                continue
            self._retry_or_fizzle(lp, fw_id, launch_id, str(job_id), launch["launch_dir"])

    def _retry_or_fizzle(
        self, lp: LaunchPad, fw_id: int, launch_id: int, job_id: str, launch_dir: str
    ) -> None:
        from fireworks import FWAction

        earlier = lp.offline_runs.count_documents({"fw_id": fw_id, "tavbo_vanished": True})
        lp.offline_runs.update_many(
            {"launch_id": launch_id}, {"$set": {"tavbo_vanished": True, "deprecated": True}}
        )
        if earlier < self.vanished_retries:
            logger.warning(
                "queue job %s of fw_id %d left the queue without starting; submitting it again",
                job_id,
                fw_id,
            )
            lp.cancel_reservation(launch_id)
            return
        message = (
            f"queue job {job_id} left the queue without starting ({earlier + 1} times); "
            f"see the job's output and error files in {launch_dir}"
        )
        logger.error("fw_id %d: %s", fw_id, message)
        action = FWAction(stored_data={"_exception": {"_stacktrace": message}})
        lp.complete_launch(launch_id, action, "FIZZLED")


def _job_of(launch: dict[str, Any] | None) -> str | None:
    """The queue job id recorded on a launch (``qlaunch`` reservation mode), or None."""
    history = (launch or {}).get("state_history", [])
    job = next((h["reservation_id"] for h in history if "reservation_id" in h), None)
    return None if job is None else str(job)


def _reservation_id(lp: LaunchPad, launch_id: int) -> str | None:
    return _job_of(lp.launches.find_one({"launch_id": launch_id}, {"state_history": 1}))
