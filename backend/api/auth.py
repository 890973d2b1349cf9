"""API keys on every ``/v1`` route: ``Authorization: Bearer <key>``, checked before anything else.

A route states the scope it needs with :func:`requires`; before the request is validated or
limited, the key is looked up (401 when it is missing, unknown or revoked) and its scopes checked
(403). The caller (its key, catalogue and scopes) is then ``g.caller`` for the route and the rate
limiter. Routes without a scope (``/healthz``, ``/openapi.json``, the web page) are open;
``/readyz`` and ``/metrics`` need an admin key when PROTECT_OPERATIONS is set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Response, current_app, g, request

from backend.api.errors import error_response
from backend.core.domain.access import SCOPES, Caller
from backend.core.services import keys as key_service

View = TypeVar("View", bound=Callable[..., object])
SCOPE_ATTRIBUTE = "s2m_required_scope"
OPERATIONS_ATTRIBUTE = "s2m_operations"
BEARER = "bearer"
# A key is "s2m_" and 43 URL-safe characters; anything much longer is not a key (and is not hashed).
MAX_KEY_LENGTH = 200


def requires(*scopes: str) -> Callable[[View], View]:
    """Mark a route as needing a key with one of ``scopes``."""
    unknown = set(scopes) - set(SCOPES)
    if not scopes or unknown:
        raise ValueError(f"scopes must be some of {SCOPES}, got {scopes}")

    def mark(view: View) -> View:
        setattr(view, SCOPE_ATTRIBUTE, scopes)
        return view

    return mark


def operations(view: View) -> View:
    """Mark an operations route (``/readyz``, ``/metrics``): open, or admin-only under PROTECT_OPERATIONS."""
    setattr(view, OPERATIONS_ATTRIBUTE, True)
    return view


def current_caller() -> Caller:
    """The caller of the current request (routes that need a scope always have one)."""
    return g.caller


def _unauthorized(message: str) -> Response:
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="speech2music"'
    return response


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != BEARER or not key or len(key) > MAX_KEY_LENGTH:
        return None
    return key


def required_scopes() -> tuple[str, ...] | None:
    """The scopes of which the requested route needs one (None: an open route)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return None
    if getattr(view, OPERATIONS_ATTRIBUTE, False):
        return ("admin",) if current_app.extensions["s2m_settings"].protect_operations else None
    return getattr(view, SCOPE_ATTRIBUTE, None)


def _authenticate() -> Response | None:
    if request.method == "OPTIONS":  # CORS preflight: browsers send it without credentials
        return None
    scopes = required_scopes()
    if scopes is None:
        return None
    key = _presented_key()
    if key is None:
        return _unauthorized("this route needs an API key: send the header 'Authorization: Bearer <key>'")
    caller = key_service.authenticate(current_app.extensions["s2m"].db, key)
    if caller is None:
        return _unauthorized("the API key is unknown or revoked")
    if caller.scopes.isdisjoint(scopes):
        held = ", ".join(scope for scope in SCOPES if scope in caller.scopes)
        return error_response(
            403, "forbidden", f"this key has scopes {held}; this route needs scope {' or '.join(scopes)}"
        )
    g.caller = caller
    return None


def init_app(app: Flask) -> None:
    """Check keys before every request (register before the rate limiter, which counts per key)."""
    app.before_request(_authenticate)
