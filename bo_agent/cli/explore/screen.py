"""``tavbo screen``: evaluate every composition (of a carrier) with one engine, resumably."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bo_agent.cli.explore.evaluate import parse_settings
from bo_agent.cli.options import SpaceOpt
from workflows.engines import check_engine
from workflows.space.compositions import load_space

__all__ = ["export", "screen"]


def screen(
    engine: Annotated[str, typer.Option("--engine", "-e", help="Barrier engine.")],
    carrier: Annotated[
        list[str] | None, typer.Option("--carrier", "-A", help="Only these carriers (repeat).")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", "-c", help="Default: reference-<engine>.")
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", metavar="KEY=VALUE", help="Engine setting, repeatable."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", min=0, help="Stop after this many new evaluations."),
    ] = None,
    retry: Annotated[bool, typer.Option("--retry", help="Rerun failed compositions.")] = False,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Write every result of the campaign to this JSON file."),
    ] = None,
    space: SpaceOpt = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="K/N",
            help="Only the K-th of N contiguous blocks of the compositions, so N processes "
            "(each on its own store, or sharing one LaunchPad) split a screen; merge their "
            "exports with `tavbo export --merge`.",
        ),
    ] = None,
    ids_file: Annotated[
        Path | None,
        typer.Option(
            "--ids",
            metavar="FILE",
            help="Only the compositions listed in FILE (one ID per line, # comments), in that "
            "order: how the reference data v2 reran the most affected compositions first.",
        ),
    ] = None,
) -> None:
    """Exhaustive screening (reference data): resumes where it stopped, never recomputes."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from workflows.flows.screening import parse_shard
    from workflows.flows.screening import screen as run_screen
    from workflows.flows.screening import shard as shard_of
    from workflows.launchpad.opening import open_launchpad

    check_engine(engine)
    comp_space = load_space(space)
    ids = [c.id for c in comp_space if not carrier or c.carrier in carrier]
    if ids_file is not None:
        ids = _listed_ids(ids_file, ids)
    if shard is not None:
        ids = shard_of(ids, *parse_shard(shard))
    campaign = campaign or f"reference-{engine}"
    console = Console(stderr=True)
    lp = open_launchpad()
    try:
        progress = Progress(
            TextColumn(f"[bold]{campaign}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
        )
        task = progress.add_task("screen", total=len(ids), info="")
        new = 0

        def on_result(cid: str, result: Any, error: str | None) -> None:
            nonlocal new
            progress.advance(task)
            if error is None and result is not None:
                progress.update(task, info=f"{cid} {result.e_b:.3f} eV")
            else:
                console.print(f"[red]failed[/] {cid}: {(error or '')[:120]}")

        todo = ids
        if limit is not None:
            from workflows.flows.evaluation import stored_barrier

            done = [i for i in ids if stored_barrier(lp, i, engine, campaign) is not None]
            pending = [i for i in ids if i not in set(done)]
            todo = done + pending[:limit]
            progress.update(task, total=len(todo))
        with progress:
            report = run_screen(
                todo, engine, campaign, lp, space=str(space) if space else None,
                retry_failed=retry, on_result=on_result, **parse_settings(setting),
            )  # fmt: skip
            new = len(report.computed)
        if export is not None:
            from workflows.results.export import export_campaign

            n = export_campaign(campaign, export, engine=engine)
            console.print(f"exported {n} results to {export}")
    finally:
        lp.close()
    console.print(
        f"{campaign}: {new} computed now, {len(report.already_done)} already done, "
        f"{len(report.failed)} failed"
    )


def _listed_ids(path: Path, known: list[str]) -> list[str]:
    """IDs listed in ``path`` (in file order, once each), all of them among ``known``."""
    from workflows.errors import ConfigError

    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"--ids {path}: {exc.strerror or exc}") from None
    listed = [ln.split("#", 1)[0].strip() for ln in lines]
    listed = list(dict.fromkeys(i for i in listed if i))
    unknown = [i for i in listed if i not in set(known)]
    if unknown:
        raise ConfigError(f"--ids {path}: not in the composition space: {', '.join(unknown[:5])}")
    if not listed:
        raise ConfigError(f"--ids {path}: lists no composition")
    return listed


def export(
    path: Annotated[Path, typer.Argument(help="Output JSON (.json or .json.gz).")],
    campaign: Annotated[str, typer.Option("--campaign", "-c", help="Campaign to export.")],
    engine: Annotated[str | None, typer.Option("--engine", "-e", help="Only this engine.")] = None,
    merge: Annotated[
        list[Path] | None,
        typer.Option(
            "--merge",
            help="Also take the records of this export file (repeatable; the same composition "
            "must have the same E_b in both).",
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="Re-measure every NEB E_b from this zero before writing: path_minimum (the "
            "lowest image of each hop's path, the engines' default) or endpoint (the relaxed "
            "vacancy). Default: as stored.",
        ),
    ] = None,
) -> None:
    """Export a campaign's results (read-only: works while another process owns the store)."""
    from workflows.errors import ConfigError
    from workflows.launchpad.opening import open_launchpad
    from workflows.physics.barrier_reference import REFERENCES
    from workflows.results.export import export_campaign

    if reference is not None and reference not in REFERENCES:
        raise ConfigError(f"--reference {reference!r}: use one of {', '.join(REFERENCES)}")
    lp = open_launchpad(read_only=True)
    try:
        known = sorted(set(lp.db["barriers"].distinct("campaign")))
        if campaign not in known and not merge:  # merged files may hold the campaign's records
            raise ConfigError(
                f"no results of campaign {campaign!r} to export; campaigns with results: "
                f"{', '.join(known) or 'none'}"
            )
        n = export_campaign(
            campaign,
            path,
            engine=engine,
            merge=merge or (),
            reference=reference,  # type: ignore[arg-type]
        )
    finally:
        lp.close()
    Console(stderr=True).print(f"exported {n} results of {campaign} to {path}")
