"""Campaign configuration: what to search, with which engine, model, acquisition and budget.

A campaign is configured from a YAML file and/or CLI flags (flags win). The configuration is
validated once, up front, so a typo fails before anything is submitted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bo_agent.gp.priors import HyperpriorName
from bo_agent.gp.target_transform import TargetTransform
from workflows.engines import ENGINES
from workflows.errors import ConfigError

__all__ = [
    "ACQUISITIONS",
    "HYPERPRIORS",
    "LENGTH_SCALES",
    "MODELS",
    "TRANSFERS",
    "CampaignConfig",
    "load_campaign_config",
]

MODELS = ("random", "obo", "abo", "auto")
TRANSFERS = ("none", "hp", "gp", "multitask")
ACQUISITIONS = ("ei", "pi", "lcb", "ts", "below")
# auto, loo, cv, average and alternate combine bo_agent.gp.priors.HYPERPRIORS (the rest)
HYPERPRIORS = (
    "auto", "loo", "cv", "average", "alternate", "none", "gamma", "gamma-total", "lognormal"
)  # fmt: skip
LENGTH_SCALES = ("auto", "ard", "shared")

Model = Literal["random", "obo", "abo", "auto"]
Incumbent = Literal["observed", "posterior"]
Transfer = Literal["none", "hp", "gp", "multitask"]
AcquisitionName = Literal["ei", "pi", "lcb", "ts", "below"]
Goal = Literal["minimum", "threshold"]
Hyperprior = Literal[
    "auto", "loo", "cv", "average", "alternate", "none", "gamma", "gamma-total", "lognormal"
]  # fmt: skip
LengthScales = Literal["auto", "ard", "shared"]


class CampaignConfig(BaseModel):
    """Everything that defines a campaign; stored verbatim in the campaign document.

    Energies are in eV. ``budget`` counts finished plus pending evaluations (failed ones too: a
    failed calculation cost compute).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field("default", description="Campaign name (unique in the database)")
    space: str | None = Field(None, description="Composition-space YAML; None = packaged default")
    carrier: str = Field("Na", description="Carrier element of the target pool (A site)")
    engine: str = Field("bvse", description=f"Barrier engine: one of {sorted(ENGINES)}")
    engine_settings: dict[str, Any] = Field(default_factory=dict, description="Maker fields")
    model: Model = Field(
        "abo",
        description="random, obo (one GP kernel over all descriptors), abo (additive GP) or auto "
        "(at each decision the one of oBO / aBO, with and without the transfer source, that "
        "best predicts the campaign's own results by leave-one-out, the source kept only while "
        "the campaign's results show it related; bo_agent.decide.selection). Default: abo, or "
        "auto when a transfer source is given",
    )
    kernel: Literal["matern52", "rbf"] = Field("matern52", description="Base kernel")
    length_scales: LengthScales = Field(
        "auto",
        description="GP length scales: ard (one per descriptor column), shared (one for all "
        "columns in oBO, one per group in aBO) or auto (ard when the hyperparameters come from "
        "a transfer source, whose ~159 results determine them; shared otherwise; "
        "docs/benchmarks.md)",
    )
    target_transform: TargetTransform = Field(
        "none",
        description="Scale the GP models E_b on: none (eV) or log (log E_b: the skewed tail of "
        "high barriers no longer sets the variance; thresholds and margins move with it; "
        "bo_agent.gp.target_transform, docs/benchmarks.md)",
    )
    hyperprior: Hyperprior = Field(
        "auto",
        description="GP hyperparameter prior: none (maximum likelihood), gamma or lognormal "
        "(MAP with BayBE's or BoTorch's default priors; bo_agent.gp.priors), gamma-total "
        "(gamma with the signal-variance prior on an additive kernel's total), or auto (the "
        "default: gamma without a transfer source, none with one; docs/benchmarks.md, "
        "'Default since 2026-12-06 evening'), or loo (at each decision both gamma and none are "
        "fitted and the one whose leave-one-out log predictive density of the results is "
        "higher is kept, hyperparameters fitted on all the results; "
        "bo_agent.decide.selection.fit_by_hyperprior), or cv (the same choice by 5-fold "
        "cross-validation, each fold refitted), or average (both fitted, the acquisition "
        "averaged over the two fits), or alternate (gamma and none in turn, by the number of "
        "evaluations)",
    )
    groups: Literal["site", "kind", "kind+element"] = Field(
        "kind",
        description="aBO kernel groups: by descriptor kind or by site, or by kind with one "
        "element-identity term per site and per framework (kind+element; "
        "bo_agent.features.elements, docs/benchmarks.md)",
    )
    transfer: Transfer = Field("none", description="Transfer from source_campaign or source_data")
    source_weight_sd: float | None = Field(
        None,
        gt=0.0,
        description="Transfer gp: None weights the source mean 1 (the report's Li-GP); a number "
        "estimates its weight from the campaign's results, with a normal prior N(1, this^2) "
        "(bo_agent.gp.transfer.source_weight)",
    )
    source_campaign: str | None = Field(None, description="Campaign holding source-carrier data")
    source_data: str | None = Field(
        None,
        description="Instead of a campaign: a data set as transfer source, bvse or chgnet "
        "(packaged references) or a barrier table file; the fidelity ladder uses a cheap "
        "engine's E_b of the target carrier",
    )
    source_carrier: str | None = Field(
        None,
        description="Carrier of the source results; default: the source campaign's carrier, "
        "or the target carrier for source_data",
    )
    acquisition: AcquisitionName = Field("ei", description="Acquisition function")
    xi: float = Field(0.01, description="EI/PI exploration margin, eV")
    incumbent: Incumbent = Field(
        "observed",
        description="EI/PI improve on: posterior (the lowest posterior mean at an evaluated "
        "composition, robust to noisy results) or observed (the lowest observed E_b)",
    )
    stall_guard: float = Field(
        0.0,
        ge=0.0,
        description="EI below this many eV means the search stalls on near-ties: that pick is "
        "a Thompson sample instead (0: off)",
    )
    local_every: int = Field(
        5,
        ge=0,
        description="Every n-th pick of the model is instead a random composition one "
        "substitution (M, X or Z) away from the best result whose neighbourhood is not "
        "exhausted (local random search around the incumbent, for interactions the model "
        "ranks low; goal minimum only); 0: off",
    )
    failed_value: Literal["auto", "worst", "none", "classify"] = Field(
        "auto",
        description="What the GP learns from an evaluation that finished with a result the "
        "engine could not trust (unconverged NEB, a dip that survived repair, a reconstructed "
        "framework; see unconverged/untrusted): worst (it counts as the highest E_b observed "
        "so far, so the search moves away from compositions like it), none (it is left out), "
        "classify (it stays out of the GP; a GP classifier of trusted against failed outcomes "
        "weights the acquisition by the probability of a trusted result; ei, pi or the "
        "threshold goal only), or auto (the default: worst without a transfer source, none "
        "with one, where worst buries the source's best compositions among their failing "
        "neighbours; with model auto, classify while the source is kept). A run failure "
        "(workflow fizzled or defused, worker process died, submission failed, queue refused) "
        "says nothing about the composition and never enters the GP (docs/benchmarks.md, "
        "'Benchmark panel')",
    )
    kappa: float = Field(2.0, description="LCB exploration weight")
    goal: Goal = Field("minimum", description="minimum: best E_b; threshold: all E_b < tau")
    tau: float = Field(
        0.3,
        gt=0,
        description="Threshold E_b, eV (> 0), for goal=threshold and the 'below' acquisition",
    )
    stop_undiscovered: float = Field(
        0.5, description="goal=threshold stops when expected undiscovered hits < this"
    )
    stop_patience: int = Field(
        15,
        ge=0,
        description="goal=threshold stops only after this many evaluations without a new "
        "E_b < tau (the GP alone stops too early; docs/benchmarks.md)",
    )
    budget: int = Field(15, ge=1, description="Maximum evaluations (done + pending + failed)")
    n_initial: int = Field(5, ge=1, description="Random evaluations before the first GP")
    initial_design: Literal["results", "evaluations"] = Field(
        "evaluations",
        description="What n_initial counts: evaluations (the default: an untrusted result "
        "counts too, as the peers in the benchmark start their model after n_initial "
        "evaluations) or results (random picks until n_initial trusted results); the GP needs "
        "2 results either way (docs/benchmarks.md, 'Default since 2026-12-06 evening')",
    )
    max_pending: int = Field(1, ge=1, description="Evaluations in flight at once")
    seed: int = Field(0, description="Seed of every random choice of the campaign")
    poll_interval: float = Field(30.0, gt=0, description="Agent poll interval, seconds")
    lostrun_action: Literal["rerun", "fail"] = Field(
        "rerun", description="What to do with a lost (killed) evaluation"
    )
    max_reruns: int = Field(1, ge=0, description="Reruns of a lost evaluation before failing it")
    unconverged: Literal["fail", "use"] = Field(
        "fail",
        description="A finished evaluation whose NEB of some hop did not converge: fail "
        "(kept in the barrier store, left out of the GP, never proposed again) or use its E_b",
    )
    untrusted: Literal["fail", "use"] = Field(
        "fail",
        description="A finished NEB evaluation whose path still dips below its endpoint after "
        "the repairs, or whose framework reconstructed: fail (kept, flagged, out of the GP) or "
        "use its E_b",
    )

    @model_validator(mode="after")
    def _check(self) -> CampaignConfig:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; expected one of {sorted(ENGINES)}")
        if self.transfer != "none" and not (self.source_campaign or self.source_data):
            raise ValueError(f"transfer={self.transfer!r} needs source_campaign or source_data")
        if self.source_campaign and self.source_data:
            raise ValueError("give source_campaign or source_data, not both")
        if self.target_transform == "log" and self.tau <= 0:
            raise ValueError(f"target_transform='log' needs tau > 0; got {self.tau}")
        if (
            self.failed_value == "classify"
            and self.goal != "threshold"
            and self.acquisition not in ("ei", "pi")
        ):
            raise ValueError(
                f"failed_value='classify' weights ei or pi, not acquisition={self.acquisition!r}"
            )
        if self.transfer != "none" and self.model == "random":
            raise ValueError("transfer needs a GP model (obo or abo), not random")
        if self.transfer != "none" and "model" not in self.model_fields_set:
            # A source is judged by the campaign's own results only under auto: on the panel it
            # is level with always trusting a related source and level with no transfer on a
            # shuffled one, where always trusting falls to 0.04 by t = 20 (docs/benchmarks.md,
            # "Transfer that knows when to trust the source"). Written to __dict__ so that it
            # stays a default: a stored campaign's own model is kept on resume.
            self.__dict__["model"] = "auto"
        return self

    def acquisition_used(self) -> str:
        """The acquisition the campaign picks by: ``below`` (P(E_b < tau)) for the threshold
        goal, ``acquisition`` otherwise."""
        return "below" if self.goal == "threshold" else self.acquisition

    def imputes_failures(self) -> bool:
        """Whether an untrusted result enters the GP at the highest E_b so far
        (``failed_value``).

        ``auto`` does without transfer: on CHGNet Na v2 aBO then finds a composition within
        10 meV by t = 50 in 0.92 of the trials instead of 0.66. With a transfer source it
        does not: the failures sit next to the source's best compositions (S and O
        frameworks), and Li-GP aBO found the exact Na optimum in 0.02 of the trials instead of
        1.00 (docs/benchmarks.md, "Benchmark panel").
        """
        if self.failed_value == "auto":
            return self.transfer == "none"
        return self.failed_value == "worst"

    def classifies_failures(self, source_kept: bool = False) -> bool:
        """Whether the acquisition is weighted by P(trusted result) from a GP classifier of
        the campaign's trusted and untrusted outcomes (``failed_value: classify``).

        ``auto`` does while ``model: auto`` keeps a transfer source (``source_kept``), for EI,
        PI or the threshold goal. The source then leads the model to its carrier's best
        frameworks, some of which fail for this carrier (Li-Sc-Mo-O 0.14 eV, Na-Sc-Mo-O
        reconstructs): on CHGNet Na with the Li source the median to within 10 meV went from
        7.5 to 7 evaluations, and no unrelated source lost (docs/benchmarks.md, "Failures
        weighed while the source is kept").
        """
        if self.failed_value == "auto":
            return source_kept and (self.goal == "threshold" or self.acquisition in ("ei", "pi"))
        return self.failed_value == "classify"

    def gp_hyperprior(self, transfer: str | None = None) -> HyperpriorName:
        """The hyperprior a GP of transfer mode ``transfer`` is fitted with (``hyperprior``;
        ``auto`` resolved; ``transfer`` defaults to the campaign's).

        ``auto`` is Gamma (BayBE's priors) without a transfer source: with 5-15 results
        maximum likelihood switches most of aBO's ten kernel groups off, and the prior keeps
        them on (CHGNet Li +0.20 at t = 20, synthetic interacting +0.44, at a cost of
        0.04-0.10 on the CHGNet Na problems). With a source it is none: with the priors a
        transfer campaign fell from 0.82 to 0.60 at t = 50 on a shuffled source, while the
        source was kept (docs/benchmarks.md, "Default since 2026-12-06 evening"). A transfer
        campaign that drops its source asks for ``transfer="none"`` and so fits the model a
        campaign without a source would. ``loo``, ``cv``, ``average`` and ``alternate`` give
        the first of
        :meth:`gp_hyperpriors` (gamma), the prior a model fitted outside a decision
        (``tavbo predictions``) uses.
        """
        mode = self.transfer if transfer is None else transfer
        if self.hyperprior == "auto":
            return "gamma" if mode == "none" else "none"
        return self.gp_hyperpriors(mode)[0]

    def gp_hyperpriors(self, transfer: str | None = None) -> tuple[HyperpriorName, ...]:
        """The hyperpriors a decision fits and chooses among out of sample: (gamma, none) for
        ``loo`` and ``cv`` (and averages for ``average``, takes in turn for ``alternate``), else
        the one of :meth:`gp_hyperprior`."""
        if self.hyperprior in ("loo", "cv", "average", "alternate"):
            return ("gamma", "none")
        if self.hyperprior == "auto":
            return (self.gp_hyperprior(transfer),)
        return (self.hyperprior,)  # type: ignore[return-value]  (auto, loo, cv handled above)

    def uses_ard(self) -> bool:
        """Whether the GP gets one length scale per descriptor column (``length_scales``).

        ``auto`` gives ARD with transfer: the source's ~159 results determine 31 length
        scales, and on the CHGNet Na benchmark that halves the median evaluations of Li-GP
        and Li-MT aBO (11 -> 6, 10 -> 7); without transfer 5-50 points cannot, and shared
        length scales are ahead (docs/benchmarks.md).
        """
        if self.length_scales == "auto":
            return self.transfer != "none"
        return self.length_scales == "ard"


