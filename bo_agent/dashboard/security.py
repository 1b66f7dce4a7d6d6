"""Who may read the dashboard: loopback only by default, an access token for anything else.

``tavbo dashboard`` binds 127.0.0.1. Serving on another address needs a token (``--token`` or
``TAVBO_DASHBOARD_TOKEN``, at least :data:`MIN_TOKEN_LENGTH` characters): a request must carry it
as ``?token=...`` (the server then sets an HttpOnly cookie, so links work without it), as the
cookie, or as ``Authorization: Bearer ...``. Only GET and HEAD are served: nothing can write.
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import TYPE_CHECKING

from workflows.errors import ConfigError

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["COOKIE", "MIN_TOKEN_LENGTH", "check_binding", "is_loopback", "token_ok"]

COOKIE = "tavbo_token"
MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    """Refuse to serve a non-loopback address without a long enough token.

    Raises
    ------
    ConfigError
        One line naming what to do (exit 2 on the command line).
    """
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"the access token is too short ({len(token)} characters); use at least "
            f"{MIN_TOKEN_LENGTH}, e.g. python -c 'import secrets; print(secrets.token_urlsafe())'"
        )
    if not is_loopback(host) and token is None:
        raise ConfigError(
            f"serving on {host} needs an access token: give --token or set TAVBO_DASHBOARD_TOKEN "
            "(or keep the default --host 127.0.0.1 and use an SSH tunnel)"
        )


def token_ok(request: Request, token: str) -> bool:
    """Whether the request carries ``token`` (query, cookie or bearer header)."""
    given = [request.query_params.get("token"), request.cookies.get(COOKIE)]
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        given.append(auth[7:].strip())
    return any(g is not None and secrets.compare_digest(g, token) for g in given)
