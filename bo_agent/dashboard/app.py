"""The dashboard's web application (FastAPI): pages, their JSON endpoints and a CSV download.

Pages (HTML, rendered in the browser from the JSON the page embeds, then refreshed from its
endpoint every ``refresh`` seconds): ``/`` campaigns, ``/campaigns/{name}``, ``/jobs``,
``/barriers`` (the filters of ``tavbo barriers``), ``/compositions/{campaign}/{engine}/{id}``.
JSON: the same paths under ``/api``, plus ``/api/barriers.csv``. Everything is GET; the store is
opened read-only (:class:`bo_agent.api.store.Store`) and no route writes.
"""

from __future__ import annotations

import csv
import io
import socket
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from bo_agent.api.store import Store
from bo_agent.api.tables import BARRIER_COLUMNS
from bo_agent.dashboard import views
from bo_agent.dashboard.query import BarrierQuery
from bo_agent.dashboard.render import asset_path, page_html
from bo_agent.dashboard.security import COOKIE, token_ok
from bo_agent.dashboard.snapshot import Snapshot
from workflows.errors import ConfigError, DatabaseError

__all__ = ["create_app"]

#: Pages whose data change while a campaign runs (the others do not poll).
LIVE = ("overview", "campaign", "jobs")


def create_app(store: Store, *, refresh: float = 5.0, token: str | None = None) -> FastAPI:
    """The application over ``store`` (an open read-only :class:`Store`).

    Parameters
    ----------
    refresh : float, default=5.0
        Seconds between snapshots, and between the pages' refreshes (0: no live refresh).
    token : str, optional
        Access token every request must carry (see :mod:`bo_agent.dashboard.security`).
    """
    app = FastAPI(title="tavbo dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    snap = Snapshot(store, refresh=max(refresh, 1.0) if refresh > 0 else 3600.0)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        if request.method not in ("GET", "HEAD"):
            return JSONResponse({"error": "read-only: only GET is served"}, status_code=405)
        if token is not None and not token_ok(request, token):
            return JSONResponse({"error": "access token required (?token=...)"}, 401)
        response: Response = await call_next(request)
        if token is not None and request.query_params.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        # data change with every snapshot; the script, style sheet and plotly.js do not
        static = request.url.path.startswith("/assets/")
        response.headers["Cache-Control"] = "private, max-age=3600" if static else "no-store"
        return response

    @app.exception_handler(ConfigError)
    async def not_found(request: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"error": views.clean(str(exc))}, status_code=404)

    @app.exception_handler(DatabaseError)
    async def unavailable(request: Request, exc: DatabaseError) -> JSONResponse:
        return JSONResponse({"error": views.clean(str(exc))}, status_code=503)

    def page(view: str, endpoint: str, data: dict[str, Any], title: str) -> HTMLResponse:
        live = refresh if view in LIVE else 0
        footer = f"{data.get('source') or store.where} · read-only · tavbo dashboard on "
        footer += socket.gethostname()
        body = {"mode": "server", "view": view, "endpoint": endpoint, "refresh": live}
        body |= {"data": data, "prefix": "", "query": "", "footer": views.clean(footer)}
        return HTMLResponse(page_html(title, body))

    # ------------------------------------------------------------------ data
    def overview_data() -> dict[str, Any]:
        return snap.get(("overview",), views.overview)

    def campaign_data(name: str) -> dict[str, Any]:
        summary = snap.get(("summary", name), lambda s: s.summary(name))
        signature = (
            tuple(sorted(summary.counts.items())),
            summary.status,
            len(summary.history),
            tuple((p["candidate_id"], p["fw_id"]) for p in summary.pending),
        )
        return snap.lasting(("campaign", name), signature, lambda s: views.campaign_view(s, name))

    def jobs_data(campaign: str | None) -> dict[str, Any]:
        return snap.get(("jobs", campaign), lambda s: views.jobs_view(s, campaign))

    def barriers_data(filters: dict[str, Any]) -> dict[str, Any]:
        key = ("barriers", tuple(sorted(filters.items())))
        return snap.get(key, lambda s: views.barriers_view(s, filters))

    def composition_data(campaign: str, engine: str, cid: str) -> dict[str, Any]:
        key = ("composition", campaign, engine, cid)
        return snap.get(key, lambda s: views.composition_view(s, campaign, engine, cid))

    # ------------------------------------------------------------------ JSON
    @app.get("/api/overview")
    def api_overview() -> dict[str, Any]:
        """Every campaign: state, counts, budget, best so far, goal progress."""
        return overview_data()

    @app.get("/api/campaigns/{name}")
    def api_campaign(name: str) -> dict[str, Any]:
        """One campaign: history, GP maps, next proposals, decisions."""
        return campaign_data(name)

    @app.get("/api/jobs")
    def api_jobs(campaign: str | None = None) -> dict[str, Any]:
        """Pending and failed evaluations with their Fireworks and queue jobs."""
        return jobs_data(campaign)

    @app.get("/api/barriers")
    def api_barriers(filters: Annotated[BarrierQuery, Query()]) -> dict[str, Any]:
        """Finished barriers with the filters of ``tavbo barriers``."""
        return barriers_data(filters.given())

    @app.get("/api/barriers.csv")
    def api_barriers_csv(filters: Annotated[BarrierQuery, Query()]) -> Response:
        """The same rows as CSV, with the columns of ``tavbo barriers --format csv``."""
        rows = barriers_data(filters.given())["rows"]
        buf = io.StringIO()
        writer = csv.DictWriter(
            buf, fieldnames=BARRIER_COLUMNS, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
        headers = {"Content-Disposition": 'attachment; filename="barriers.csv"'}
        return Response(buf.getvalue(), media_type="text/csv", headers=headers)

    @app.get("/api/compositions/{campaign}/{engine}/{cid}")
    def api_composition(campaign: str, engine: str, cid: str) -> dict[str, Any]:
        """One evaluated composition: hops, image energies, percolating path, provenance."""
        return composition_data(campaign, engine, cid)

    # ------------------------------------------------------------------ pages
    @app.get("/", response_class=HTMLResponse)
    def overview_page() -> HTMLResponse:
        return page("overview", "/api/overview", overview_data(), "tavbo: campaigns")

    @app.get("/campaigns/{name}", response_class=HTMLResponse)
    def campaign_page(name: str) -> HTMLResponse:
        data = campaign_data(name)
        return page("campaign", f"/api/campaigns/{quote(name)}", data, f"tavbo: {name}")

    @app.get("/jobs", response_class=HTMLResponse)
    def jobs_page(campaign: str | None = None) -> HTMLResponse:
        endpoint = "/api/jobs" + (f"?{urlencode({'campaign': campaign})}" if campaign else "")
        return page("jobs", endpoint, jobs_data(campaign), "tavbo: jobs")

    @app.get("/barriers", response_class=HTMLResponse)
    def barriers_page(filters: Annotated[BarrierQuery, Query()]) -> HTMLResponse:
        return page("barriers", "/api/barriers", barriers_data(filters.given()), "tavbo: barriers")

    @app.get("/compositions/{campaign}/{engine}/{cid}", response_class=HTMLResponse)
    def composition_page(campaign: str, engine: str, cid: str) -> HTMLResponse:
        data = composition_data(campaign, engine, cid)
        endpoint = "/api/compositions/" + "/".join(quote(p) for p in (campaign, engine, cid))
        return page("composition", endpoint, data, f"tavbo: {cid}")

    @app.get("/assets/{name}")
    def asset(name: str) -> Response:
        path = asset_path(name)
        if path is None:
            return JSONResponse({"error": f"no asset {name!r}"}, status_code=404)
        return FileResponse(path)

    return app
