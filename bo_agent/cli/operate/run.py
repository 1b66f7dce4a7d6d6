"""``tavbo run``: a whole campaign in this process (agent + in-process workers)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bo_agent.cli.campaign_options import (
    AcqOpt,
    BudgetOpt,
    CampaignOpt,
    CarrierOpt,
    ConfigOpt,
    EngineOpt,
    GoalOpt,
    GroupsOpt,
    HyperpriorOpt,
    KernelOpt,
    LengthScalesOpt,
    ModelOpt,
    PendingOpt,
    SeedOpt,
    SetOpt,
    SourceCarrierOpt,
    SourceDataOpt,
    SourceOpt,
    StopPatienceOpt,
    TargetTransformOpt,
    TauOpt,
    TransferOpt,
    campaign_config,
)
from bo_agent.cli.formatting import print_records
from bo_agent.cli.options import OutputFormat

__all__ = ["ranked_rows", "run"]


class _Progress:
    """Live progress of an in-process campaign: iteration, composition, E_b, best, time."""

    def __init__(self, budget: int, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.best = float("inf")
        self.best_id = ""
        self.progress = Progress(
            TextColumn("[bold]evaluations"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
        )
        self.task = self.progress.add_task("run", total=budget, info="starting")

    def round(self, report: Any) -> None:
        for cid, e_b in report.finished:
            if e_b < self.best:
                self.best, self.best_id = e_b, cid
            self.progress.console.print(
                f"  done  {cid:<14} E_b = {e_b:6.3f} eV   best {self.best_id} {self.best:.3f} eV"
            )
            self.progress.advance(self.task)
        for cid, err in report.failed:
            self.progress.console.print(f"  [red]failed[/] {cid:<14} {err[:90]}")
            self.progress.advance(self.task)

    def running(self, candidate_id: str, fw_id: int) -> None:
        self.progress.update(self.task, info=f"running {candidate_id} (fw {fw_id})")


def run(
    config: ConfigOpt = None,
    campaign: CampaignOpt = None,
    carrier: CarrierOpt = None,
    engine: EngineOpt = None,
    budget: BudgetOpt = None,
    model: ModelOpt = None,
    kernel: KernelOpt = None,
    length_scales: LengthScalesOpt = None,
    hyperprior: HyperpriorOpt = None,
    target_transform: TargetTransformOpt = None,
    groups: GroupsOpt = None,
    acquisition: AcqOpt = None,
    transfer: TransferOpt = None,
    source_campaign: SourceOpt = None,
    source_data: SourceDataOpt = None,
    source_carrier: SourceCarrierOpt = None,
    goal: GoalOpt = None,
    tau: TauOpt = None,
    stop_patience: StopPatienceOpt = None,
    max_pending: PendingOpt = None,
    seed: SeedOpt = None,
    setting: SetOpt = None,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the ranked table (CSV) and the PNG plot.")
    ] = Path("tavbo-results"),
) -> None:
    """Run a whole campaign in this process on the embedded LaunchPad (agent + workers).

    Resumes the campaign if it exists. Ends with a ranked table and a PNG plot of E_b against
    iteration.
    """
    from bo_agent.campaign.agent import CampaignAgent
    from bo_agent.campaign.report import summarise
    from bo_agent.figures.campaign import plot_history
    from workflows.flows.evaluation import run_workflow
    from workflows.launchpad.opening import open_launchpad

    cfg = campaign_config(
        config, campaign, setting, carrier=carrier, engine=engine, budget=budget, model=model,
        kernel=kernel, length_scales=length_scales, hyperprior=hyperprior, groups=groups,
        acquisition=acquisition, target_transform=target_transform,
        transfer=transfer, source_campaign=source_campaign, source_data=source_data,
        source_carrier=source_carrier, goal=goal, tau=tau, stop_patience=stop_patience,
        max_pending=max_pending, seed=seed,
    )  # fmt: skip
    console = Console(stderr=True)
    lp = open_launchpad()
    try:
        agent = CampaignAgent(cfg, lp)
        console.print(
            f"campaign [bold]{agent.name}[/]: {agent.config.carrier} pool of "
            f"{len(agent.pool.ids)}, engine {agent.config.engine}, model {agent.config.model}, "
            f"acquisition {agent.config.acquisition_used()}, budget {agent.config.budget}"
        )
        progress = _Progress(agent.config.budget, console)
        progress.progress.update(
            progress.task, completed=agent.counts()["done"] + agent.counts()["failed"]
        )

        log_path = out / f"{agent.name}.rockets.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)

        def execute(fw_id: int) -> None:
            rec = lp.workflows.find_one({"nodes": fw_id}, {"metadata": 1})
            progress.running(rec["metadata"]["candidate_id"], fw_id)
            # FireWorks and jobflow print every step; keep them in a log file, not the display.
            with log_path.open("a") as log, contextlib.redirect_stderr(log):
                run_workflow(lp, fw_id)

        with progress.progress:
            agent.run(execute=execute, on_round=progress.round, lostrun_expiration=None)
        summary = summarise(agent.name)
    finally:
        lp.close()
    _print_ranked(summary, OutputFormat.table)
    out_dir = out / summary.name
    out_dir.mkdir(parents=True, exist_ok=True)
    png = plot_history(summary, out_dir / "eb_vs_iteration.png")
    csv_path = out_dir / "ranked.csv"
    _write_ranked_csv(summary, csv_path)
    console.print(f"stopped: {summary.stop_reason}")
    console.print(f"wrote {png} and {csv_path} (rocket logs: {log_path})")


def ranked_rows(summary: Any) -> list[dict[str, Any]]:
    return [
        {
            "rank": i,
            "id": r.candidate_id,
            "e_b": r.e_b,
            "iteration": r.iteration,
            "strategy": r.strategy,
            "pred_mean": r.predicted_mean,
            "pred_std": r.predicted_std,
        }
        for i, r in enumerate(summary.ranked, start=1)
    ]


def _print_ranked(summary: Any, fmt: OutputFormat) -> None:
    print_records(ranked_rows(summary), fmt.value, title=f"{summary.name}: E_b ranking (eV)")


def _write_ranked_csv(summary: Any, path: Path) -> None:
    import csv

    rows = ranked_rows(summary)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["rank"])
        writer.writeheader()
        writer.writerows(rows)
