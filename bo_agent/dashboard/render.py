"""The HTML shell of every dashboard page and of the report: one Jinja2 template, one script.

The page's data travel as JSON inside ``<script type="application/json">`` (escaped so that no
string can close the tag); ``assets/dashboard.js`` renders them. plotly.js comes from the
``plotly`` package itself (served by the dashboard, inlined in the report): never from a CDN.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

__all__ = ["ASSETS", "asset_path", "page_html", "plotly_js_path"]

#: Folder of the template, script and style sheet.
ASSETS = Path(__file__).parent / "assets"


def plotly_js_path() -> Path:
    """plotly.min.js as shipped in the installed ``plotly`` package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def asset_path(name: str) -> Path | None:
    """The file served as ``/assets/<name>``, or None for anything else."""
    if name == "plotly.min.js":
        return plotly_js_path()
    if name in ("dashboard.js", "dashboard.css"):
        return ASSETS / name
    return None


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ASSETS), autoescape=jinja2.select_autoescape(["html"])
    )
    return env.get_template("page.html")


def _script_json(data: Any) -> str:
    """JSON safe inside a script element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_html(title: str, page: dict[str, Any], *, inline: bool = False, prefix: str = "") -> str:
    """One HTML page. ``inline``: CSS, plotly.js and the script inside the file (the report)."""
    extra: dict[str, str] = {}
    if inline:
        extra = {
            "css": (ASSETS / "dashboard.css").read_text(),
            "plotly_js": plotly_js_path().read_text().replace("</script", "<\\/script"),
            "app_js": (ASSETS / "dashboard.js").read_text(),
        }
    return _template().render(
        title=title, page_json=_script_json(page), inline=inline, prefix=prefix, **extra
    )
