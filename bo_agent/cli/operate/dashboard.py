"""``tavbo dashboard`` (a live web view of the LaunchPad) and ``tavbo report --html FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["dashboard", "report"]

TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="TAVBO_DASHBOARD_TOKEN",
        help="Access token (16+ characters); required to serve on anything but loopback.",
        show_default=False,
    ),
]


def dashboard(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; another than loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="TCP port.")] = 8050,
    refresh: Annotated[
        float,
        typer.Option("--refresh", min=0, help="Seconds between snapshots and page refreshes."),
    ] = 5.0,
    token: TokenOpt = None,
) -> None:
    """Serve a read-only dashboard of the LaunchPad: campaigns, GP maps, jobs, barriers.

    Reads the embedded store's last checkpoint (renewed every --refresh seconds, so a running
    `tavbo run` is watched live) or the MongoDB LaunchPad of TAVBO_LAUNCHPAD_FILE. Never writes.
    """
    import uvicorn

    from bo_agent.api.store import Store
    from bo_agent.dashboard.app import create_app
    from bo_agent.dashboard.security import check_binding

    check_binding(host, token)
    _check_port_free(host, port)
    store = Store.open()
    console = Console(stderr=True)
    try:
        app = create_app(store, refresh=refresh, token=token)
        shown = f"[{host}]" if ":" in host else host
        suffix = "/?token=<your token>" if token else "/"
        console.print(
            f"tavbo dashboard: http://{shown}:{port}{suffix} ({store.where}, read-only, "
            f"refresh {refresh:g} s); Ctrl-C stops it"
        )
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        store.close()


def _check_port_free(host: str, port: int) -> None:
    """Fail with one line before opening anything when the address is taken."""
    import socket

    from workflows.errors import ConfigError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot serve on {host}:{port} ({exc.strerror}); choose another --port"
            ) from None


def report(
    html: Annotated[Path, typer.Option("--html", help="Write one self-contained HTML file here.")],
    campaign: Annotated[
        list[str] | None,
        typer.Option("--campaign", "-c", help="Only this campaign (repeatable; default all)."),
    ] = None,
) -> None:
    """Write the dashboard's views into one HTML file that opens with no server or network."""
    from bo_agent.api.store import Store
    from bo_agent.dashboard.report import write_report

    console = Console(stderr=True)
    with Store.open() as store:
        known = store.campaign_names()
        unknown = [c for c in campaign or [] if c not in known]
        if unknown:
            from workflows.errors import ConfigError

            raise ConfigError(f"no campaign {unknown[0]!r}; campaigns here: {known or 'none'}")
        with console.status("writing the report") as status:
            out = write_report(
                store, html, campaigns=campaign or None, progress=lambda m: status.update(m)
            )
    console.print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
