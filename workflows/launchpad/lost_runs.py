"""Lost runs: launches whose process died, found, recorded as attempts and re-queued.

A RUNNING launch that stopped pinging died with its process (SIGKILL, out of memory, segfault,
walltime). Whoever finds one, the embedded owner at open, the campaign agent (also for offline
queue jobs), :func:`workflows.hpc.offline.handle_lost_runs` or FireWorks' own ``lpad
detect_lostruns --fizzle|--rerun``, goes through :meth:`LostRunRecovery.detect_lostruns`, which
records every launch it fizzles or reruns in :data:`LOST_RUNS_COLLECTION` first. That record is the
attempt count of the crash-loop bound (the agent fails an evaluation whose runs died more than
``max_reruns`` times), so a job that kills its own process cannot loop forever in any mode.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fireworks import LaunchPad
from fireworks.fw_config import RUN_EXPIRATION_SECS

__all__ = ["LOST_RUNS_COLLECTION", "LostRunRecovery"]

logger = logging.getLogger(__name__)

#: One document per launch whose process died (found RUNNING without pings): crash-loop counts.
LOST_RUNS_COLLECTION = "tavbo_lost_runs"


class LostRunRecovery(LaunchPad):
    """FireWorks' LaunchPad whose lost-run handling records each death (a mixin of
    :class:`~workflows.launchpad.tavbo_launchpad.TavboLaunchPad`)."""

    def detect_lostruns(
        self,
        expiration_secs: float = RUN_EXPIRATION_SECS,
        fizzle: bool = False,
        rerun: bool = False,
        **kwargs: Any,
    ) -> tuple[list[int], list[int], list[int]]:
        """FireWorks' ``detect_lostruns``; the launches it is asked to fizzle or rerun are first
        recorded as lost runs (:meth:`lost_run_count`), whoever asks."""
        if not (fizzle or rerun):
            return super().detect_lostruns(expiration_secs, **kwargs)
        detected = super().detect_lostruns(expiration_secs, **kwargs)
        found = detected[0]
        if not found:
            return detected
        self._record_lost(found)
        kwargs["launch_query"] = {"launch_id": {"$in": found}}
        return super().detect_lostruns(expiration_secs, fizzle=fizzle, rerun=rerun, **kwargs)

    def active_offline_launch_ids(self) -> list[int]:
        """Launch ids of offline queue jobs in flight (offline runs neither completed nor
        deprecated); their state comes from their files (``workflows.hpc.offline.recover_offline``).
        """
        runs = self.offline_runs.find({"completed": False, "deprecated": False}, {"launch_id": 1})
        return sorted({run["launch_id"] for run in runs})

    def recover_lost_runs(
        self, expiration_secs: float, *, sole_owner: bool = False, include_offline: bool = False
    ) -> list[int]:
        """Re-queue RUNNING fireworks not pinged for ``expiration_secs``; return their fw_ids.

        The same code in both modes; only what proves ownership differs. ``sole_owner`` (the
        embedded owner at open: its store lock proves no other process runs a rocket of this
        store) also cancels every reservation and clears every workflow lock. Otherwise
        (MongoDB, where other machines run rockets) only reservations older than
        ``expiration_secs`` are cancelled and only the locks of workflows with a lost run are
        cleared (their holder died). Use FireWorks' expiration (``RUN_EXPIRATION_SECS``, 4 h) or
        longer than your longest job without pings, or live runs on other machines are rerun.

        Every lost launch is recorded in :data:`LOST_RUNS_COLLECTION` (a process that died
        counts as an attempt: :meth:`lost_run_count`), so a job that kills its own process is
        not rerun without end (the campaign agent fails it after ``max_reruns``).

        Offline queue jobs still in flight (:meth:`active_offline_launch_ids`) are left alone,
        RESERVED (queued) or RUNNING, unless ``include_offline`` (the agent, once
        ``recover_offline`` has copied their pings): they run without the database, and only
        their files tell whether they live (:func:`workflows.hpc.offline.recover_offline` copies
        their pings and :func:`workflows.hpc.offline.handle_lost_runs` judges them).
        """
        in_queue = [] if include_offline else self.active_offline_launch_ids()
        if sole_owner:
            self.workflows.update_many({"locked": {"$exists": True}}, {"$unset": {"locked": ""}})
        for launch_id in self.detect_unreserved(expiration_secs=expiration_secs):
            if launch_id not in in_queue:
                self.cancel_reservation(launch_id)
        lost_launches, lost, _ = self.detect_lostruns(
            expiration_secs=expiration_secs, launch_query={"launch_id": {"$nin": in_queue}}
        )
        if lost:
            if not sole_owner:
                self.workflows.update_many(
                    {"nodes": {"$in": lost}, "locked": {"$exists": True}},
                    {"$unset": {"locked": ""}},
                )
            self.detect_lostruns(  # records each launch as a lost run
                expiration_secs=expiration_secs,
                rerun=True,
                launch_query={"launch_id": {"$in": lost_launches}},
            )
            logger.warning("re-queued %d lost firework(s): fw_ids %s", len(lost), sorted(lost))
        if in_queue:
            logger.info("left %d offline queue job(s) in flight alone", len(in_queue))
        return sorted(lost)

    def _record_lost(self, launch_ids: list[int]) -> None:
        """One document per lost launch (idempotent): fw_id, launch_id, host, when found."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for launch in self.launches.find(
            {"launch_id": {"$in": launch_ids}}, {"launch_id": 1, "fw_id": 1, "host": 1}
        ):
            self.db[LOST_RUNS_COLLECTION].update_one(
                {"launch_id": launch["launch_id"]},
                {
                    "$setOnInsert": {
                        "fw_id": launch["fw_id"],
                        "host": launch.get("host"),
                        "found": now,
                    }
                },
                upsert=True,
            )

    def lost_run_count(self, fw_ids: list[int]) -> int:
        """How many launches of ``fw_ids`` died with their process (:meth:`recover_lost_runs`)."""
        return self.db[LOST_RUNS_COLLECTION].count_documents({"fw_id": {"$in": list(fw_ids)}})
