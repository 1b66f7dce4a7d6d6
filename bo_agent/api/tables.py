"""Campaign and barrier records as pandas DataFrames and :class:`BarrierResult` objects.

Read-only queries over the mongoengine documents bound to the open LaunchPad (call them through
:class:`bo_agent.api.store.Store`, which holds the lock). Energies are in eV; ``e_b`` is what the
engine measures it from (``reference``: the path minimum or the vacancy endpoint), and a result
whose NEB did not converge is flagged ``converged = False``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd

from bo_agent.campaign.state import CandidateRecord, Decision
from workflows.errors import ConfigError
from workflows.physics.schemas import unconverged_hops
from workflows.results.barrier_filter import BarrierFilter
from workflows.results.documents import find_barriers, get_barrier

if TYPE_CHECKING:
    from bo_agent.campaign.report import CampaignSummary
    from workflows.physics.schemas import BarrierResult

__all__ = [
    "BARRIER_COLUMNS",
    "barrier_results",
    "barriers_frame",
    "candidates_frame",
    "composition_record",
    "dataset_frame",
    "dataset_results",
    "decisions_frame",
    "trace_frame",
]

#: Columns of :func:`barriers_frame`, as ``tavbo barriers --format csv`` writes them.
BARRIER_COLUMNS = ["id", "engine", "campaign", "A", "M", "X", "Z", "e_b", "e_b_from_min"]
BARRIER_COLUMNS += [
    "e_b_endpoint",
    "fidelity",
    "n_hops",
    "converged",
    "flags",
    "decision",
    "created",
]


def barriers_frame(**filters: Any) -> pd.DataFrame:
    """Finished barriers with the filters of ``tavbo barriers`` (same order, same rows)."""
    rows = [doc.summary() for doc in find_barriers(BarrierFilter(**filters))]
    return pd.DataFrame(rows, columns=[*BARRIER_COLUMNS, "fw_ids"])


def barrier_results(**filters: Any) -> list[BarrierResult]:
    """The same query as :func:`barriers_frame`, as full :class:`BarrierResult` objects."""
    return [doc.to_result() for doc in find_barriers(BarrierFilter(**filters))]


def dataset_frame(data: str, **filters: Any) -> pd.DataFrame:
    """Barriers of a data set instead of the database, as ``tavbo barriers --data``: ``chgnet``
    or ``bvse`` (the packaged reference E_b of the whole space) or an exported file / table."""
    from workflows.results.reference_data import read_barrier_summaries, select_summaries

    rows = select_summaries(read_barrier_summaries(data)[0], BarrierFilter(**filters))
    return pd.DataFrame(rows, columns=[*BARRIER_COLUMNS, "fw_ids"])


def dataset_results(data: str, **filters: Any) -> list[BarrierResult]:
    """The same rows as :class:`BarrierResult` objects (hops, image energies, structures);
    needs a ``tavbo screen --export`` file or a packaged reference, not a plain table.

    Raises
    ------
    ConfigError
        If ``data`` holds no full results.
    """
    from workflows.physics.schemas import BarrierResult
    from workflows.results.export import read_export
    from workflows.results.reference_data import resolve_data

    path = resolve_data(data, "data")
    records = read_export(path) if path.name.endswith((".json", ".json.gz")) else None
    if not isinstance(records, list):
        raise ConfigError(f"{path} is a plain barrier table (E_b only): use dataset_frame()")
    by_id = {r.get("candidate_id"): r for r in records}
    ids = dataset_frame(data, **filters)["id"]
    return [BarrierResult.model_validate(by_id[cid]) for cid in ids if cid in by_id]


def candidates_frame(campaign: str) -> pd.DataFrame:
    """One row per composition of the campaign's pool: status, E_b, fw_id, decision, error."""
    fields = ["candidate_id", "status", "e_b", "fw_id", "decision_seq", "attempts", "error"]
    fields += ["submitted", "finished", "wall_time"]
    rows = [
        {f: getattr(r, f) for f in fields}
        for r in CandidateRecord.objects(campaign=campaign).order_by("candidate_id")
    ]
    return pd.DataFrame(rows, columns=fields)


