"""The campaign chooses its own model as evidence accumulates (``model: auto``, the default).

Which GP suits a landscape is not known in advance (oBO and aBO take turns at being ahead on the
benchmark panel, docs/benchmarks.md), and a transfer source (Li results, a cheap engine) helps
only when it is related to the target. So at every decision :func:`select_model` looks at the
campaign's own results:

- with a transfer source, the aBO transfer model is kept while the source's predictions for the
  evaluated compositions rank their results (Spearman correlation at least
  :data:`TRUST_MIN_CORRELATION`, or fewer than :data:`TRUST_MIN_RESULTS` results). A source
  unrelated to the target fails that test after a few results and is dropped: how much to trust
  it is estimated from the target data alone, never from the answer. (Leave-one-out likelihood
  was tried for this and failed: the Li-GP model predicts the Na values worse than a GP of the
  Na data alone, yet finds the Na optimum twice as fast, because it ranks the low end right.)
- otherwise oBO and aBO (shared length scales) are both fitted and the one whose leave-one-out
  log predictive density of the results (:func:`bo_agent.gp.evidence.loo_log_density`) is
  highest is kept.

The choice is a pure function of (config, seed, data), so replays make the same picks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from bo_agent.config import CampaignConfig
from bo_agent.gp.evidence import loo_log_density
from bo_agent.gp.models import GPModel
from bo_agent.gp.transfer import TransferGP

__all__ = [
    "CANDIDATES",
    "TRUST_MIN_CORRELATION",
    "TRUST_MIN_RESULTS",
    "Selection",
    "model_for",
    "select_model",
    "source_correlation",
]

#: Models ``auto`` chooses among by leave-one-out, in tie-break order.
CANDIDATES: tuple[str, ...] = ("abo", "obo")
#: The source is kept while its predictions rank the target results at least this well.
TRUST_MIN_CORRELATION = 0.2
#: Below this many target results the source is trusted without a test.
TRUST_MIN_RESULTS = 3


def model_for(
    model: str, transfer: str, config: CampaignConfig, groups: Mapping[str, list[int]], seed: int
) -> GPModel | TransferGP:
    """The GP of one concrete model (``obo``/``abo``) and transfer mode, as configured."""
    ard = config.length_scales == "ard" or (config.length_scales == "auto" and transfer != "none")
    base = GPModel(
        kernel="additive" if model == "abo" else "ordinary",
        groups=dict(groups) if model == "abo" else None,
        base=config.kernel,
        ard=ard,
        hyperprior=config.hyperprior,
        n_restarts=2,
        random_state=seed,
    )
    if transfer == "none":
        return base
    return TransferGP(base, mode=transfer)  # type: ignore[arg-type]


@dataclass
class Selection:
    """The chosen, fitted model; the LOO log density of each candidate fitted (eV scale); and
    the source's rank correlation with the target results (None: not tested)."""

    model: GPModel | TransferGP
    name: str
    scores: dict[str, float] = field(default_factory=dict)
    source_correlation: float | None = None

    def record(self) -> dict[str, Any]:
        """JSON-ready summary for the decision's audit record."""
        return {
            "chosen": self.name,
            "loo_log_density": dict(self.scores),
            "source_correlation": self.source_correlation,
        }


def source_correlation(source: GPModel, X: np.ndarray, y: np.ndarray) -> float | None:  # noqa: N803
    """Spearman correlation between the source GP's mean at ``X`` and the target results ``y``
    (None below :data:`TRUST_MIN_RESULTS` results or when either side is constant)."""
    if y.size < TRUST_MIN_RESULTS:
        return None
    predicted = source.predict(X)
    if np.ptp(predicted) <= 0 or np.ptp(y) <= 0:
        return None
    return float(spearmanr(predicted, y)[0])


def select_model(
    config: CampaignConfig,
    groups: Mapping[str, list[int]],
    X: np.ndarray,  # noqa: N803  (sklearn's name for a feature matrix)
    y: np.ndarray,
    seed: int,
    fit_params: Mapping[str, Any] | None = None,
) -> Selection:
    """The model of ``model: auto`` for this decision, fitted on ``(X, y)``.

    Parameters
    ----------
    config : CampaignConfig
    groups : mapping of str to list of int
        aBO feature groups.
    X, y : ndarray
        Target observations (y on the GP's scale: eV or log E_b).
    seed : int
        Decision seed (optimiser restarts).
    fit_params : mapping, optional
        Source data of the transfer model (``X_source``, ``y_source``).

    Returns
    -------
    Selection
    """
    rho = None
    if config.transfer != "none":
        params = dict(fit_params or {})
        gp = model_for("abo", config.transfer, config, groups, seed)
        gp.fit(X, y, **params)
        assert isinstance(gp, TransferGP)
        source = gp.source_model_
        if source is None:  # multitask fits no separate source GP
            source = GPModel("additive", groups=dict(groups), base=config.kernel, n_restarts=2)
            source.fit(params["X_source"], params["y_source"])
        rho = source_correlation(source, X, y)
        if rho is None or rho >= TRUST_MIN_CORRELATION:
            return Selection(gp, f"abo+{config.transfer}", {}, rho)
    best: Selection | None = None
    scores: dict[str, float] = {}
    for model in CANDIDATES:
        plain = model_for(model, "none", config, groups, seed)
        plain.fit(X, y)
        scores[model] = loo_log_density(plain)
        if best is None or scores[model] > scores[best.name]:
            best = Selection(plain, model, scores, rho)
    assert best is not None
    return best
