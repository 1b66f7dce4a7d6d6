"""``tavbo campaign``: list, delete and rename campaigns."""

from __future__ import annotations

import contextlib
import io
import sys
from typing import Annotated

import typer

from bo_agent.cli.app import TavboTyper
from bo_agent.cli.formatting import print_records
from bo_agent.cli.options import FormatOpt, OutputFormat

__all__ = ["campaign_app"]

campaign_app = TavboTyper(help="List, delete and rename campaigns.", no_args_is_help=True)


@campaign_app.command("list")
def list_(fmt: FormatOpt = OutputFormat.table) -> None:
    """Every campaign: status, carrier, engine, budget, counts by state, the agent running it.

    Read-only and lock-free: works while a campaign runs.
    """
    from bo_agent.campaign.admin import list_campaigns
    from workflows.launchpad.opening import open_launchpad

    lp = open_launchpad(read_only=True)
    try:
        rows = [c.as_dict() for c in list_campaigns()]
    finally:
        lp.close()
    if not rows and fmt == OutputFormat.table:
        sys.stdout.write("no campaigns yet: start one with `tavbo run` or `tavbo agent`\n")
        return
    print_records(rows, fmt.value, title=f"{len(rows)} campaign{'s' if len(rows) != 1 else ''}")


@campaign_app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="Campaign to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a campaign: its workflows, candidates, decisions and results (refused while an
    agent runs it). Asks for confirmation unless --yes."""
    from bo_agent.campaign.admin import delete_campaign, list_campaigns
    from workflows.errors import ConfigError
    from workflows.launchpad.opening import open_launchpad

    lp = open_launchpad()
    try:
        info = next((c for c in list_campaigns() if c.name == name), None)
        if info is None:
            delete_campaign(lp, name)  # raises the one-line "no campaign" error
        assert info is not None
        done = info.counts["done"]
        if not yes and not typer.confirm(
            f"delete campaign {name!r} ({done} results, {sum(info.counts.values())} "
            "candidates) and all its workflows?",
            err=True,
        ):
            raise ConfigError(f"campaign {name!r} not deleted (not confirmed)")
        with contextlib.redirect_stdout(io.StringIO()):  # FireWorks prints every removal
            removed = delete_campaign(lp, name)
    finally:
        lp.close()
    what = ", ".join(f"{n} {kind}" for kind, n in removed.items())
    sys.stdout.write(f"deleted campaign {name}: {what}\n")


@campaign_app.command("rename")
def rename(
    old: Annotated[str, typer.Argument(help="Campaign to rename.")],
    new: Annotated[str, typer.Argument(help="New name.")],
) -> None:
    """Rename a campaign everywhere it is named (refused while it runs or has evaluations in
    flight)."""
    from bo_agent.campaign.admin import rename_campaign
    from workflows.launchpad.opening import open_launchpad

    lp = open_launchpad()
    try:
        rename_campaign(lp, old, new)
    finally:
        lp.close()
    sys.stdout.write(f"renamed campaign {old} to {new}\n")