def decisions_frame(campaign: str) -> pd.DataFrame:
    """Every decision of the campaign in order, with the model that made it.

    ``model`` holds the kernel, fitted hyperparameters and log marginal likelihood (a dict);
    ``mean``/``std`` are the GP's prediction of E_b (eV) when the pick was made (NaN for random
    picks); ``acq_value`` the acquisition value, ``rank`` the position in its batch.
    """
    rows = []
    for d in Decision.objects(campaign=campaign).order_by("seq"):
        row = d.summary()
        row["n_observed"] = d.n_observed
        row["n_pending"] = d.n_pending
        row["model"] = json.loads(json.dumps(dict(d.model or {}), default=str))
        row["extra"] = json.loads(json.dumps(dict(d.extra or {}), default=str))
        rows.append(row)
    columns = ["seq", "candidate_id", "strategy", "acquisition", "acq_value", "rank", "mean"]
    columns += ["std", "fw_id", "created", "n_observed", "n_pending", "model", "extra"]
    return pd.DataFrame(rows, columns=columns)


def trace_frame(summary: CampaignSummary) -> pd.DataFrame:
    """E_b against iteration and the best so far; ``random`` tells random starts from GP picks."""
    rows = [
        {
            "iteration": r.iteration,
            "id": r.candidate_id,
            "e_b": r.e_b,
            "best": r.best,
            "strategy": r.strategy,
            "random": is_random(r.strategy),
            "pred_mean": r.predicted_mean,
            "pred_std": r.predicted_std,
        }
        for r in summary.history
    ]
    columns = ["iteration", "id", "e_b", "best", "strategy", "random", "pred_mean", "pred_std"]
    return pd.DataFrame(rows, columns=columns)


def is_random(strategy: str | None) -> bool:
    """Whether a decision's strategy was a random pick (initial design or random search)."""
    return strategy is None or "random" in strategy


def composition_record(campaign: str, candidate_id: str, engine: str) -> dict[str, Any]:
    """One evaluated composition: E_b and its reference, every hop with its image energies, the
    percolating hops and network dimension, and the provenance (versions, settings, fw_ids,
    host, wall time). JSON-ready.

    Raises
    ------
    ConfigError
        If there is no such result.
    """
    doc = get_barrier(campaign, candidate_id, engine)
    if doc is None:
        raise ConfigError(f"no result for {candidate_id} from engine {engine!r} in {campaign!r}")
    summary = doc.summary()
    percolating = set(doc.percolating_hops or [])
    hops = [
        {
            "hop_index": h.hop_index,
            "length": h.length,
            "multiplicity": h.multiplicity,
            "barrier": h.barrier,
            "barrier_from_min": h.barrier_from_min,
            "converged": h.converged,
            "n_steps": h.n_steps,
            "percolating": h.hop_index in percolating,
            "energies": list(h.energies or []),
        }
        for h in doc.hops
    ]
    prov = doc.provenance
    return json.loads(
        json.dumps(
            {
                **summary,
                "formula": doc.formula,
                "reference": doc.reference or "endpoint",
                "percolation_dimension": doc.percolation_dimension,
                "percolating_hops": sorted(percolating),
                "unconverged_hops": unconverged_hops(doc.hops),
                "volume": doc.volume,
                "hops": hops,
                "provenance": {
                    "versions": dict(prov.versions or {}) if prov else {},
                    "settings": dict(prov.settings or {}) if prov else {},
                    "fw_ids": list(prov.fw_ids or []) if prov else [],
                    "host": prov.host if prov else None,
                    "wall_time": prov.wall_time if prov else None,
                    "recorded_by": prov.recorded_by if prov else None,
                },
                "extra": dict(doc.extra or {}),
            },
            default=str,
        )
    )
