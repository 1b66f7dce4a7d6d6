"""``tavbo report --html FILE``: every dashboard view in one self-contained HTML file.

The file holds the views' JSON, the script, the style sheet and plotly.js (from the ``plotly``
package), so it opens from disk with no server and no network, and can be mailed or attached to
a lab notebook. It is a snapshot: the time it was made is on every page. Navigation is by the
URL's ``#`` part (``#/campaigns/NAME``, ``#/barriers?carrier=Na``), filters and the CSV download
run in the browser over the embedded table.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bo_agent.dashboard import views
from bo_agent.dashboard.render import page_html

if TYPE_CHECKING:
    from collections.abc import Callable

    from bo_agent.api.store import Store

__all__ = ["build_report", "write_report"]


def build_report(
    store: Store, campaigns: list[str] | None = None, progress: Callable[[str], None] | None = None
) -> str:
    """The report's HTML: overview, each campaign, jobs, barriers and every composition."""
    note = progress or (lambda _msg: None)
    names = campaigns or store.campaign_names()
    bundle: dict[str, dict[str, Any]] = {}
    over = views.overview(store)
    if campaigns:
        over["campaigns"] = [c for c in over["campaigns"] if c["name"] in campaigns]
    bundle["/"] = {"view": "overview", "data": over}
    for name in names:
        note(f"campaign {name}: GP maps and decisions")
        bundle[f"/campaigns/{name}"] = {
            "view": "campaign",
            "data": views.campaign_view(store, name),
        }
        bundle[f"/jobs?campaign={name}"] = {"view": "jobs", "data": views.jobs_view(store, name)}
    bundle["/jobs"] = {"view": "jobs", "data": views.jobs_view(store)}
    table = views.barriers_view(store, {})
    if campaigns:
        table["rows"] = [r for r in table["rows"] if r["campaign"] in campaigns]
        table["count"] = len(table["rows"])
    bundle["/barriers"] = {"view": "barriers", "data": table}
    note(f"{len(table['rows'])} compositions")
    for row in table["rows"]:
        path = f"/compositions/{row['campaign']}/{row['engine']}/{row['id']}"
        data = views.composition_view(store, row["campaign"], row["engine"], row["id"])
        bundle[path] = {"view": "composition", "data": data}
    generated = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    page = {
        "mode": "report",
        "bundle": bundle,
        "generated": generated,
        "prefix": "",
        "footer": views.clean(f"{store.where} · report made {generated} by tavbo report"),
    }
    return page_html(f"tavbo report {generated}", page, inline=True)


def write_report(store: Store, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`build_report` to ``path`` (atomically: a temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(build_report(store, **kwargs), encoding="utf-8")
    tmp.replace(path)
    return path
