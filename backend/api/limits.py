"""Rate limits per API key, with Flask-Limiter: every /v1 request, uploads and queries counted apart.

Each key may make its own RATE (``s2m keys create --rate-limit``) or DEFAULT_KEY_RATE_LIMIT requests
over all /v1 routes; on top of that, uploads (new tracks and recommendation requests) count against
UPLOAD_RATE_LIMIT and queries (search, reading answers) against QUERY_RATE_LIMIT, per key. Over a
limit the answer is 429 with ``Retry-After``. Counters live in Redis in production (shared by every
API process) and in the API process's memory in the embedded default (one process serves it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, g, request
from flask_limiter import ApplicationLimit, Limiter

from backend.core.config import Settings

View = TypeVar("View", bound=Callable[..., object])
RATE_KIND_ATTRIBUTE = "s2m_rate_kind"
UPLOAD = "uploads"
QUERY = "queries"


def counted_as(kind: str) -> Callable[[View], View]:
    """Count a route against the uploads or the queries limit (besides the key's own limit)."""

    def mark(view: View) -> View:
        setattr(view, RATE_KIND_ATTRIBUTE, kind)
        return view

    return mark


def _key() -> str:
    caller = g.get("caller")
    return "" if caller is None else str(caller.key_id)


def _kind() -> str | None:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, RATE_KIND_ATTRIBUTE, None)


def init_app(app: Flask) -> Limiter:
    """Limit every request made with a key (requests without one, to open routes, are not counted)."""
    settings: Settings = app.extensions["s2m_settings"]

    def key_limit() -> str:
        caller = g.get("caller")
        return (caller.rate_limit if caller is not None else None) or settings.default_key_rate_limit

    def unkeyed() -> bool:
        return g.get("caller") is None

    limits = [
        ApplicationLimit(key_limit, key_function=_key, scope="key", exempt_when=unkeyed),
        ApplicationLimit(
            settings.upload_rate_limit,
            key_function=_key,
            scope=UPLOAD,
            exempt_when=lambda: unkeyed() or _kind() != UPLOAD,
        ),
        ApplicationLimit(
            settings.query_rate_limit,
            key_function=_key,
            scope=QUERY,
            exempt_when=lambda: unkeyed() or _kind() != QUERY,
        ),
    ]
    limiter = Limiter(
        _key,
        app=app,
        application_limits=limits,
        storage_uri=settings.resolved_rate_limit_storage_url,
        # Several deployments (or test runs) may share one Redis, as the broker's keys do.
        key_prefix=f"{settings.broker_key_prefix}s2m-limits",
        headers_enabled=True,
        retry_after="delta-seconds",
        strategy="moving-window",
        # Redis down (it is also the broker, which the API survives): count in memory until it is back.
        in_memory_fallback_enabled=True,
    )
    app.extensions["s2m_limiter"] = limiter
    return limiter
