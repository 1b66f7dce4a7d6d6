"""The campaign chooses its own model as evidence accumulates (``model: auto``).

Which GP suits a landscape is not known in advance (oBO and aBO take turns at being ahead on the
benchmark panel, docs/benchmarks.md), and a transfer source (Li results, a cheap engine) helps
only when it is related to the target. So at every decision :func:`select_model` looks at the
campaign's own results:

- with a transfer source, the aBO transfer model is kept while the source can be trusted, judged
  without reading the answer, from the source data and the campaign's own results only:
  the source GP must predict its own held-out results (:func:`signal_share`, a leave-one-out
  Q^2, at least :data:`TRUST_MIN_SIGNAL_SHARE`: a source with no structure of its own, such as
  shuffled results, would hand the target GP its noise level and a fixed list of compositions
  to walk through), and the target results must not rank against it (:data:`TRUST_TEST`
  ``"bound"``: the source is dropped once the upper confidence bound of the Spearman
  correlation between its predictions and the results the model picked (not the random initial
  ones), :func:`correlation_upper_bound`, falls below :data:`TRUST_MIN_CORRELATION`, and from
  :data:`TRUST_PROVE_AFTER` picks on it is kept only when the lower bound is above 0; the
  evidence grows with the number of results, so a few results that happen to rank against a
  right source do not drop it). A dropped source leaves
  the model a campaign without a source would use (aBO, :data:`FALLBACK_CANDIDATES`, with that
  campaign's hyperprior and length scales), learning from untrusted results as that one does
  (``failed_value: auto``). Leave-one-out likelihood was tried for this and failed: the
  Li-GP model predicts the Na values worse than a GP of the Na data alone, yet finds the Na
  optimum twice as fast, because it ranks the low end right.
- otherwise oBO and aBO (shared length scales) are both fitted and the one whose leave-one-out
  log predictive density of the results (:func:`bo_agent.gp.evidence.loo_log_density`) is
  highest is kept.

``hyperprior: loo`` makes the same leave-one-out choice between the Gamma hyperpriors and
maximum likelihood (:func:`fit_by_hyperprior`), for any model: the priors keep aBO's kernel
groups on when 5-15 results cannot (CHGNet Li, the synthetic interacting landscape), and make
the GP confidently wrong next to a cliff (the exact Na optimum, docs/benchmarks.md); which
one the results bear out is an out-of-sample question, not a marginal-likelihood one (maximum
likelihood always has the higher likelihood). ``hyperprior: cv`` asks it by cross-validation
with the hyperparameters refitted per fold. Neither is the default: on the panel, the prior
that predicts better is not the one that searches better (docs/benchmarks.md, "The hyperprior
chosen from the campaign's results").

The choice is a pure function of (config, seed, data), so replays make the same picks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from bo_agent.config import CampaignConfig
from bo_agent.gp.evidence import cv_log_density, loo_log_density, loo_residuals
from bo_agent.gp.mixture import ModelAverage
from bo_agent.gp.models import GPModel
from bo_agent.gp.transfer import TransferGP

__all__ = [
    "CANDIDATES",
    "CV_FOLDS",
    "FALLBACK_CANDIDATES",
    "FALLBACK_IMPUTES",
    "TRUST_MIN_CORRELATION",
    "TRUST_MIN_RESULTS",
    "TRUST_MIN_SIGNAL_SHARE",
    "TRUST_ON_PICKS",
    "TRUST_PROVE_AFTER",
    "TRUST_TEST",
    "TRUST_Z",
    "Selection",
    "correlation_upper_bound",
    "fit_by_hyperprior",
    "model_for",
    "select_model",
    "signal_share",
    "source_correlation",
    "target_trusts",
]

#: Folds of the cross-validation that ``hyperprior: cv`` chooses the hyperprior by.
CV_FOLDS = 5
#: Models ``auto`` chooses among by leave-one-out, in tie-break order.
CANDIDATES: tuple[str, ...] = ("abo", "obo")
#: The source is kept while its predictions rank the target results at least this well.
TRUST_MIN_CORRELATION = 0.2
#: Below this many target results the source is trusted without a test.
TRUST_MIN_RESULTS = 3
#: How the target results judge the source: ``"fixed"`` drops it when the correlation is below
#: :data:`TRUST_MIN_CORRELATION`; ``"bound"`` only when its upper confidence bound is.
TRUST_TEST = "bound"
#: Standard-normal quantile of that bound (1.2816: one-sided 90 %).
TRUST_Z = 1.2816
#: From this many target results on, test ``"bound"`` keeps the source only when the results
#: show it related: the lower confidence bound of the correlation above 0 (None: never).
TRUST_PROVE_AFTER: int | None = 10
#: Judge the source by the results the campaign's model picked, not its random initial ones:
#: the picks sit where the source is low and, as the model learns, beat random starts whatever
#: the source, so with the starts an unrelated source seems to rank the results.
TRUST_ON_PICKS = True
#: A source whose own GP predicts less than this share of its results' variance out of sample
#: (:func:`signal_share`) is not used.
TRUST_MIN_SIGNAL_SHARE = 0.5
#: Models a transfer campaign that dropped its source chooses among: aBO alone, the model a
#: campaign without a source uses (on the unrelated-source problems of the panel choosing
#: between oBO and aBO by leave-one-out was -0.16 at t = 50 on the structured source and +0.08
#: on the shuffled one, docs/benchmarks.md "A dropped source leaves the no-source model").
FALLBACK_CANDIDATES: tuple[str, ...] = ("abo",)
#: Whether the model without the source learns from untrusted results as a campaign without a
#: source does (``failed_value: auto``).
FALLBACK_IMPUTES = True


def model_for(
    model: str,
    transfer: str,
    config: CampaignConfig,
    groups: Mapping[str, list[int]],
    seed: int,
    hyperprior: str | None = None,
) -> GPModel | TransferGP:
    """The GP of one concrete model (``obo``/``abo``) and transfer mode, as configured
    (``hyperprior`` overrides the configured one: one of ``config.gp_hyperpriors``)."""
    ard = config.length_scales == "ard" or (config.length_scales == "auto" and transfer != "none")
    base = GPModel(
        kernel="additive" if model == "abo" else "ordinary",
        groups=dict(groups) if model == "abo" else None,
        base=config.kernel,
        ard=ard,
        hyperprior=hyperprior or config.gp_hyperprior(transfer),  # type: ignore[arg-type]
        n_restarts=2,
        random_state=seed,
    )
    if transfer == "none":
        return base
    return TransferGP(base, mode=transfer, source_weight_sd=config.source_weight_sd)  # type: ignore[arg-type]


def fit_by_hyperprior(
    model: str,
    transfer: str,
    config: CampaignConfig,
    groups: Mapping[str, list[int]],
    X: np.ndarray,  # noqa: N803
    y: np.ndarray,
    seed: int,
    fit_params: Mapping[str, Any] | None = None,
    turn: int | None = None,
) -> tuple[GPModel | TransferGP, str, dict[str, float]]:
    """``model`` fitted on ``(X, y)`` with each of ``config.gp_hyperpriors(transfer)``: the fit
    with the highest out-of-sample log predictive density, its hyperprior, and each one's score
    (empty with a single hyperprior, which is fitted without scoring). Ties go to the first
    (gamma). ``hyperprior: loo`` scores by closed-form leave-one-out (hyperparameters fitted on
    all the data); ``cv`` by :data:`CV_FOLDS`-fold cross-validation, each fold refitted
    (:func:`bo_agent.gp.evidence.cv_log_density`; a transfer model falls back to ``loo``).
    ``average`` returns both fits as a :class:`~bo_agent.gp.mixture.ModelAverage` (the
    acquisition averaged over them), ``alternate`` the fit under hyperprior number ``turn``
    modulo their number (no scores for either); both only for a decision's own model
    (``turn`` given): under ``model: auto``, which already chooses among fits by leave-one-out,
    every rule over several hyperpriors is the ``loo`` choice."""
    best: tuple[GPModel | TransferGP, str] | None = None
    scores: dict[str, float] = {}
    priors = config.gp_hyperpriors(transfer)
    if config.hyperprior == "alternate" and len(priors) > 1 and turn is not None:
        prior = priors[turn % len(priors)]
        gp = model_for(model, transfer, config, groups, seed, hyperprior=prior)
        return gp.fit(X, y, **dict(fit_params or {})), prior, {}
    if config.hyperprior == "average" and len(priors) > 1 and turn is not None:
        fits = [model_for(model, transfer, config, groups, seed, hyperprior=p) for p in priors]
        average = ModelAverage(fits, priors).fit(X, y, **dict(fit_params or {}))
        return average, "average", {}  # type: ignore[return-value]
    for prior in priors:
        gp = model_for(model, transfer, config, groups, seed, hyperprior=prior)
        gp.fit(X, y, **dict(fit_params or {}))
        if len(priors) == 1:
            return gp, prior, {}
        if config.hyperprior == "cv" and isinstance(gp, GPModel):
            scores[prior] = cv_log_density(
                lambda p=prior: _fold_model(model, config, groups, seed, p), X, y, CV_FOLDS, seed
            )
        else:
            scores[prior] = loo_log_density(gp)
        if best is None or scores[prior] > scores[best[1]]:
            best = (gp, prior)
    assert best is not None
    return best[0], best[1], scores


def _fold_model(
    model: str, config: CampaignConfig, groups: Mapping[str, list[int]], seed: int, prior: str
) -> GPModel:
    """The unfitted GP a cross-validation fold refits: as configured, without optimiser
    restarts (the folds only rank the hyperpriors, and restarts would multiply their cost)."""
    gp = model_for(model, "none", config, groups, seed, hyperprior=prior)
    assert isinstance(gp, GPModel)
    gp.n_restarts = 0
    return gp


@dataclass
class Selection:
    """The chosen, fitted model; the LOO log density of each candidate fitted (eV scale); the
    source's rank correlation with the target results (None: not tested) and its GP's signal
    share (None: no source)."""

    model: GPModel | TransferGP
    name: str
    scores: dict[str, float] = field(default_factory=dict)
    source_correlation: float | None = None
    source_signal_share: float | None = None
    source_judged_on: int | None = None
    source_verdict: str | None = None

    @property
    def keeps_source(self) -> bool:
        """Whether the chosen model is the transfer model (the source was kept)."""
        return bool(self.source_verdict and self.source_verdict.startswith("kept"))

    def record(self) -> dict[str, Any]:
        """JSON-ready summary for the decision's audit record: ``source_correlation`` is the
        Spearman correlation over ``source_judged_on`` results the model picked, and
        ``source_verdict`` says whether the source was kept and why."""
        return {
            "chosen": self.name,
            "loo_log_density": dict(self.scores),
            "source_correlation": self.source_correlation,
            "source_signal_share": self.source_signal_share,
            "source_judged_on": self.source_judged_on,
            "source_verdict": self.source_verdict,
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


def signal_share(source: GPModel) -> float:
    """Share of the source results' variance that the source GP predicts out of sample: the
    leave-one-out Q^2 = 1 - sum (y_i - mean_-i)^2 / sum (y_i - ybar)^2 (closed form from the
    fitted Cholesky factor, no refit).

    A source with no structure of its own (the shuffled CHGNet Li results: 0.15 with maximum
    likelihood, -0.08 with the Gamma priors) has nothing for the target to inherit; the real
    CHGNet, BVSE and synthetic sources score 0.62-0.88. The in-sample share of signal used
    before called the shuffled source 0.78-1.00 signal (ARD length scales fit its noise).
    Uses the source data only.
    """
    err, _ = loo_residuals(source)  # z_i - LOO mean, on the GP's standardised scale
    z = source.z_train_
    spread = float(np.sum((z - z.mean()) ** 2))
    return 1.0 - float(np.sum(err**2)) / spread if spread > 0 else 0.0


def correlation_upper_bound(rho: float, n: int, z: float = TRUST_Z) -> float:
    """One-sided upper confidence bound of a Spearman correlation from ``n`` pairs (Fisher z,
    variance 1.06 / (n - 3), Fieller et al. 1957); 1 when ``n <= 3``."""
    if n <= 3:
        return 1.0
    r = float(np.clip(rho, -0.999999, 0.999999))
    return float(np.tanh(np.arctanh(r) + z * np.sqrt(1.06 / (n - 3))))


def select_model(
    config: CampaignConfig,
    groups: Mapping[str, list[int]],
    X: np.ndarray,  # noqa: N803  (sklearn's name for a feature matrix)
    y: np.ndarray,
    seed: int,
    fit_params: Mapping[str, Any] | None = None,
    imputed: tuple[np.ndarray, np.ndarray] | None = None,
    picked: np.ndarray | None = None,
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
    imputed : (ndarray, ndarray), optional
        Untrusted results at the worst E_b (features, y): what a model without the source
        learns from besides ``(X, y)`` when the source is dropped.
    picked : ndarray of bool, optional
        Which results the campaign's model chose (not its random initial ones); with
        :data:`TRUST_ON_PICKS` only those judge the source.

    Returns
    -------
    Selection
    """
    rho = share = n = verdict = None
    if config.transfer != "none":
        params = dict(fit_params or {})
        gp, _, _ = fit_by_hyperprior("abo", config.transfer, config, groups, X, y, seed, params)
        assert isinstance(gp, TransferGP)
        source = gp.source_model_
        if source is None:  # multitask fits no separate source GP
            source = GPModel("additive", groups=dict(groups), base=config.kernel, n_restarts=2)
            source.fit(params["X_source"], params["y_source"])
        share = signal_share(source)
        judged = picked if TRUST_ON_PICKS and picked is not None else np.ones(y.size, bool)
        n = int(judged.sum())
        rho = source_correlation(source, X[judged], y[judged])
        verdict = _verdict(share, rho, n)
        if verdict.startswith("kept"):
            return Selection(gp, f"abo+{config.transfer}", {}, rho, share, n, verdict)
    if FALLBACK_IMPUTES and imputed is not None and imputed[1].size:
        X, y = np.vstack([X, imputed[0]]), np.concatenate([y, imputed[1]])  # noqa: N806
    best: Selection | None = None
    scores: dict[str, float] = {}
    several = len(config.gp_hyperpriors("none")) > 1
    for model in FALLBACK_CANDIDATES if config.transfer != "none" else CANDIDATES:
        for prior in config.gp_hyperpriors("none"):
            name = f"{model}/{prior}" if several else model
            plain = model_for(model, "none", config, groups, seed, hyperprior=prior)
            plain.fit(X, y)
            scores[name] = loo_log_density(plain)
            if best is None or scores[name] > scores[best.name]:
                best = Selection(plain, name, scores, rho, share, n, verdict)
    assert best is not None
    return best