def _one_line(exc: ValidationError, where: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "config"
        given = err.get("input")
        shown = f" (got {given!r})" if isinstance(given, str | int | float) else ""
        parts.append(f"{loc}: {err['msg']}{shown}")
    return f"{where}: " + "; ".join(parts)


def load_campaign_config(path: str | Path | None = None, **overrides: Any) -> CampaignConfig:
    """Read a campaign YAML (optional) and apply non-None overrides (CLI flags).

    Raises
    ------
    ConfigError
        If the file is unreadable, not YAML, or a field is unknown or invalid.
    """
    data: dict[str, Any] = {}
    where = "campaign options"
    if path is not None:
        where = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read campaign file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a YAML mapping of campaign fields")
        data.update(loaded)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return CampaignConfig(**data)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, where)) from None


def unused_setting(config: CampaignConfig, given: set[str]) -> str | None:
    """Why a setting the user gave (``given``: fields of a file or flags) would have no effect
    in ``config``, the configuration a run will use, if it would not.

    ``config`` is the stored one when a campaign resumes (``--stop-patience`` resuming a
    threshold campaign is used), and a stored campaign made before a check existed still
    resumes: only what is given now is judged.
    """
    source = [f for f in ("source_campaign", "source_data", "source_carrier") if f in given]
    if source and config.transfer == "none":
        return f"{source[0]} needs transfer (hp, gp or multitask); with transfer none it is unused"
    if config.model == "random":
        gp = ("kernel", "length_scales", "hyperprior", "groups", "target_transform")
        used = [f for f in (*gp, "acquisition") if f in given]
        if used:
            return f"{used[0]} needs a GP model (obo, abo or auto); model random uses none"
    if "groups" in given and config.model == "obo":
        return "groups are aBO's kernel groups; model obo has one kernel over all descriptors"
    if config.goal == "threshold" and "acquisition" in given and config.acquisition != "below":
        return (
            f"goal threshold picks by P(E_b < tau) (acquisition below), not "
            f"acquisition={config.acquisition!r}"
        )
    uses_tau = config.goal == "threshold" or config.acquisition == "below"
    if "tau" in given and not uses_tau:
        return "tau needs goal threshold (or acquisition below); a minimum search has no tau"
    stops = [f for f in ("stop_patience", "stop_undiscovered") if f in given]
    if stops and config.goal != "threshold":
        return f"{stops[0]} is the threshold goal's stopping rule; goal {config.goal} has none"
    rule = config.hyperprior in ("cv", "average", "alternate") and "hyperprior" in given
    if rule and config.model == "auto":
        return (
            f"hyperprior {config.hyperprior} needs model obo or abo: model auto chooses among "
            "its fits by leave-one-out (hyperprior loo)"
        )
    if rule and config.hyperprior == "cv" and config.transfer != "none":
        return "hyperprior cv refits folds of a GP without a source; with transfer use loo"
    return None
