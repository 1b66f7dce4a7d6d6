"""The dashboard's views as JSON-ready dicts, built from a :class:`bo_agent.api.store.Store`.

One function per page: :func:`overview` (every campaign), :func:`campaign_view` (history,
GP maps, next proposals, audit records), :func:`jobs_view`, :func:`barriers_view` (the filters of
``tavbo barriers``) and :func:`composition_view`. The server (:mod:`bo_agent.dashboard.app`) and
the HTML report (:mod:`bo_agent.dashboard.report`) render the same dicts with the same script.
Every string goes through :func:`bo_agent.api.store.scrub`, so no credential can be shown.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import TYPE_CHECKING, Any

from bo_agent.api.store import scrub
from bo_agent.api.tables import is_random
from bo_agent.dashboard.figures import history_figure, hop_profiles, prediction_maps
from workflows.errors import TavboError

if TYPE_CHECKING:
    import pandas as pd

    from bo_agent.api.store import Store
    from bo_agent.campaign.report import CampaignSummary

__all__ = [
    "BARRIER_FILTERS",
    "barriers_view",
    "campaign_view",
    "clean",
    "composition_view",
    "jobs_view",
    "overview",
]

#: Query parameters of the barrier table -> ``find_barriers`` keyword (as ``tavbo barriers``).
BARRIER_FILTERS = {
    "carrier": "carrier",
    "M": "m",
    "X": "x",
    "Z": "z",
    "engine": "engine",
    "campaign": "campaign",
    "min": "e_min",
    "max": "e_max",
    "sort": "sort",
    "desc": "descending",
    "limit": "limit",
}


def clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, datetimes -> ISO text, credentials masked in strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return clean(value.item())
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return clean(
        json.loads(frame.to_json(orient="records", date_format="iso", double_precision=15))
    )


def _goal(summary: CampaignSummary) -> dict[str, Any]:
    """The goal and how far the campaign is from it (and from its stopping rule)."""
    c = summary.config
    best = summary.ranked[0] if summary.history else None
    used = sum(summary.counts[k] for k in ("done", "pending", "failed"))
    out: dict[str, Any] = {
        "goal": c.get("goal", "minimum"),
        "budget": c.get("budget"),
        "budget_used": used,
        "best_id": best.candidate_id if best else None,
        "best_e_b": best.e_b if best else None,
    }
    if summary.threshold is not None:
        out |= {"threshold": summary.threshold}
    return out


def _campaign_row(summary: CampaignSummary) -> dict[str, Any]:
    c = summary.config
    return {
        "name": summary.name,
        "status": summary.status,
        "stop_reason": summary.stop_reason,
        "carrier": c.get("carrier"),
        "engine": c.get("engine"),
        "model": c.get("model"),
        "acquisition": "below" if c.get("goal") == "threshold" else c.get("acquisition"),
        "counts": summary.counts,
        "lease_owner": summary.lease_owner,
        "mean_wall_time": summary.mean_wall_time,
        **_goal(summary),
    }


def overview(store: Store) -> dict[str, Any]:
    """Every campaign: state, counts by status, budget used, best so far, goal progress."""
    rows = [_campaign_row(store.summary(name)) for name in store.campaign_names()]
    return clean({"source": store.where, "mode": store.mode, "campaigns": rows})


def campaign_view(store: Store, name: str, n_next: int = 5) -> dict[str, Any]:
    """One campaign: its row, E_b against iteration, the GP's maps, next proposals, decisions."""
    from workflows.space.compositions import load_space

    summary = store.summary(name)
    trace = store.trace(name)
    reference = _reference(store, name)
    tau = summary.config.get("tau") if summary.config.get("goal") == "threshold" else None
    pred = store.predictions(name)
    fitted = bool(pred["mean"].notna().any())
    space = load_space(summary.config.get("space"))
    proposals, next_error = None, None
    if summary.counts["new"]:
        try:
            proposals = store.next_proposals(name, n_next)
        except (ArithmeticError, ValueError, RuntimeError, TavboError) as exc:
            next_error = f"{type(exc).__name__}: {exc}"
    decisions = store.decisions(name)
    decisions["random"] = [is_random(s) for s in decisions["strategy"]]
    return clean(
        {
            "campaign": _campaign_row(summary),
            "config": summary.config,
            "reference": reference,
            "history": _records(trace),
            "history_figure": history_figure(trace, reference, tau),
            "map_figure": prediction_maps(
                pred, space, summary.config["carrier"], fitted, pred.attrs.get("gp_error")
            ),
            "gp_fitted": fitted,
            "gp_error": pred.attrs.get("gp_error"),
            "next_error": next_error,
            "predictions": _records(pred),
            "next": [] if proposals is None else _records(proposals),
            "decisions": _records(decisions),
            "pending": summary.pending,
            "failed": summary.failed,
            "engine": summary.config.get("engine"),
        }
    )


def _reference(store: Store, name: str) -> str:
    """What the campaign's E_b are measured from (``path_minimum`` or ``endpoint``)."""
    refs = {r.reference for r in store.barrier_results(campaign=name, limit=50)}
    if not refs:
        return "engine's reference"
    return refs.pop() if len(refs) == 1 else "endpoint or path minimum (mixed)"


def jobs_view(store: Store, campaign: str | None = None) -> dict[str, Any]:
    """Pending and failed evaluations with fw_id, queue job, state, time in state, reason."""
    rows = [r.to_dict() for r in store.jobs(campaign)]
    return clean({"campaign": campaign, "jobs": rows})


def barriers_view(store: Store, filters: dict[str, Any]) -> dict[str, Any]:
    """The barrier table with ``tavbo barriers``' filters (query names as the CLI's options)."""
    frame = store.barriers(**{BARRIER_FILTERS[k]: v for k, v in filters.items()})
    frame = frame.drop(columns=["fw_ids"])
    return clean({"filters": filters, "rows": _records(frame), "count": len(frame)})


def composition_view(store: Store, campaign: str, engine: str, candidate_id: str) -> dict[str, Any]:
    """One composition: E_b, hops with image energies, percolating path, provenance."""
    record = store.composition(campaign, candidate_id, engine)
    return clean({"record": record, "figure": hop_profiles(record)})
