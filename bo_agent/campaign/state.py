"""Persistent campaign state (mongoengine): the campaign, its candidate table and decisions.

Lessons from peers (``shared/notes/peers.md``): the candidate pool is one table with a status per
row, scored in full every round; proposing is separate from running; failures are data. Every
state change is a single-document atomic update, so an agent killed at any moment leaves a
consistent table that the next agent resumes from.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from enum import StrEnum
from typing import Any

from mongoengine import (
    DateTimeField,
    DictField,
    Document,
    FloatField,
    IntField,
    StringField,
)

from bo_agent.config import CampaignConfig, unused_setting
from workflows.errors import ConfigError
from workflows.launchpad.tavbo_launchpad import DB_ALIAS

__all__ = [
    "RESUMABLE",
    "Campaign",
    "CandidateRecord",
    "Decision",
    "Failure",
    "Status",
    "agent_identity",
    "effective_config",
    "finishing_order",
    "mark_failed",
    "open_campaign",
    "server_now",
    "utcnow",
]


class Status(StrEnum):
    """Where a candidate stands in a campaign."""

    new = "new"  # not evaluated, not reserved
    pending = "pending"  # reserved by a decision; a workflow is (or is being) submitted
    done = "done"  # E_b known
    failed = "failed"  # evaluation failed for good (after reruns); excluded from the pool


class Failure(StrEnum):
    """What kind of failure a failed candidate's is (``CandidateRecord.failure``)."""

    #: finished, but the engine could not trust the result (unconverged NEB, surviving dip,
    #: reconstructed framework): a verdict on the composition; ``failed_value: worst`` puts it
    #: in the GP at the worst E_b
    untrusted = "untrusted"
    #: the run did not finish (fizzled or defused workflow, worker process died, submission
    #: failed, queue refused): says nothing about the composition, never in the GP. Records
    #: written before this field existed have none and count as run failures.
    run = "run"


def utcnow() -> dt.datetime:
    """Naive UTC now, as MongoDB stores datetimes."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def mark_failed(failure: Failure, error: str, /, **query: Any) -> int:
    """Fail the pending candidate matching ``query`` with ``failure`` and ``error``.

    Only a candidate that is still pending changes (one atomic update), so a result another
    agent recorded first is never overwritten. Extra ``set__`` fields of the update may be given
    as ``set__<field>`` keys in ``query``. Returns the number of records changed (0 or 1).
    """
    sets = {k: query.pop(k) for k in [k for k in query if k.startswith("set__")]}
    return CandidateRecord.objects(status=Status.pending.value, **query).update_one(
        set__status=Status.failed.value,
        set__failure=failure.value,
        set__error=error[:2000],
        set__finished=utcnow(),
        **sets,
    )


def agent_identity() -> str:
    """``host:pid``: who holds a campaign lease."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Campaign(Document):
    """One search: its configuration, status and the lease of the agent running it."""

    name = StringField(required=True, unique=True)
    config = DictField(required=True)  # CampaignConfig.model_dump()
    status = StringField(default="running", choices=("running", "completed", "stopped"))
    stop_reason = StringField()
    created = DateTimeField(default=utcnow)
    updated = DateTimeField(default=utcnow)
    lease_owner = StringField()
    lease_expires = DateTimeField()
    n_decisions = IntField(default=0)  # sequence counter for Decision.seq

    meta = {"db_alias": DB_ALIAS, "collection": "tavbo_campaigns"}  # noqa: RUF012


def server_now() -> dt.datetime:
    """The database server's clock (naive UTC): ``hello``'s ``localTime`` on MongoDB; on the
    embedded store, mongomock's clock (the server is this process)."""
    db = Campaign._get_db()
    try:
        local = db.command("hello")["localTime"]
    except NotImplementedError:  # mongomock: the server runs in this process
        import mongomock

        local = mongomock.utcnow()
    if local.tzinfo is not None:
        local = local.astimezone(dt.UTC).replace(tzinfo=None)
    return local


class CandidateRecord(Document):
    """One row of a campaign's candidate table."""

    campaign = StringField(required=True)
    candidate_id = StringField(required=True)
    carrier = StringField()
    status = StringField(default=Status.new.value, choices=[s.value for s in Status])
    e_b = FloatField()
    fw_id = IntField()
    decision_seq = IntField()
    attempts = IntField(default=0)
    error = StringField()
    failure = StringField(choices=[f.value for f in Failure])  # set with status failed
    submitted = DateTimeField()
    finished = DateTimeField()
    wall_time = FloatField()

    meta = {  # noqa: RUF012
        "db_alias": DB_ALIAS,
        "collection": "tavbo_candidates",
        "indexes": [
            {"fields": ["campaign", "candidate_id"], "unique": True},
            {"fields": ["campaign", "status"]},
        ],
    }


