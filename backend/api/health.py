"""``/healthz`` (the process answers) and ``/readyz`` (database, broker and Qdrant answer)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint
from spectree import Response as Responses

from backend.api import service_context
from backend.api.auth import operations
from backend.api.openapi import spec
from backend.api.schemas import HealthOut, ReadinessOut

blueprint = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@blueprint.get("/healthz")
@spec.validate(resp=Responses(HTTP_200=HealthOut))
def healthz() -> HealthOut:
    """Liveness: the process is up (no dependency is checked)."""
    return HealthOut(status="ok")


def _check(name: str, probe: Callable[[], None]) -> str:
    """ "ok" or "unavailable"; where the dependency is and how it failed go to the log, not to the client."""
    try:
        probe()
    except Exception as exc:  # any failure means "not ready"
        log.warning("readiness: %s is unavailable: %s: %s", name, type(exc).__name__, exc)
        return "unavailable"
    return "ok"


@blueprint.get("/readyz")
@operations
@spec.validate(resp=Responses(HTTP_200=ReadinessOut, HTTP_503=ReadinessOut))
def readyz() -> tuple[ReadinessOut, int]:
    """Readiness: the database, the broker and Qdrant answer; 503 when any of them does not."""
    context = service_context()
    checks = {
        "database": _check("database", context.db.ping),
        "broker": _check("broker", context.queue.ping),
        "qdrant": _check("qdrant", context.vectors.ping),
    }
    ready = all(result == "ok" for result in checks.values())
    return ReadinessOut(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503
