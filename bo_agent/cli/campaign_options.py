"""Options shared by ``tavbo run`` and ``tavbo agent``, and the campaign config they make."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bo_agent.cli.explore.evaluate import parse_settings
from bo_agent.config import CampaignConfig, load_campaign_config

__all__ = [
    "AcqOpt", "BudgetOpt", "CampaignOpt", "CarrierOpt", "ConfigOpt", "EngineOpt", "GoalOpt",
    "GroupsOpt", "HyperpriorOpt", "KernelOpt", "LengthScalesOpt", "ModelOpt", "PendingOpt",
    "SeedOpt", "SetOpt", "SourceCarrierOpt", "SourceDataOpt", "SourceOpt", "StopPatienceOpt",
    "TargetTransformOpt", "TauOpt", "TransferOpt",
    "campaign_config",
]  # fmt: skip

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Campaign YAML (fields of CampaignConfig).")
]
CampaignOpt = Annotated[str | None, typer.Option("--campaign", "-c", help="Campaign name.")]
CarrierOpt = Annotated[str | None, typer.Option("--carrier", "-A", help="Target carrier, e.g. Na.")]
EngineOpt = Annotated[
    str | None,
    typer.Option("--engine", "-e", help="Barrier engine: vasp, chgnet, sevennet, bvse, table."),
]
BudgetOpt = Annotated[int | None, typer.Option("--budget", "-n", help="Evaluations at most.")]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="random, obo, abo or auto (default: abo; auto with --transfer)."),
]
KernelOpt = Annotated[str | None, typer.Option("--kernel", help="GP base kernel: matern52, rbf.")]
HyperpriorOpt = Annotated[
    str | None,
    typer.Option(
        "--hyperprior",
        help="GP hyperparameter prior: auto (gamma without a transfer source, none with one), "
        "none (ML), gamma, lognormal (MAP), loo or cv (gamma or none, whichever predicts the "
        "results better at each decision, by leave-one-out or by 5-fold cross-validation), "
        "average (both fitted, the acquisition averaged over them) or alternate (the two in "
        "turn).",
    ),
]
GroupsOpt = Annotated[
    str | None, typer.Option("--groups", help="aBO kernel groups: kind, site or kind+element.")
]
LengthScalesOpt = Annotated[
    str | None,
    typer.Option(
        "--length-scales",
        help="GP length scales: auto (default: ard with transfer, shared without), ard (one "
        "per column) or shared (one per kernel or aBO group).",
    ),
]
TargetTransformOpt = Annotated[
    str | None,
    typer.Option(
        "--target-transform", help="Scale the GP models E_b on: none (eV, default) or log."
    ),
]
AcqOpt = Annotated[
    str | None, typer.Option("--acquisition", help="ei, pi, lcb, ts or below (threshold).")
]
TransferOpt = Annotated[str | None, typer.Option("--transfer", help="none, hp, gp, multitask.")]
SourceOpt = Annotated[
    str | None, typer.Option("--source-campaign", help="Campaign with source-carrier results.")
]
SourceDataOpt = Annotated[
    str | None,
    typer.Option(
        "--source-data",
        help="Transfer source instead of a campaign: bvse, chgnet (packaged) or a barrier table.",
    ),
]
SourceCarrierOpt = Annotated[
    str | None,
    typer.Option(
        "--source-carrier",
        help="Carrier of the source results (default: the source campaign's; the target's "
        "for --source-data).",
    ),
]
GoalOpt = Annotated[str | None, typer.Option("--goal", help="minimum or threshold.")]
TauOpt = Annotated[float | None, typer.Option("--tau", help="Threshold E_b, eV.")]
StopPatienceOpt = Annotated[
    int | None,
    typer.Option(
        "--stop-patience",
        min=0,
        help="--goal threshold: evaluations without a new E_b < tau before the campaign may "
        "stop early (default 15).",
    ),
]
PendingOpt = Annotated[
    int | None, typer.Option("--max-pending", help="Evaluations in flight at once.")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed of every random choice.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="KEY=VALUE", help="Engine setting, repeatable."),
]


def campaign_config(
    config: Path | None, campaign: str | None, setting: list[str] | None, **kw: Any
) -> CampaignConfig:
    settings = parse_settings(setting)
    overrides = dict(kw)
    if settings:
        overrides["engine_settings"] = settings
    cfg = load_campaign_config(config, name=campaign, **overrides)
    if campaign is None and (config is None or "name" not in cfg.model_fields_set):
        auto = f"{cfg.carrier}-{cfg.engine}-{cfg.model}-{cfg.acquisition}-s{cfg.seed}"
        cfg = cfg.model_copy(update={"name": auto})
    return cfg
