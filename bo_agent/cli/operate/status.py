"""``tavbo status``: counts by state, best so far, pending and failed runs, next proposals."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from bo_agent.cli.campaign_options import CampaignOpt
from bo_agent.cli.formatting import print_records
from bo_agent.cli.operate.run import ranked_rows
from bo_agent.cli.options import FormatOpt, OutputFormat

__all__ = ["status"]


def status(
    campaign: CampaignOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    next_n: Annotated[
        int, typer.Option("--next", min=0, help="Also show the next N proposals (mean/std).")
    ] = 0,
) -> None:
    """Campaign status: counts, best so far, pending and failed evaluations, next proposals.

    Pending evaluations whose queue job is held for a reason that never clears (Slurm
    PartitionConfig, ...) or whose submission was refused show it in a ``queue`` column.
    """
    from bo_agent.campaign.report import campaign_names, summarise
    from workflows.hpc.queue_faults import queue_notes
    from workflows.launchpad.opening import open_launchpad

    lp = open_launchpad(read_only=True)
    try:
        names = [campaign] if campaign else campaign_names()
        summaries = [summarise(n) for n in names]
        for s in summaries:  # queue jobs held or refused: why an evaluation does not start
            notes = queue_notes(lp, s.name)
            for row in s.pending if notes else []:  # one column for all rows, or none
                row["queue"] = notes.get(row["candidate_id"], "")
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
            f"model {c['model']}, acquisition {_acquisition(c)}, budget {c['budget']}\n"
            f"  new {s.counts['new']}  pending {s.counts['pending']}  done {s.counts['done']}  "
            f"failed {s.counts['failed']}  mean time/evaluation {wall}"
            + (f"  stop: {s.stop_reason}" if s.stop_reason else "")
            + "\n"
        )
        if s.threshold is not None:
            sys.stdout.write(_threshold_line(s.threshold) + "\n")
        rows = ranked_rows(s)[:10]
        if rows:
            print_records(rows, fmt.value, title=f"{s.name}: best so far (eV)")
        if s.pending:
            print_records(s.pending, fmt.value, title="pending")
        if s.failed:
            print_records(s.failed, fmt.value, title="failed")
        if nexts.get(s.name):
            print_records(_next_rows(nexts[s.name]), fmt.value, title="next proposals")


def _acquisition(config: dict[str, Any]) -> str:
    """The acquisition the agent really uses: the threshold goal always ranks by P(E_b < tau)."""
    if config.get("goal") == "threshold":
        return f"below (goal E_b < {config.get('tau')} eV)"
    return str(config.get("acquisition"))


def _threshold_line(t: dict[str, Any]) -> str:
    """The threshold goal against its stopping rule, in one line."""
    eu = t["expected_undiscovered"]
    eu_txt = "n/a (no GP decision yet)" if eu is None else f"{eu:.2f}"
    return (
        f"  goal E_b < {t['tau']} eV: {t['found']} found; expected undiscovered {eu_txt} "
        f"(stops below {t['stop_undiscovered']}); last hit {t['since_last_hit']} evaluations "
        f"ago (stops after {t['stop_patience']})"
    )


def _next_proposals(summary: Any, lp: Any, n: int) -> list[dict[str, Any]]:
    from bo_agent.campaign.agent import CampaignAgent

    decision = CampaignAgent.view(summary.name, lp).plan(n)
    return [
        {
            "rank": p.rank + 1,
            "id": cid,
            "strategy": decision.strategy_of(p),
            "acquisition": p.acquisition,
            "acq": p.value,
            "mean": p.mean,
            "std": p.std,
        }
        for cid, p in decision.proposals
    ]


def _next_rows(proposals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The proposals as the table shows them: acquisition values to 3 significant digits."""
    return [
        {
            "rank": p["rank"],
            "id": p["id"],
            "strategy": p["strategy"],
            f"acq ({p['acquisition']})": _significant(p["acq"]),
            "mean E_b (eV)": p["mean"],
            "std (eV)": p["std"],
        }
        for p in proposals
    ]


def _significant(value: float) -> str:
    """Acquisition values span decades (an EI of 1e-5 eV is not 0.000): 3 significant digits."""
    return "n/a" if value != value else f"{value:.3g}"
