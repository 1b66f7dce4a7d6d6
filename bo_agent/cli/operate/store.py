"""``tavbo store``: maintenance of the LaunchPad's database (embedded file or MongoDB)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

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


@store_app.command("check")
def check() -> None:
    """Check the embedded store (integrity, format, every document readable) and its backup.

    Read-only and lock-free: it can run while a campaign writes. Exits 1 if the store is broken.
    """
    from workflows.errors import DatabaseError
    from workflows.launchpad.maintenance import check_store
    from workflows.settings import WorkflowSettings

    settings = WorkflowSettings()
    if settings.launchpad_file:
        raise DatabaseError(
            "tavbo store check is for the embedded store; unset TAVBO_LAUNCHPAD_FILE"
        )
    path = settings.store_path
    if not path.exists():
        legacy = settings.legacy_store_path
        extra = f" (a JSON store {legacy} is imported at the next open)" if legacy.exists() else ""
        sys.stdout.write(f"{path}: no store yet{extra}\n")
        return
    report = check_store(path)
    backup = (
        f"{report.backup} ({'good' if report.backup_ok else 'BROKEN'})" if report.backup else "none"
    )
    if not report.ok:
        raise DatabaseError(f"{path}: {report.problem}; backup: {backup}")
    n = sum(report.collections.values())
    sys.stdout.write(
        f"{path}: ok, {n} documents in {len(report.collections)} collections, "
        f"{report.size / 1e6:.2f} MB; backup: {backup}\n"
    )
    for name, count in sorted(report.collections.items()):
        sys.stdout.write(f"  {name:<32} {count:>8}\n")


@store_app.command("restore")
def restore(
    force: Annotated[
        bool, typer.Option("--force", help="Restore even though the store checks fine.")
    ] = False,
) -> None:
    """Put the last good backup (taken at the last successful open) back as the embedded store.

    The broken file is kept next to it as ``<store>.broken-<time>``. Refused while another
    process owns the store, and (without --force) when the store is fine.
    """
    from workflows.errors import DatabaseError
    from workflows.launchpad.embedded import StoreLock
    from workflows.launchpad.maintenance import restore_backup
    from workflows.launchpad.sqlite_store import backup_path
    from workflows.settings import WorkflowSettings

    settings = WorkflowSettings()
    if settings.launchpad_file:
        raise DatabaseError(
            "tavbo store restore is for the embedded store; unset TAVBO_LAUNCHPAD_FILE"
        )
    path = settings.store_path
    lock = StoreLock(path)
    lock.acquire()
    try:
        kept = restore_backup(path, force=force)
    finally:
        lock.release()
    sys.stdout.write(f"restored {path} from {backup_path(path)}; the previous file is {kept}\n")
