"""``tavbo run``, ``tavbo agent`` and ``tavbo status``: drive and watch campaigns."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bo_agent.cli.evaluate import parse_settings
from bo_agent.cli.formatting import print_records
from bo_agent.cli.options import FormatOpt, OutputFormat
from bo_agent.config import CampaignConfig, load_campaign_config

__all__ = ["agent", "queue_driver", "run", "status"]

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Campaign YAML (fields of CampaignConfig).")
]
CampaignOpt = Annotated[str | None, typer.Option("--campaign", "-c", help="Campaign name.")]
CarrierOpt = Annotated[str | None, typer.Option("--carrier", "-A", help="Target carrier, e.g. Na.")]
EngineOpt = Annotated[
    str | None, typer.Option("--engine", "-e", help="Barrier engine: vasp, chgnet, bvse, table.")
]
BudgetOpt = Annotated[int | None, typer.Option("--budget", "-n", help="Evaluations at most.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="random, obo or abo.")]
KernelOpt = Annotated[str | None, typer.Option("--kernel", help="GP base kernel: matern52, rbf.")]
HyperpriorOpt = Annotated[
    str | None,
    typer.Option(
        "--hyperprior", help="GP hyperparameter prior: none (ML), gamma, lognormal (MAP)."
    ),
]
GroupsOpt = Annotated[str | None, typer.Option("--groups", help="aBO kernel groups: site or kind.")]
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
PendingOpt = Annotated[
    int | None, typer.Option("--max-pending", help="Evaluations in flight at once.")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed of every random choice.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="KEY=VALUE", help="Engine setting, repeatable."),
]


def _config(
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
    hyperprior: HyperpriorOpt = None,
    groups: GroupsOpt = None,
    acquisition: AcqOpt = None,
    transfer: TransferOpt = None,
    source_campaign: SourceOpt = None,
    source_data: SourceDataOpt = None,
    source_carrier: SourceCarrierOpt = None,
    goal: GoalOpt = None,
    tau: TauOpt = None,
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
    from bo_agent.agent import CampaignAgent
    from bo_agent.plots import plot_history
    from bo_agent.report import summarise
    from workflows.evaluation import run_workflow
    from workflows.launchpad import open_launchpad

    cfg = _config(
        config, campaign, setting, carrier=carrier, engine=engine, budget=budget, model=model,
        kernel=kernel, hyperprior=hyperprior, groups=groups, acquisition=acquisition,
        transfer=transfer, source_campaign=source_campaign, source_data=source_data,
        source_carrier=source_carrier, goal=goal, tau=tau,
        max_pending=max_pending, seed=seed,
    )  # fmt: skip
    console = Console(stderr=True)
    lp = open_launchpad()
    try:
        agent = CampaignAgent(cfg, lp)
        console.print(
            f"campaign [bold]{agent.name}[/]: {agent.config.carrier} pool of "
            f"{len(agent.pool.ids)}, engine {agent.config.engine}, model {agent.config.model}, "
            f"acquisition {agent.config.acquisition}, budget {agent.config.budget}"
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


def _ranked_rows(summary: Any) -> list[dict[str, Any]]:
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
    print_records(_ranked_rows(summary), fmt.value, title=f"{summary.name}: E_b ranking (eV)")


def _write_ranked_csv(summary: Any, path: Path) -> None:
    import csv

    rows = _ranked_rows(summary)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["rank"])
        writer.writeheader()
        writer.writerows(rows)


def agent(
    config: ConfigOpt = None,
    campaign: CampaignOpt = None,
    carrier: CarrierOpt = None,
    engine: EngineOpt = None,
    budget: BudgetOpt = None,
    model: ModelOpt = None,
    kernel: KernelOpt = None,
    hyperprior: HyperpriorOpt = None,
    groups: GroupsOpt = None,
    acquisition: AcqOpt = None,
    transfer: TransferOpt = None,
    source_campaign: SourceOpt = None,
    source_data: SourceDataOpt = None,
    source_carrier: SourceCarrierOpt = None,
    goal: GoalOpt = None,
    tau: TauOpt = None,
    max_pending: PendingOpt = None,
    seed: SeedOpt = None,
    setting: SetOpt = None,
    poll: Annotated[float | None, typer.Option("--poll", help="Poll interval, seconds.")] = None,
    lostrun_hours: Annotated[
        float, typer.Option("--lostrun-hours", help="Hours without a ping before a run is lost.")
    ] = 4.0,
    once: Annotated[bool, typer.Option("--once", help="Run one round and exit.")] = False,
    qlaunch: Annotated[
        int,
        typer.Option(
            "--qlaunch",
            help="Queue mode: keep up to N queue jobs (sbatch/qsub) of the campaign submitted.",
        ),
    ] = 0,
    qadapter: Annotated[
        Path | None,
        typer.Option(
            "--qadapter", help="Queue adapter (default: my_qadapter.yaml of FireWorks' config)."
        ),
    ] = None,
    fworker: Annotated[
        Path | None,
        typer.Option("--fworker", help="FireWorker file: submit only its category/query."),
    ] = None,
    resources: Annotated[
        Path | None,
        typer.Option("--resources", help="Per-job queue requests (default: TAVBO_RESOURCES_FILE)."),
    ] = None,
    launch_dir: Annotated[
        Path | None,
        typer.Option(
            "--launch-dir", help="Where queue jobs run (shared file system; default TAVBO_RUN_DIR)."
        ),
    ] = None,
) -> None:
    """Long-lived agent next to a LaunchPad: poll, collect barriers, refit, submit.

    With ``--qlaunch N`` the agent also submits the campaign's jobs to the queue (reservation
    mode, offline jobs for the embedded LaunchPad) and recovers them. Without it, workers run
    the workflows (your own ``qlaunch rapidfire`` or ``rlaunch`` against a MongoDB LaunchPad:
    set ``TAVBO_LAUNCHPAD_FILE`` to your my_launchpad.yaml); offline jobs an earlier agent
    submitted are still recovered.
    """
    from bo_agent.agent import CampaignAgent
    from workflows.launchpad import using_launchpad

    cfg = _config(
        config, campaign, setting, carrier=carrier, engine=engine, budget=budget, model=model,
        kernel=kernel, hyperprior=hyperprior, groups=groups, acquisition=acquisition,
        transfer=transfer, source_campaign=source_campaign, source_data=source_data,
        source_carrier=source_carrier, goal=goal, tau=tau,
        max_pending=max_pending, seed=seed, poll_interval=poll,
    )  # fmt: skip
    console = Console(stderr=True)
    queue = queue_driver(qlaunch, qadapter, fworker, resources, launch_dir)
    with using_launchpad() as lp:
        ag = CampaignAgent(cfg, lp, queue=queue)
        console.print(f"agent for campaign [bold]{ag.name}[/] as {ag.identity}")
        if queue.max_queued:
            console.print(
                f"queue mode: up to {queue.max_queued} jobs, launch directories in "
                f"{queue.launch_dir}"
            )

        def on_round(report: Any) -> None:
            stamp = time.strftime("%H:%M:%S")
            for cid, e_b in report.finished:
                console.print(f"{stamp} done      {cid} E_b = {e_b:.3f} eV")
            for cid, err in report.failed:
                console.print(f"{stamp} failed    {cid}: {err[:100]}")
            for cid, fw in report.submitted:
                console.print(f"{stamp} submitted {cid} (fw {fw})")
            for cid in report.rerun:
                console.print(f"{stamp} rerun     {cid} (lost run)")
            for fw_id, job_id in report.queued:
                console.print(f"{stamp} queued    fw {fw_id} as job {job_id}")
            if report.queue_error:
                console.print(f"{stamp} [red]queue submission failed[/]: {report.queue_error}")
            if report.stop_reason:
                console.print(f"{stamp} stop: {report.stop_reason}")

        ag.run(
            on_round=on_round,
            max_rounds=1 if once else None,
            lostrun_expiration=lostrun_hours * 3600.0,
        )


def queue_driver(
    qlaunch: int = 0,
    qadapter: Path | None = None,
    fworker: Path | None = None,
    resources: Path | None = None,
    launch_dir: Path | None = None,
) -> Any:
    """The agent's :class:`~bo_agent.queue.QueueDriver` from ``tavbo agent``'s queue options.

    Every file is read now, so that a bad one fails before the agent starts.
    """
    from bo_agent.queue import QueueDriver
    from workflows.errors import ConfigError
    from workflows.resources import QueueResources
    from workflows.settings import WorkflowSettings
    from workflows.submit import default_resources

    if qlaunch < 0:
        raise ConfigError(f"invalid --qlaunch {qlaunch}; expected a number of jobs >= 0")
    settings = WorkflowSettings()
    res = QueueResources.from_file(resources) if resources else default_resources(settings)
    qa = fw = None
    if qlaunch or qadapter:
        if qadapter is None:
            from fireworks.fw_config import QUEUEADAPTER_LOC

            if not QUEUEADAPTER_LOC:
                raise ConfigError(
                    "--qlaunch needs a queue adapter: give --qadapter my_qadapter.yaml (written "
                    "by `tavbo init-config`) or set CONFIG_FILE_DIR in FW_config.yaml"
                )
            qadapter = Path(QUEUEADAPTER_LOC)
        qa = _load_fireworks_file(qadapter, "queue adapter")
    if fworker is not None:
        fw = _load_fireworks_file(fworker, "FireWorker")
    return QueueDriver(
        qadapter=qa,
        max_queued=qlaunch,
        fworker=fw,
        launch_dir=launch_dir or settings.run_dir,
        resources=res,
    )


def _load_fireworks_file(path: Path, what: str) -> Any:
    from fireworks import FWorker
    from fireworks.utilities.fw_serializers import load_object_from_file

    from workflows.errors import ConfigError

    try:
        if what == "FireWorker":
            return FWorker.from_file(str(path))
        return load_object_from_file(str(path))
    except FileNotFoundError:
        raise ConfigError(f"{what} file {path} not found") from None
    except Exception as exc:  # YAML errors, unknown classes: report, do not trace back
        raise ConfigError(f"cannot load the {what} from {path}: {exc!r}") from None


def status(
    campaign: CampaignOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    next_n: Annotated[
        int, typer.Option("--next", help="Also show the next N proposals (mean/std).")
    ] = 0,
) -> None:
    """Campaign status: counts, best so far, pending and failed evaluations, next proposals."""
    from bo_agent.report import campaign_names, summarise
    from workflows.launchpad import open_launchpad

    lp = open_launchpad(read_only=True)
    try:
        names = [campaign] if campaign else campaign_names()
        summaries = [summarise(n) for n in names]
        nexts: dict[str, list[dict[str, Any]]] = {}
        if next_n > 0:
            nexts = {s.name: _next_proposals(s, lp, next_n) for s in summaries}
    finally:
        lp.close()
    if fmt == OutputFormat.json:
        data = [s.to_dict() | {"next": nexts.get(s.name, [])} for s in summaries]
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    if not summaries:
        sys.stdout.write("no campaigns yet: start one with `tavbo run` or `tavbo agent`\n")
        return
    for s in summaries:
        c = s.config
        wall = f"{s.mean_wall_time:.1f} s" if s.mean_wall_time is not None else "n/a"
        sys.stdout.write(
            f"campaign {s.name} [{s.status}] {c['carrier']} pool, engine {c['engine']}, "
            f"model {c['model']}, acquisition {c['acquisition']}, budget {c['budget']}\n"
            f"  new {s.counts['new']}  pending {s.counts['pending']}  done {s.counts['done']}  "
            f"failed {s.counts['failed']}  mean time/evaluation {wall}"
            + (f"  stop: {s.stop_reason}" if s.stop_reason else "")
            + "\n"
        )
        rows = _ranked_rows(s)[:10]
        if rows:
            print_records(rows, fmt.value, title=f"{s.name}: best so far (eV)")
        if s.pending:
            print_records(s.pending, fmt.value, title="pending")
        if s.failed:
            print_records(s.failed, fmt.value, title="failed")
        if nexts.get(s.name):
            print_records(nexts[s.name], fmt.value, title="next proposals")


def _next_proposals(summary: Any, lp: Any, n: int) -> list[dict[str, Any]]:
    from bo_agent.agent import CampaignAgent

    decision = CampaignAgent.view(summary.name, lp).plan(n)
    return [
        {"rank": p.rank, "id": cid, "acq": p.value, "mean": p.mean, "std": p.std}
        for cid, p in decision.proposals
    ]
