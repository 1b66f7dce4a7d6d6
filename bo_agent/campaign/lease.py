"""The campaign lease: only one agent runs a campaign at a time.

An agent takes the lease (``lease_owner`` = ``host:pid``, ``lease_expires``) with one atomic
update of the campaign document and renews it every round, and from a heartbeat thread while a
long evaluation runs in-process (:class:`LeaseHeartbeat`). Who may take it:

* **embedded store**: the owner of the store file's lock is the only process that can write the
  campaign at all, so the lock is the proof of ownership: it takes the lease whoever held it
  (a killed agent, a container restarted under another host name), with no wait;
* **MongoDB**: the lease is free, expired, or held by a process of this host that no longer
  runs. Expiry is set and compared with the *server's* clock (``hello``'s ``localTime``), never
  the host's: an agent whose clock is ten minutes fast cannot take a live lease, and one that is
  slow cannot keep a dead one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

from mongoengine.queryset.visitor import Q

from bo_agent.campaign.state import Campaign, server_now
from workflows.errors import LockError

__all__ = ["LEASE_SECONDS", "LeaseHeartbeat", "acquire_lease", "release_lease"]

logger = logging.getLogger(__name__)

#: Seconds a lease lasts without renewal; an agent renews it every round and every third of it.
LEASE_SECONDS = 600.0


def acquire_lease(
    campaign: str, identity: str, seconds: float = LEASE_SECONDS, *, sole_owner: bool = False
) -> None:
    """Take or renew the lease of ``campaign`` for agent ``identity`` (``host:pid``).

    ``sole_owner``: this process holds the embedded store's lock, so no other agent can be
    alive; the lease is taken whoever holds it.

    Raises
    ------
    LockError
        If another agent holds an unexpired lease (by the server's clock).
    """
    now = server_now()
    until = now + dt.timedelta(seconds=seconds)
    free = Q(lease_owner=None) | Q(lease_owner=identity) | Q(lease_expires__lt=now)
    query = Q(name=campaign) if sole_owner else Q(name=campaign) & free
    previous = Campaign.objects(name=campaign).only("lease_owner").first()
    taken = Campaign.objects(query).update_one(set__lease_owner=identity, set__lease_expires=until)
    if taken:
        holder = previous.lease_owner if previous is not None else None
        if sole_owner and holder not in (None, identity):
            logger.warning("took over the lease of %s: this process owns the store", holder)
        return
    doc = Campaign.objects(name=campaign).first()
    stale = doc.lease_owner if doc is not None else None
    if stale and _dead_on_this_host(stale):
        logger.warning("taking over the lease of dead agent %s", stale)
        taken = Campaign.objects(name=campaign, lease_owner=stale).update_one(
            set__lease_owner=identity, set__lease_expires=until
        )
        if taken:
            return
        doc = Campaign.objects(name=campaign).first()
    owner = doc.lease_owner if doc is not None else None
    expires = doc.lease_expires if doc is not None else None
    when = f"lease until {expires:%Y-%m-%d %H:%M:%S} UTC by the database's clock" if expires else ""
    raise LockError(
        f"campaign {campaign!r} is run by agent {owner} ({when}); "
        "stop that agent or wait for its lease to expire"
    )


def release_lease(campaign: str, identity: str) -> None:
    """Give the lease up (at a clean exit); a lease held by another agent is left alone."""
    Campaign.objects(name=campaign, lease_owner=identity).update_one(
        unset__lease_owner=True, unset__lease_expires=True
    )


class LeaseHeartbeat:
    """Renews a lease from a thread every ``seconds / 3`` while a long step runs.

    A renewal that fails (the lease was taken: only possible on MongoDB after an expiry) is
    logged and kept in :attr:`lost`; the next round's :func:`acquire_lease` raises.
    """

    def __init__(self, renew: Any, seconds: float = LEASE_SECONDS) -> None:
        self._renew = renew
        self.interval = max(seconds / 3.0, 0.01)
        self.beats = 0
        self.lost: Exception | None = None
        self._stop = threading.Event()

    @contextlib.contextmanager
    def running(self) -> Iterator[LeaseHeartbeat]:
        """Beat in a daemon thread for the duration of the ``with`` block."""
        self._stop.clear()
        thread = threading.Thread(target=self._loop, name="tavbo-lease-heartbeat", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._renew()
                self.beats += 1
            except LockError as exc:
                self.lost = exc
                logger.error("lease lost during an evaluation: %s", exc)
                return
            except Exception:  # a transient database error: try again next beat
                logger.exception("lease renewal failed")


def _dead_on_this_host(owner: str) -> bool:
    """Whether lease holder ``host:pid`` is a process of this host that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
