"""``tavbo agent``: the long-lived agent next to a LaunchPad, optionally driving the queue."""

from __future__ import annotations

import time
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

__all__ = ["agent", "check_request_fits", "load_fireworks_file", "queue_driver"]


def agent(
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
        typer.Option(
            "--resources",
            help="Per-job queue requests (default: TAVBO_RESOURCES_FILE, else the resources.yaml "
            "next to the queue adapter).",
        ),
    ] = None,
    launch_dir: Annotated[
        Path | None,
        typer.Option(
            "--launch-dir", help="Where queue jobs run (shared file system; default TAVBO_RUN_DIR)."
        ),
    ] = None,
    held_timeout: Annotated[
        float,
        typer.Option(
            "--held-timeout",
            help="Seconds a queue job may stay held for a reason that never clears "
            "(PartitionConfig, ...) before its evaluation fails.",
        ),
    ] = 3600.0,
    max_rejections: Annotated[
        int,
        typer.Option(
            "--max-rejections",
            help="Refused submissions (sbatch/qsub errors) of a job before its evaluation fails.",
        ),
    ] = 3,
) -> None:
    """Long-lived agent next to a LaunchPad: poll, collect barriers, refit, submit.

    With ``--qlaunch N`` the agent also submits the campaign's jobs to the queue (reservation
    mode, offline jobs for the embedded LaunchPad) and recovers them. Without it, workers run
    the workflows (your own ``qlaunch rapidfire`` or ``rlaunch`` against a MongoDB LaunchPad:
    set ``TAVBO_LAUNCHPAD_FILE`` to your my_launchpad.yaml); offline jobs an earlier agent
    submitted are still recovered.
    """
    from bo_agent.campaign.agent import CampaignAgent
    from workflows.launchpad.opening import using_launchpad

    cfg = campaign_config(
        config, campaign, setting, carrier=carrier, engine=engine, budget=budget, model=model,
        kernel=kernel, length_scales=length_scales, hyperprior=hyperprior, groups=groups,
        acquisition=acquisition, target_transform=target_transform,
        transfer=transfer, source_campaign=source_campaign, source_data=source_data,
        source_carrier=source_carrier, goal=goal, tau=tau, stop_patience=stop_patience,
        max_pending=max_pending, seed=seed, poll_interval=poll,
    )  # fmt: skip
    console = Console(stderr=True)
    queue = queue_driver(
        qlaunch,
        qadapter,
        fworker,
        resources,
        launch_dir,
        held_timeout=held_timeout,
        max_rejections=max_rejections,
        engine=cfg.engine,
    )
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
    *,
    held_timeout: float = 3600.0,
    max_rejections: int = 3,
    engine: str | None = None,
) -> Any:
    """The agent's :class:`~bo_agent.campaign.queue.QueueDriver` from the queue options.

    Every file is read now, so that a bad one fails before the agent starts. In queue mode the
    requests the engine's jobs will make are checked against the cluster (``sinfo``, or
    ``pbsnodes``): a request no node can satisfy is refused before anything is submitted.
    """
    from bo_agent.campaign.queue import QueueDriver
    from workflows.errors import ConfigError
    from workflows.flows.submit import default_resources
    from workflows.hpc.resources import QueueResources
    from workflows.settings import WorkflowSettings

    if qlaunch < 0:
        raise ConfigError(f"invalid --qlaunch {qlaunch}; expected a number of jobs >= 0")
    # Options of submitting (need --qlaunch) and of watching queue jobs (or --qadapter alone).
    submits = {"--fworker": fworker is not None, "--max-rejections": max_rejections != 3}
    watches = {"--launch-dir": launch_dir is not None, "--held-timeout": held_timeout != 3600.0}
    unused_submit = [flag for flag, given in submits.items() if given and not qlaunch]
    if unused_submit:
        raise ConfigError(
            f"{unused_submit[0]} applies to the jobs the agent submits: give --qlaunch N"
        )
    unused_watch = [flag for flag, given in watches.items() if given and not (qlaunch or qadapter)]
    if unused_watch:
        raise ConfigError(
            f"{unused_watch[0]} applies to queue jobs: give --qlaunch N, or --qadapter to watch "
            "the jobs an earlier agent submitted"
        )
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
        qa = load_fireworks_file(qadapter, "queue adapter")
    if res is None and qadapter is not None and (qadapter.parent / "resources.yaml").is_file():
        res = QueueResources.from_file(qadapter.parent / "resources.yaml")  # init-config's
    if fworker is not None:
        fw = load_fireworks_file(fworker, "FireWorker")
    if qlaunch and qa is not None:
        check_request_fits(res, qa, engine)
    return QueueDriver(
        qadapter=qa,
        max_queued=qlaunch,
        fworker=fw,
        launch_dir=launch_dir or settings.run_dir,
        resources=res,
        held_timeout=held_timeout,
        max_rejections=max_rejections,
    )


def check_request_fits(resources: Any, qadapter: Any, engine: str | None) -> None:
    """Refuse (ConfigError, exit 2) requests of ``engine``'s jobs that no node can satisfy.

    The requests are ``resources`` (``resources.yaml``) or, without it, the queue adapter's own
    defaults; a cluster that cannot be read is left to the scheduler (logged).
    """
    import logging

    from workflows.errors import ConfigError
    from workflows.hpc.cluster import categories_for, check_fits, probe_cluster
    from workflows.hpc.resources import JobResources, QueueResources

    scheduler = "pbs" if str(qadapter.q_type).upper() == "PBS" else "slurm"
    if resources is None:  # the adapter's defaults are every job's request
        nodes, ntasks = int(qadapter.get("nodes") or 1), int(qadapter.get("ntasks") or 1)
        job = JobResources(
            nodes=nodes,
            ntasks=ntasks,
            cpus_per_task=qadapter.get("cpus_per_task"),
            walltime=str(qadapter.get("walltime") or "01:00:00"),
            mem=qadapter.get("mem"),
        )
        resources = QueueResources(scheduler=scheduler, relax=job, neb=job, screening=job)
    try:
        info = probe_cluster(scheduler)
    except ConfigError as exc:
        logging.getLogger(__name__).warning("requests not checked against the cluster: %s", exc)
        return
    categories = categories_for([engine] if engine else ["vasp"])
    check_fits(resources, info, categories, default_queue=qadapter.get("queue"))


def load_fireworks_file(path: Path, what: str) -> Any:
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
