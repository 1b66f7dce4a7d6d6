"""Results database: one :class:`BarrierDocument` per (campaign, candidate_id, engine).

Documents live in the LaunchPad's own database (collection ``barriers``), reached through the
mongoengine alias :data:`workflows.launchpad.opening.DB_ALIAS` that
:func:`~workflows.launchpad.opening. open_launchpad` binds to the LaunchPad's client, so FireWorks,
jobflow and the results see the same data, also on the embedded store. Energies are in eV, lengths
in angstrom.

Writers: the last job of every evaluation workflow (:func:`workflows.results.ingest.record_barrier`)
and, as a recovery path, :func:`workflows.results.ingest.ingest_completed`. Both go through
:func:`upsert_barrier`, which is idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from typing import Any

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    DynamicField,
    EmbeddedDocument,
    EmbeddedDocumentField,
    EmbeddedDocumentListField,
    FloatField,
    IntField,
    ListField,
    StringField,
)

from workflows.errors import DatabaseError
from workflows.launchpad.tavbo_launchpad import BARRIERS_COLLECTION, DB_ALIAS, current_launchpad
from workflows.physics.barrier_reference import endpoint_e_b
from workflows.physics.schemas import BarrierResult, HopBarrier, trust_issues, unconverged_hops
from workflows.results.barrier_filter import BarrierFilter

__all__ = [
    "BarrierDocument",
    "HopDocument",
    "Provenance",
    "find_barriers",
    "get_barrier",
    "upsert_barrier",
]

logger = logging.getLogger(__name__)

#: ``sort`` values of :func:`find_barriers` -> document field.


class HopDocument(EmbeddedDocument):
    """One distinct hop: geometry, image energies along the path (eV) and its barrier."""

    hop_index = IntField(required=True)
    length = FloatField()
    isite = IntField()
    esite = IntField()
    to_jimage = ListField(IntField())
    multiplicity = IntField(default=1)
    energies = ListField(FloatField())
    barrier = FloatField(required=True)
    barrier_from_min = FloatField()
    converged = BooleanField(default=True)
    n_steps = IntField()
    e_initial = FloatField(default=0.0)  # initial endpoint above the common zero, eV
    repairs = ListField(DictField())  # dip repairs (endpoint relaxed again, NEB rerun)
    resumed_at_step = IntField()  # a re-queued NEB resumed from its checkpoint here
    optimiser_restarts = IntField(default=0)  # a stalled NEB optimiser started again


class Provenance(EmbeddedDocument):
    """Where and how a result was made."""

    versions = DictField()
    settings = DictField()
    fw_ids = ListField(IntField())
    host = StringField()
    wall_time = FloatField()  # seconds in the engine's jobs
    recorded_by = StringField()  # "workflow" (final job) or "ingest"


class BarrierDocument(Document):
    """E_b of one composition from one engine in one campaign (unique together)."""

    campaign = StringField(required=True)
    candidate_id = StringField(required=True)
    engine = StringField(required=True)
    carrier = StringField()
    m = StringField()
    x = StringField()
    z = StringField()
    formula = StringField()
    fidelity = StringField()
    e_b = FloatField(required=True)
    e_b_from_min = FloatField()
    reference = StringField()
    percolation_dimension = IntField()
    percolating_hops = ListField(IntField())
    hops = EmbeddedDocumentListField(HopDocument)
    structure = DictField()  # relaxed cell, pymatgen Structure.as_dict()
    volume = FloatField()
    extra = DictField()
    decision = DynamicField()  # the agent's decision id that asked for this evaluation
    provenance = EmbeddedDocumentField(Provenance)
    created = DateTimeField()
    updated = DateTimeField()

    meta = {  # noqa: RUF012 - mongoengine reads a plain dict
        "db_alias": DB_ALIAS,
        "collection": BARRIERS_COLLECTION,
        "indexes": [
            {"fields": ["campaign", "candidate_id", "engine"], "unique": True},
            "carrier",
            "m",
            "x",
            "z",
            "engine",
            "e_b",
        ],
    }

    def to_result(self) -> BarrierResult:
        """The stored :class:`~workflows.physics.schemas.BarrierResult`."""
        prov = self.provenance or Provenance()
        return BarrierResult(
            candidate_id=self.candidate_id,
            engine=self.engine,
            fidelity=self.fidelity,
            e_b=self.e_b,
            e_b_from_min=self.e_b_from_min,
            reference=self.reference or "endpoint",
            percolation_dimension=self.percolation_dimension,
            percolating_hops=list(self.percolating_hops),
            hops=[HopBarrier(**_hop_dict(h)) for h in self.hops],
            structure=dict(self.structure) if self.structure else None,
            volume=self.volume,
            settings=dict(prov.settings or {}),
            versions=dict(prov.versions or {}),
            wall_time=prov.wall_time,
            extra=dict(self.extra or {}),
        )

    def flags(self) -> list[str]:
        """Why this E_b is not trusted (``unconverged``, ``dipped``, ``framework``) and whether
        a committee of potentials disagrees on it (``committee``); empty when all is well."""
        extra = dict(self.extra or {})
        flags = list(trust_issues(self.hops, extra))
        committee = extra.get("committee")
        if isinstance(committee, dict) and committee.get("disagree"):
            flags.append("committee")
        return flags

    def summary(self) -> dict[str, Any]:
        """Flat record for tables: sites, E_b, fidelity, hop count, provenance basics."""
        prov = self.provenance or Provenance()
        return {
            "campaign": self.campaign,
            "id": self.candidate_id,
            "engine": self.engine,
            "A": self.carrier,
            "M": self.m,
            "X": self.x,
            "Z": self.z,
            "e_b": self.e_b,
            "e_b_from_min": self.e_b_from_min,
            "e_b_endpoint": endpoint_e_b(self.e_b, self.reference, dict(self.extra or {})),
            "fidelity": self.fidelity,
            "n_hops": len(self.hops),
            "converged": not unconverged_hops(self.hops),
            "flags": ", ".join(self.flags()),
            "decision": self.decision,
            "fw_ids": list(prov.fw_ids or []),
            "created": self.created.isoformat(timespec="seconds") if self.created else None,
        }


def _hop_dict(hop: HopDocument) -> dict[str, Any]:
    data = {k: hop[k] for k in hop._fields if hop[k] is not None}
    if "to_jimage" in data:
        data["to_jimage"] = tuple(data["to_jimage"])
    return data


def _sites_of(candidate_id: str) -> dict[str, str | None]:
    parts = candidate_id.split("-")
    keys = ("carrier", "m", "x", "z")
    return dict(zip(keys, parts, strict=True)) if len(parts) == 4 else dict.fromkeys(keys)


def _require_binding() -> None:
    from mongoengine.connection import ConnectionFailure, get_db

    try:
        get_db(DB_ALIAS)
    except ConnectionFailure:
        raise DatabaseError(
            "no LaunchPad is open in this process: call "
            "workflows.launchpad.opening.open_launchpad() before reading or writing results"
        ) from None


def upsert_barrier(
    result: BarrierResult | dict[str, Any],
    *,
    campaign: str,
    candidate: dict[str, Any] | None = None,
    decision: int | str | None = None,
    fw_ids: list[int] | None = None,
    host: str | None = None,
    recorded_by: str = "workflow",
    checkpoint: bool = True,
) -> BarrierDocument:
    """Insert or replace the document of ``(campaign, result.candidate_id, result.engine)``.

    Idempotent: writing the same result twice leaves one identical document (``created`` keeps
    its first value).

    Parameters
    ----------
    result : BarrierResult or dict
        What the engine flow returned.
    campaign : str
        Campaign name.
    candidate : dict, optional
        ``Candidate.as_dict()``; gives the formula and the A/M/X/Z fields (else parsed from the
        ID ``A-M-X-Z``).
    decision : int or str, optional
        Agent decision that requested the evaluation.
    fw_ids : list of int, optional
        Fireworks of the workflow.
    host : str, optional
        Machine that ran the final job (default: this one).
    recorded_by : {"workflow", "ingest"}
        Which path wrote it.
    checkpoint : bool, default=True
        Checkpoint the embedded store afterwards.
    """
    _require_binding()
    res = result if isinstance(result, BarrierResult) else BarrierResult.model_validate(result)
    sites = _sites_of(res.candidate_id)
    if candidate:
        sites = {"carrier": candidate["A"], "m": candidate["M"], "x": candidate["X"]}
        sites["z"] = candidate["Z"]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    provenance = Provenance(
        versions=res.versions,
        settings=res.settings,
        fw_ids=sorted(fw_ids or []),
        host=host or socket.gethostname(),
        wall_time=res.wall_time,
        recorded_by=recorded_by,
    )
    fields: dict[str, Any] = {
        **sites,
        "formula": (candidate or {}).get("formula"),
        "fidelity": res.fidelity,
        "e_b": res.e_b,
        "e_b_from_min": res.e_b_from_min,
        "reference": res.reference,
        "percolation_dimension": res.percolation_dimension,
        "percolating_hops": res.percolating_hops,
        "hops": [HopDocument(**hop.model_dump()) for hop in res.hops],
        "structure": res.structure,
        "volume": res.volume,
        "extra": res.extra,
        "decision": decision,
        "provenance": provenance,
        "updated": now,
    }
    key = {"campaign": campaign, "candidate_id": res.candidate_id, "engine": res.engine}
    BarrierDocument.objects(**key).update_one(
        upsert=True, set_on_insert__created=now, **{f"set__{k}": v for k, v in fields.items()}
    )
    doc = BarrierDocument.objects.get(**key)
    lp = current_launchpad()
    if checkpoint and lp is not None:
        lp.checkpoint()
    return doc


def get_barrier(campaign: str, candidate_id: str, engine: str) -> BarrierDocument | None:
    """The document of one (campaign, composition, engine), or None."""
    _require_binding()
    return BarrierDocument.objects(
        campaign=campaign, candidate_id=candidate_id, engine=engine
    ).first()


def find_barriers(query: BarrierFilter | None = None) -> list[BarrierDocument]:
    """Finished barriers in the database that ``query`` wants (all of them without one), in
    its order (:class:`~workflows.results.barrier_filter.BarrierFilter`)."""
    _require_binding()
    query = query or BarrierFilter()
    queryset = BarrierDocument.objects(**query.document_query()).order_by(*query.document_order())
    if query.limit:
        queryset = queryset.limit(query.limit)
    return list(queryset)
