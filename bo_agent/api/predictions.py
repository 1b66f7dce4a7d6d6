"""The GP's view of a campaign: predicted E_b and its uncertainty over the whole pool, and the
next proposals with their acquisition values.

:func:`pool_predictions` fits the campaign's own model (its configuration: oBO/aBO, kernel,
length scales, hyperprior, target transform, transfer source) on the finished E_b only, with the
seed of the campaign's next decision, and predicts every composition of the pool. Means and
standard deviations are in eV (log-normal moments when the GP models log E_b).
:func:`next_proposals` is the decision the agent would take now (what ``tavbo status --next``
shows); it conditions on pending evaluations as the agent does. Neither writes anything.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bo_agent.campaign.agent import CampaignAgent
from bo_agent.campaign.state import Status
from bo_agent.decide.strategy import decision_seed, make_model
from bo_agent.gp.target_transform import TargetScale
from workflows.errors import TavboError

if TYPE_CHECKING:
    from fireworks import LaunchPad

__all__ = ["MIN_OBSERVATIONS", "next_proposals", "pool_predictions"]

logger = logging.getLogger(__name__)

#: Finished evaluations a GP needs before it is fitted (the agent's own rule: at least 2).
MIN_OBSERVATIONS = 2

_COLUMNS = ["id", "A", "M", "X", "Z", "status", "e_b", "mean", "std"]


def pool_predictions(lp: LaunchPad, campaign: str) -> pd.DataFrame:
    """One row per composition of the pool: sites, status, measured E_b (done ones) and the
    GP's predicted ``mean`` and ``std`` of E_b (eV).

    ``mean``/``std`` are NaN for a random-search campaign or before two results exist.
    """
    agent = CampaignAgent.view(campaign, lp)
    records = {r.candidate_id: r for r in agent.records()}
    observed = {
        cid: float(r.e_b)
        for cid, r in records.items()
        if r.status == Status.done.value and r.e_b is not None
    }
    pool, cfg = agent.pool, agent.config
    mean = np.full(len(pool.ids), np.nan)
    std = np.full(len(pool.ids), np.nan)
    error = None
    if cfg.model != "random" and len(observed) >= MIN_OBSERVATIONS:
        try:
            mean, std = _fit_and_predict(agent, observed)
        except (ArithmeticError, ValueError, RuntimeError, TavboError) as exc:
            logger.warning("GP of campaign %s not fitted: %s", campaign, exc)
            error = f"{type(exc).__name__}: {exc}"
    rows = []
    for i, cid in enumerate(pool.ids):
        cand = agent.space.get(cid)
        rec = records.get(cid)
        rows.append(
            {
                "id": cid,
                "A": cand.carrier,
                "M": cand.m,
                "X": cand.x,
                "Z": cand.z,
                "status": rec.status if rec is not None else Status.new.value,
                "e_b": observed.get(cid, math.nan),
                "mean": mean[i],
                "std": std[i],
            }
        )
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    frame.attrs["gp_error"] = error  # why the GP could not be fitted, if it could not
    return frame


def _fit_and_predict(agent: CampaignAgent, observed: dict[str, float]) -> tuple[Any, Any]:
    """The campaign's GP fitted on ``observed``: predicted mean and std (eV) over its pool."""
    pool, cfg = agent.pool, agent.config
    mean = np.full(len(pool.ids), np.nan)
    std = np.full(len(pool.ids), np.nan)
    scale = TargetScale(cfg.target_transform)
    ids = list(observed)
    model = make_model(cfg, pool, decision_seed(cfg.seed, int(agent.campaign.n_decisions)))
    fit_params = {}
    if cfg.transfer != "none":
        src = agent.source_observations() or {}
        rows = [(pool.source_row_of(s), e) for s, e in src.items()]
        rows = [(r, e) for r, e in rows if r is not None]
        fit_params = {
            "X_source": pool.X[[r for r, _ in rows]],
            "y_source": scale.forward(np.array([e for _, e in rows], dtype=float)),
        }
    y = scale.forward(np.array([observed[i] for i in ids], dtype=float))
    model.fit(pool.X[pool.rows(ids)], y, **fit_params)
    post = model.pool_posterior(pool.X)
    for i, (m, s) in enumerate(zip(post.mean, post.std, strict=True)):
        mean[i], std[i] = scale.to_ev(float(m), float(s))
    return mean, std


def next_proposals(lp: LaunchPad, campaign: str, n: int = 3) -> pd.DataFrame:
    """The ``n`` picks of the decision the agent would take now: rank, ID, acquisition value,
    predicted mean and std (eV), strategy (``initial-random`` picks have no values)."""
    decision = CampaignAgent.view(campaign, lp).plan(n)
    rows = [
        {
            "rank": p.rank,
            "id": cid,
            "acquisition": p.acquisition,
            "acq_value": p.value,
            "mean": p.mean,
            "std": p.std,
            "strategy": decision.strategy_of(p),
        }
        for cid, p in decision.proposals
    ]
    columns = ["rank", "id", "acquisition", "acq_value", "mean", "std", "strategy"]
    return pd.DataFrame(rows, columns=columns)
