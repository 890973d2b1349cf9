"""Request ids and access logs for the API: every request's log records carry its ``request_id``.

The id comes from the ``X-Request-ID`` header when it is short and harmless, else it is made up; it
is echoed back in the response.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from backend.core.logging import bind_log_ids, configure_logging, unbind_log_ids

# Ids that may come from a client header: short, and nothing that could forge a log line.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access = logging.getLogger("backend.access")


def _assign_request_id() -> None:
    supplied = request.headers.get("X-Request-ID", "")
    g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
    g.log_ids_token = bind_log_ids(request_id=g.request_id)
    g.observability_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    started = g.get("observability_started")
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    access.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": elapsed_ms,
        },
    )
    return response


def _release_request_id(_error: BaseException | None = None) -> None:
    token = g.pop("log_ids_token", None)
    if token is not None:
        unbind_log_ids(token)


def init_app(app: Flask) -> None:
    """Structured logs and request ids for ``app``."""
    configure_logging(app.extensions["s2m_settings"].log_json)
    app.before_request(_assign_request_id)
    app.after_request(_log_request)
    app.teardown_request(_release_request_id)
