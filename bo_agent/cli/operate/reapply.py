"""``tavbo reapply``: give a campaign's queued and waiting jobs the requests of resources.yaml."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bo_agent.cli.campaign_options import CampaignOpt

__all__ = ["reapply"]


def reapply(
    resources: Annotated[
        Path,
        typer.Option(
            "--resources", help="The corrected resources.yaml.", exists=True, dir_okay=False
        ),
    ],
    campaign: CampaignOpt = None,
    qadapter: Annotated[
        Path | None,
        typer.Option(
            "--qadapter",
            help="Queue adapter to resubmit the cancelled jobs with now (default: my_qadapter.yaml "
            "next to --resources if it exists; without one the agent resubmits them).",
        ),
    ] = None,
    launch_dir: Annotated[
        Path | None,
        typer.Option("--launch-dir", help="Parent of the new launch directories (TAVBO_RUN_DIR)."),
    ] = None,
) -> None:
    """Re-apply resources.yaml to the campaign's Fireworks that have not started.

    Rewrites each waiting, ready or queued Firework's request; cancels queued jobs (scancel/qdel)
    and resubmits them with the new request. Running and finished jobs are left alone. The
    requests are checked against the cluster first (exit 2 if no node can satisfy one). With the
    embedded LaunchPad, stop the agent first (it owns the store) and start it again after.
    """
    from bo_agent.cli.operate.agent import check_request_fits, load_fireworks_file
    from workflows.errors import ConfigError
    from workflows.hpc.offline import qlaunch
    from workflows.hpc.reapply import reapply_resources
    from workflows.hpc.resources import QueueResources
    from workflows.launchpad.opening import using_launchpad
    from workflows.settings import WorkflowSettings

    if not campaign:
        raise ConfigError("give the campaign: --campaign NAME")
    qadapter = qadapter or (
        resources.parent / "my_qadapter.yaml"
        if (resources.parent / "my_qadapter.yaml").is_file()
        else None
    )
    if launch_dir is not None and qadapter is None:
        raise ConfigError(
            "--launch-dir is where resubmitted jobs run: give --qadapter (no my_qadapter.yaml "
            "next to --resources; without one the agent resubmits them)"
        )
    res = QueueResources.from_file(resources)
    qa = load_fireworks_file(qadapter, "queue adapter") if qadapter is not None else None
    q_type = str(getattr(qa, "q_type", None) or ("PBS" if res.scheduler == "pbs" else "SLURM"))
    with using_launchpad() as lp:
        wf = lp.workflows.find_one({"metadata.campaign": campaign}, {"metadata": 1})
        if wf is None:
            raise ConfigError(f"no workflows of campaign {campaign!r} in this LaunchPad")
        if qa is not None:
            check_request_fits(res, qa, wf["metadata"].get("engine"))
        report = reapply_resources(lp, campaign, res, q_type=q_type)
        resubmitted = []
        if qa is not None:
            where = launch_dir or WorkflowSettings().run_dir
            for fw_id in sorted(report.cancelled):
                resubmitted += qlaunch(lp, qa, store=lp.job_store, launch_dir=where, fw_id=fw_id)
    sys.stdout.write(
        f"campaign {campaign}: new requests for {len(report.updated)} Firework(s) "
        f"{report.updated}; cancelled queue jobs {sorted(report.cancelled.values()) or 'none'}; "
        f"resubmitted {[f'fw {q.fw_id} as job {q.reservation_id}' for q in resubmitted] or 'none'}"
        f"; left running {report.running or 'none'}\n"
    )
