"""``tavbo``: the command-line entry point; each command is a thin call into the library."""

from __future__ import annotations

from typing import Annotated

import typer

from bo_agent.cli.app import TavboTyper, setup_logging
from bo_agent.cli.explore.agreement import agreement
from bo_agent.cli.explore.barriers import barriers
from bo_agent.cli.explore.benchmark import benchmark
from bo_agent.cli.explore.descriptors import descriptors
from bo_agent.cli.explore.evaluate import evaluate
from bo_agent.cli.explore.screen import export, screen
from bo_agent.cli.explore.space import space_app
from bo_agent.cli.explore.structure import structure
from bo_agent.cli.operate.agent import agent
from bo_agent.cli.operate.campaign import campaign_app
from bo_agent.cli.operate.dashboard import dashboard, report
from bo_agent.cli.operate.hpc import init_config
from bo_agent.cli.operate.reapply import reapply
from bo_agent.cli.operate.run import run
from bo_agent.cli.operate.status import status
from bo_agent.cli.operate.store import store_app

__all__ = ["app"]

app = TavboTyper(
    name="tavbo",
    help=(
        "Bayesian optimisation steering migration-barrier (CI-NEB) workflows on FireWorks, "
        "to find fast ion conductors among tavorite AMXO4Z compounds."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug")
    ] = 0,
) -> None:
    """Set up logging once for every command (``--traceback`` re-raises errors)."""
    setup_logging(verbose)


app.command()(run)
app.command()(agent)
app.command()(status)
app.command()(dashboard)
app.command()(report)
app.command()(evaluate)
app.command()(barriers)
app.command()(screen)
app.command()(export)
app.command()(benchmark)
app.command()(agreement)
app.command("init-config")(init_config)
app.command()(reapply)
app.add_typer(space_app, name="space")
app.add_typer(store_app, name="store")
app.add_typer(campaign_app, name="campaign")
app.command()(descriptors)
app.command()(structure)
