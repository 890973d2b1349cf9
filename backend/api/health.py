"""``/healthz`` (the process answers) and ``/readyz`` (database, broker and Qdrant answer)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response

from backend.api import respond, service_context
from backend.api.schemas import HealthOut, ReadinessOut

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """Say the process is up (no dependency is checked)."""
    return respond(HealthOut(status="ok"))


def _check(probe: Callable[[], None]) -> str:
    try:
        probe()
    except Exception as exc:  # any failure means "not ready"; the message says which
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


@blueprint.get("/readyz")
def readyz() -> Response:
    """Check the database, the broker and Qdrant; 503 when any of them does not answer."""
    context = service_context()
    checks = {
        "database": _check(context.db.ping),
        "broker": _check(context.queue.ping),
        "qdrant": _check(context.vectors.ping),
    }
    ready = all(result == "ok" for result in checks.values())
    return respond(ReadinessOut(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503)
