"""``tavbo store``: maintenance of the LaunchPad's database (embedded file or MongoDB)."""

from __future__ import annotations

import sys

from bo_agent.cli.app import TavboTyper

__all__ = ["store_app"]

store_app = TavboTyper(
    help="Maintenance of the LaunchPad's database (embedded store or MongoDB).",
    no_args_is_help=True,
)


@store_app.command("migrate")
def migrate() -> None:
    """Rewrite module paths that moved (issue 16) in every stored document, once.

    Workflows stored before tavbo's modules moved name the old import paths of their jobs;
    this rewrites them so they can run. Running it again changes nothing.
    """
    from workflows.launchpad.migrate import migrate_database
    from workflows.launchpad.opening import open_launchpad

    lp = open_launchpad()
    try:
        changed = migrate_database(lp.db)
        lp.checkpoint()
    finally:
        lp.close()
    if not changed:
        sys.stdout.write("nothing to migrate: every stored module path is current\n")
        return
    for name, n in changed.items():
        sys.stdout.write(f"{name}: {n} documents migrated\n")