def _verdict(share: float, rho: float | None, n: int) -> str:
    """Why the source is kept or dropped, for the audit record (starts with kept/dropped)."""
    if share < TRUST_MIN_SIGNAL_SHARE:
        limit = TRUST_MIN_SIGNAL_SHARE
        return f"dropped: its GP is mostly noise (leave-one-out signal share {share:.2f} < {limit})"
    if rho is None:
        return f"kept: {n} results to judge it by, fewer than {TRUST_MIN_RESULTS}"
    if target_trusts(rho, n):
        return f"kept: Spearman {rho:.2f} over {n} results"
    proving = TRUST_TEST == "bound" and TRUST_PROVE_AFTER is not None and n >= TRUST_PROVE_AFTER
    why = "not shown related" if proving else "ranks against them"
    return f"dropped: Spearman {rho:.2f} over {n} results, {why}"


def target_trusts(rho: float | None, n: int) -> bool:
    """Whether ``n`` target results whose Spearman correlation with the source's predictions is
    ``rho`` leave the source in place (:data:`TRUST_TEST`; None: too few results to judge).

    ``"bound"``: kept unless the results rank against it (upper bound below
    :data:`TRUST_MIN_CORRELATION`), and from :data:`TRUST_PROVE_AFTER` results on only when they
    show it related (lower bound above 0): a structured but unrelated source is not followed
    for long. ``"fixed"``: kept while ``rho >= TRUST_MIN_CORRELATION``.
    """
    if rho is None:
        return True
    if TRUST_TEST == "bound":
        if TRUST_PROVE_AFTER is not None and n >= TRUST_PROVE_AFTER:
            return -correlation_upper_bound(-rho, n) > 0.0
        return correlation_upper_bound(rho, n) >= TRUST_MIN_CORRELATION
    return rho >= TRUST_MIN_CORRELATION
