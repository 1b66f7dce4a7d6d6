"""What a benchmark runs: the strategy names and :class:`BenchmarkSettings`, with their defaults.

A strategy is ``<model>[+<transfer>][@<variant>]`` (model ``random``, ``obo``, ``abo``, ``auto``;
transfer ``hp``, ``gp``, ``multitask``; variants, :data:`VARIANTS`: ``baybe-gp``, BayBE's GP
priors and EI settings; ``init-evals``, an untrusted result counts toward ``n_initial``;
``baybe-model``, both; ``baybe-like``, both and failures kept out of the GP (BayBE's recipe
as the peer runs it);
``robust``, EI against the posterior incumbent with the 1-meV stall guard; ``keep``, failed
evaluations stay out of the GP (``failed_value: none``, the behaviour before ``auto``);
``worst``, they enter it at the worst E_b with a transfer source too; ``ml``, ``init-results``
and ``ml-results``, the defaults before 2026-12-06 evening (maximum likelihood, n_initial
counting trusted results); ``trusted-pool``, the pool
holds only the compositions whose result is trusted, an oracle no user has; ``weighted``,
``weighted-tight``, ``weighted-loose``, the transfer source's mean weighted by the campaign's
results with prior sd 0.5, 0.25, 1; ``xi0``, EI with no margin; ``local0``-``local5``, a
random neighbour of the best every n-th pick; ``init10``, ``init20``, that many random
starts) or a peer BO code
(``physbo``, ``baybe``; variant ``trusted-pool`` only, :data:`PEER_VARIANTS`).
:func:`parse_strategy` splits and checks a name, :func:`strategy_overrides` gives a variant's
campaign settings, :func:`strategy_label` gives the report's notation. The settings
default to
the report's protocol (Fig. 2: 50 trials of every strategy; Fig. 3: 1000 trials of random, oBO
and aBO); :meth:`BenchmarkSettings.quick` is a smoke run of every code path. Everything else in
the package reads these names, so they sit at the bottom of it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bo_agent.config import CampaignConfig
from workflows.errors import ConfigError

__all__ = [
    "ALL_STRATEGIES",
    "FIGURES",
    "PEERS",
    "PEER_POOL",
    "PEER_VARIANTS",
    "THRESHOLD_STRATEGIES",
    "VARIANTS",
    "BenchmarkSettings",
    "default_jobs",
    "parse_strategy",
    "settings_dict",
    "strategy_label",
    "strategy_overrides",
    "trusted_pool",
]


#: Every strategy of the report and of tavbo: random, oBO, aBO, each GP with each transfer
#: (``auto`` and ``auto+gp`` are measured on request, ``--strategies``, and in the panel).
ALL_STRATEGIES: tuple[str, ...] = (
    "random",
    "obo",
    "abo",
    "obo+hp",
    "abo+hp",
    "obo+gp",
    "abo+gp",
    "obo+multitask",
    "abo+multitask",
)
#: Strategies of the threshold benchmark by default (the report's Fig. 3).
THRESHOLD_STRATEGIES: tuple[str, ...] = ("random", "obo", "abo")
#: What a benchmark can run: Fig. 2 and Fig. 3 analogues, and the threshold stopping rule.
FIGURES: tuple[str, ...] = ("optimum", "threshold", "stopping")
#: Other BO codes (optional; :mod:`bo_agent.benchmark.peers`).
PEERS: tuple[str, ...] = ("physbo", "baybe")
#: Acquisition variants of a GP strategy (``auto@robust``): campaign settings that differ from
#: the benchmark's, so one panel compares them on the same paired seeds.
_BAYBE_GP: dict[str, Any] = {
    "length_scales": "ard",
    "hyperprior": "gamma",
    "incumbent": "posterior",
    "xi": 0.0,
}
VARIANTS: dict[str, dict[str, Any]] = {
    "robust": {"incumbent": "posterior", "stall_guard": 0.001},
    "keep": {"failed_value": "none"},
    # Failures out of the GP, the acquisition weighted by P(trusted) from a GP classifier.
    "classify": {"failed_value": "classify"},
    "worst": {"failed_value": "worst"},
    "init-evals": {"initial_design": "evaluations"},
    # BayBE 0.15's surrogate and acquisition in tavbo's GP: ARD Matern 5/2 with its Gamma
    # priors (dimension-scaled length scale, noise), EI from the posterior-mean incumbent, no
    # margin (qLogEI has none); with ``obo`` it is BayBE's single kernel over every column.
    "baybe-gp": _BAYBE_GP,
    # BayBE's GP and EI settings, the model from the n_initial-th evaluation on, and tavbo's
    # own failed_value (auto: untrusted results at the worst E_b without a transfer source).
    "baybe-model": {**_BAYBE_GP, "initial_design": "evaluations"},
    # BayBE's whole recipe as the like-for-like peer runs it: the above, with failures out of
    # the GP (it excludes them).
    "baybe-like": {**_BAYBE_GP, "initial_design": "evaluations", "failed_value": "none"},
    # The defaults before 2026-12-06 evening, for paired comparisons with the current ones:
    # maximum-likelihood hyperparameters (ml), n_initial counting trusted results
    # (init-results), or both (ml-results). init-evals above is now the default design.
    "ml": {"hyperprior": "none"},
    "init-results": {"initial_design": "results"},
    "ml-results": {"hyperprior": "none", "initial_design": "results"},
    # BayBE's Gamma priors whatever the transfer mode (the default uses them without a source).
    "gamma": {"hyperprior": "gamma"},
    # The Gamma priors with the signal-variance prior on aBO's total, not on each group.
    "gamma-total": {"hyperprior": "gamma-total"},
    # Gamma priors or maximum likelihood, whichever predicts the results better by
    # leave-one-out at each decision.
    "loo": {"hyperprior": "loo"},
    # The same choice by 5-fold cross-validation, hyperparameters refitted in each fold.
    "cv": {"hyperprior": "cv"},
    # Both fits, the acquisition averaged over them (integrated over the hyperparameters).
    "average": {"hyperprior": "average"},
    # Gamma priors and maximum likelihood in turn, by the number of evaluations.
    "alternate": {"hyperprior": "alternate"},
    # The transfer source's mean weighted by the campaign's own results (source_weight_sd).
    "weighted": {"source_weight_sd": 0.5},
    "weighted-tight": {"source_weight_sd": 0.25},
    "weighted-loose": {"source_weight_sd": 1.0},
    # Element-identity terms (one per site and per framework) added to the kind groups.
    "element": {"groups": "kind+element"},
    # EI with no margin: improvements smaller than xi (10 meV by default) count too.
    "xi0": {"xi": 0.0},
    # Every n-th pick of the model a random neighbour of the best result (the default: 5);
    # local0 is the default before 2026-12-07 evening.
    "local0": {"local_every": 0},
    "local2": {"local_every": 2},
    "local3": {"local_every": 3},
    "local5": {"local_every": 5},
    # More random starts before the first model pick (the default: 5; PHYSBO's panel runs 20).
    "init10": {"n_initial": 10},
    "init20": {"n_initial": 20},
    "trusted-pool": {},  # a pool setting, not a campaign one (:func:`trusted_pool`)
}
#: The pool a peer searches unless ``@trusted-pool``, recorded in ``run.json``: every
#: composition, a failure costing an evaluation. Runs recorded before it (no ``peer_pool``)
#: gave their peers the trusted compositions only, so a panel never reads their peers back.
PEER_POOL = "full"
#: Variants a peer BO code can take (it has no tavbo campaign settings).
PEER_VARIANTS: tuple[str, ...] = ("trusted-pool",)


#: GP settings default to what a campaign uses, so a benchmark measures the defaults.
_CAMPAIGN_DEFAULTS = {k: f.default for k, f in CampaignConfig.model_fields.items()}


@dataclass(frozen=True)
class BenchmarkSettings:
    """What to benchmark; every field has the report's default.

    Parameters
    ----------
    carrier, source_carrier : str, default="Na", "Li"
        Target pool, and the carrier whose results transfer strategies inherit.
    source_data : str or None
        Where transfer strategies take the source results from: None for the benchmark's own
        data set, else another one (``bvse``, ``chgnet`` or a file). With ``source_carrier``
        equal to ``carrier`` this benchmarks the fidelity ladder (a cheap engine's E_b of the
        same compositions as the source).
    strategies : tuple of str
        Fig.-2 strategies: ``random``, ``obo``, ``abo``, ``<model>+<transfer>`` (transfer
        ``hp``, ``gp``, ``multitask``), and the peers ``physbo``, ``baybe``.
    threshold_strategies : tuple of str
        Fig.-3 strategies (same names).
    trials, threshold_trials : int, default=50, 1000
        Trials per strategy of the two figures.
    horizon, threshold_horizon : int, default=60
        Evaluations per trial (5 random ones included).
    stopping_trials, stopping_horizon : int, default=50, 100
        Trials per strategy and tau of the stopping-rule benchmark, and their budget.
    stop_undiscovered, stop_patience : float, int, default=0.5, 15
        The stopping rule judged there (as :class:`~bo_agent.config.CampaignConfig`).
    taus : tuple of float or "matched"
        Thresholds of Fig. 3, eV; ``"matched"`` is the data-set-matched one.
    matched_count : int, default=17
        Compositions below the matched tau (the report's count for Na below 0.3 eV).
    optimum_tol : float, default=0.0
        Fig. 2 counts every composition within this many eV of the lowest E_b as the optimum
        (0: exact ties only). For a data set whose best compositions differ by less than the
        engine's noise (a few meV for CHGNet NEB).
    acquisition : str, default="ei"
        Acquisition of the Fig.-2 runs (Fig. 3 uses ``below``).
    n_initial, q, groups, kernel, length_scales, hyperprior, target_transform, incumbent,
    stall_guard, failed_value
        As in :class:`~bo_agent.config.CampaignConfig` (q is ``max_pending``).
    base_seed : int, default=0
        Trial ``i`` uses seed ``base_seed + i``.
    jobs : int, default=1
        Worker processes.
    space : str or None
        Composition-space YAML (None: the packaged default).
    figures : tuple of {"optimum", "threshold", "stopping"}
        Which benchmarks to run. ``stopping``: threshold searches of the GP strategies of Fig. 3
        ended by the goal's stopping rule instead of a fixed budget (not run by default).
    """

    carrier: str = "Na"
    source_carrier: str = "Li"
    source_data: str | None = None
    strategies: tuple[str, ...] = ALL_STRATEGIES
    threshold_strategies: tuple[str, ...] = THRESHOLD_STRATEGIES
    trials: int = 50
    threshold_trials: int = 1000
    horizon: int = 60
    threshold_horizon: int = 60
    stopping_trials: int = 50
    stopping_horizon: int = 100
    stop_undiscovered: float = 0.5
    stop_patience: int = 15
    taus: tuple[float | str, ...] = (0.3, "matched")
    matched_count: int = 17
    optimum_tol: float = 0.0
    acquisition: str = _CAMPAIGN_DEFAULTS["acquisition"]
    n_initial: int = 5
    q: int = 1
    groups: str = _CAMPAIGN_DEFAULTS["groups"]
    kernel: str = _CAMPAIGN_DEFAULTS["kernel"]
    length_scales: str = _CAMPAIGN_DEFAULTS["length_scales"]
    hyperprior: str = _CAMPAIGN_DEFAULTS["hyperprior"]
    target_transform: str = _CAMPAIGN_DEFAULTS["target_transform"]
    incumbent: str = _CAMPAIGN_DEFAULTS["incumbent"]
    stall_guard: float = _CAMPAIGN_DEFAULTS["stall_guard"]
    #: A data set's failed compositions are flagged (untrusted) results, so this applies to them.
    failed_value: str = _CAMPAIGN_DEFAULTS["failed_value"]
    base_seed: int = 0
    jobs: int = 1
    space: str | None = None
    figures: tuple[str, ...] = ("optimum", "threshold")

    @property
    def source_label(self) -> str:
        """Short name of the transfer source in labels: ``Li``, ``bvse`` or ``Li bvse``."""
        if self.source_data is None:
            return self.source_carrier
        name = Path(self.source_data).name.split(".")[0]
        return name if self.source_carrier == self.carrier else f"{self.source_carrier} {name}"

    @classmethod
    def quick(cls, **overrides: Any) -> BenchmarkSettings:
        """A smoke run of every code path in well under a minute (checks the harness only)."""
        base = cls(
            strategies=("random", "obo", "abo", "abo+hp", "obo+gp", "obo+multitask"),
            threshold_strategies=("random", "abo"),
            trials=2,
            threshold_trials=2,
            horizon=9,
            threshold_horizon=9,
            stopping_trials=2,
            stopping_horizon=12,
        )
        return replace(base, **overrides)


def parse_strategy(name: str) -> tuple[str, str]:
    """``"abo+gp"`` -> ``("abo", "gp")``; peers -> ``(name, "peer")``; a variant
    (``"auto@robust"``) is checked and dropped (:func:`strategy_overrides`).

    Raises
    ------
    ConfigError
        For an unknown model, transfer or variant.
    """
    from bo_agent.config import MODELS, TRANSFERS

    base, _, variant = name.partition("@")
    if base in PEERS and (not variant or variant in PEER_VARIANTS):
        return base, "peer"
    model, _, transfer = base.partition("+")
    transfer = transfer or "none"
    if (
        model not in MODELS
        or transfer not in TRANSFERS
        or (model == "random" and transfer != "none")
        or (variant and (variant not in VARIANTS or model == "random"))
    ):
        allowed = [*ALL_STRATEGIES, *PEERS]
        raise ConfigError(
            f"unknown strategy {name!r}; expected one of {allowed}, a GP strategy optionally "
            f"followed by @{'|@'.join(VARIANTS)}"
        )
    return model, transfer


def strategy_overrides(name: str) -> dict[str, Any]:
    """Campaign settings a strategy's variant sets (``{}`` without one)."""
    parse_strategy(name)
    variant = name.partition("@")[2]
    return dict(VARIANTS[variant]) if variant else {}


def trusted_pool(name: str) -> bool:
    """Whether strategy ``name`` searches only the compositions whose result is trusted
    (``@trusted-pool``) instead of the full pool, where a failed evaluation costs one."""
    parse_strategy(name)
    return name.partition("@")[2] == "trusted-pool"


def strategy_label(name: str, source: str = "Li") -> str:
    """Display name in the report's notation: ``"abo+gp"`` -> ``"Li-GP aBO"``.

    ``source`` names the transfer source (:attr:`BenchmarkSettings.source_label`).
    """
    model, transfer = parse_strategy(name)
    variant = name.partition("@")[2]
    if transfer == "peer":
        return {"physbo": "PHYSBO", "baybe": "BayBE"}[model] + (f" ({variant})" if variant else "")
    pretty = {"random": "random", "obo": "oBO", "abo": "aBO", "auto": "auto"}[model]
    prefix = {"none": "", "hp": "-hp ", "gp": "-GP ", "multitask": "-MT "}[transfer]
    if prefix:
        prefix = source + prefix
    return prefix + pretty + (f" ({variant})" if variant else "")


def default_jobs() -> int:
    """Worker processes by default: the usable cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover  (macOS)
        return max(1, os.cpu_count() or 1)


def settings_dict(settings: BenchmarkSettings) -> dict[str, Any]:
    """JSON-ready settings."""
    return asdict(settings)
