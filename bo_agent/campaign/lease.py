"""The campaign lease: only one agent runs a campaign at a time.

An agent takes the lease (``lease_owner`` = ``host:pid``, ``lease_expires``) with one atomic
update of the campaign document and renews it every round. Another agent gets it only when it
is free, expired, or held by a process of the same host that no longer runs (a killed agent
need not be waited out).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket

from mongoengine.queryset.visitor import Q

from bo_agent.campaign.state import Campaign, utcnow
from workflows.errors import LockError

__all__ = ["LEASE_SECONDS", "acquire_lease", "release_lease"]

logger = logging.getLogger(__name__)

#: Seconds a lease lasts without renewal; an agent renews it every round.
LEASE_SECONDS = 600.0


def acquire_lease(campaign: str, identity: str, seconds: float = LEASE_SECONDS) -> None:
    """Take or renew the lease of ``campaign`` for agent ``identity`` (``host:pid``).

    Raises
    ------
    LockError
        If another agent holds an unexpired lease.
    """
    now = utcnow()
    until = now + dt.timedelta(seconds=seconds)
    taken = Campaign.objects(
        Q(name=campaign)
        & (Q(lease_owner=None) | Q(lease_owner=identity) | Q(lease_expires__lt=now))
    ).update_one(set__lease_owner=identity, set__lease_expires=until)
    if taken:
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
    raise LockError(
        f"campaign {campaign!r} is run by agent {owner} "
        f"(lease until {expires:%Y-%m-%d %H:%M:%S} UTC); "
        "stop that agent or wait for its lease to expire"
    )


def release_lease(campaign: str, identity: str) -> None:
    """Give the lease up (at a clean exit); a lease held by another agent is left alone."""
    Campaign.objects(name=campaign, lease_owner=identity).update_one(
        unset__lease_owner=True, unset__lease_expires=True
    )


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