class Decision(Document):
    """Audit record of one proposal: why the agent chose this composition then."""

    campaign = StringField(required=True)
    seq = IntField(required=True)
    candidate_id = StringField(required=True)
    strategy = StringField()  # initial-random, random, or the model name
    acquisition = StringField()
    acquisition_value = FloatField()
    rank = IntField()
    predicted_mean = FloatField()
    predicted_std = FloatField()
    n_observed = IntField()
    n_pending = IntField()
    model = DictField()  # kernel, hyperparameters, log marginal likelihood
    fw_id = IntField()
    created = DateTimeField(default=utcnow)
    extra = DictField()

    meta = {  # noqa: RUF012
        "db_alias": DB_ALIAS,
        "collection": "tavbo_decisions",
        "indexes": [{"fields": ["campaign", "seq"], "unique": True}],
    }

    def summary(self) -> dict[str, Any]:
        """A flat record for tables and JSON."""
        return {
            "seq": self.seq,
            "candidate_id": self.candidate_id,
            "strategy": self.strategy,
            "acquisition": self.acquisition,
            "acq_value": self.acquisition_value,
            "rank": self.rank,
            "mean": self.predicted_mean,
            "std": self.predicted_std,
            "fw_id": self.fw_id,
            "created": self.created.isoformat() if self.created else None,
        }


def finishing_order(records: list[CandidateRecord]) -> list[CandidateRecord]:
    """Records in the order their evaluations finished (decision order breaks ties)."""
    return sorted(
        records,
        key=lambda r: (r.finished.timestamp() if r.finished else 0.0, r.decision_seq or 0),
    )


#: Fields that may change when a campaign is resumed.
RESUMABLE = frozenset(
    {"budget", "max_pending", "poll_interval", "stop_undiscovered", "stop_patience"}
)


def effective_config(config: CampaignConfig) -> CampaignConfig:
    """The configuration a run of ``config.name`` will use, without writing anything: ``config``
    for a new campaign; for an existing one its stored configuration with the RESUMABLE fields
    given now (anything else that differs is refused).

    Raises
    ------
    ConfigError
        If the campaign exists with other settings, or a setting given now would have no
        effect in it (:func:`~bo_agent.config.unused_setting`).
    """
    existing = Campaign.objects(name=config.name).first()
    if existing is None:
        effective = config
    else:
        stored = CampaignConfig(**existing.config)
        changed = _changed(stored, config)
        if changed - RESUMABLE:
            raise ConfigError(
                f"campaign {config.name!r} exists with other settings "
                f"({', '.join(sorted(changed - RESUMABLE))}); use a new --campaign name"
            )
        given = config.model_dump()
        effective = stored.model_copy(update={k: given[k] for k in changed})
    unused = unused_setting(effective, config.model_fields_set)
    if unused:
        raise ConfigError(unused)
    return effective


def _changed(stored: CampaignConfig, config: CampaignConfig) -> set[str]:
    given = config.model_dump()
    return {
        k
        for k, v in stored.model_dump().items()
        if k in config.model_fields_set and given[k] != v and k != "name"
    }


def open_campaign(config: CampaignConfig, *, read_only: bool = False) -> Campaign:
    """The stored campaign of ``config.name``, created if new (a resume changes only RESUMABLE).

    Validate everything the campaign needs first (``CampaignAgent`` does): a record written
    here is a campaign that exists.
    """
    existing = Campaign.objects(name=config.name).first()
    if existing is not None and read_only:
        return existing
    if existing is None:
        if read_only:
            raise ConfigError(f"no campaign {config.name!r}")
        camp = Campaign(name=config.name, config=config.model_dump(mode="json"))
        camp.save()
        return camp
    effective_config(config)  # refuses other settings
    changed = _changed(CampaignConfig(**existing.config), config)
    if changed:
        given = config.model_dump()
        existing.update(**{f"set__config__{k}": given[k] for k in changed})
        existing.reload()
        if existing.status == "completed" and "budget" in changed:
            existing.update(set__status="running", unset__stop_reason=True)
            existing.reload()
    return existing
