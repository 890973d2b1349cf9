"""Every error leaves the API as ``{"error": {"code", "message"}}`` with a fitting status.

Messages are written for the person who sent the request: they name the field and show at most a
short excerpt of a bad value, and never carry an exception's text or an object's repr (those go to
the log, under the request's id).
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, current_app, g, request
from flask_limiter import RateLimitExceeded
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from backend.api.forms import FileTooLarge
from backend.core.audio import AudioError, NotAudioError
from backend.core.domain.text import excerpt
from backend.core.services.errors import ServiceError
from backend.core.storage.vectors import TRANSIENT_ERRORS

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str) -> Response:
    from backend.api import respond
    from backend.api.schemas import ErrorBody, ErrorDetail

    return respond(ErrorBody(error=ErrorDetail(code=code, message=message)), status)


# Validation error types that carry their own error code (see backend.api.schemas).
CODED_ERRORS = ("missing_file",)
# Problems listed in one 422 message; the rest are counted.
MAX_LISTED_ERRORS = 5
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_]{1,40}$")


def _shown(value: object) -> str | None:
    """An excerpt of a scalar input; objects, lists and dicts are not echoed."""
    if isinstance(value, str):
        return excerpt(value)
    if value is None or isinstance(value, (bool, int, float)):
        return excerpt(repr(value))[1:-1]
    return None


def _where(part: object) -> str:
    text = str(part)
    return text if _FIELD_NAME.match(text) else excerpt(text)


def describe_validation_error(exc: ValidationError) -> str:
    """Name each offending field and show an excerpt of its value: "limit: Input should be ... (got '0')"."""
    errors = exc.errors()
    parts = []
    for error in errors[:MAX_LISTED_ERRORS]:
        where = ".".join(_where(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        got = _shown(error.get("input"))
        text = f"{where}: {message}" if where else message
        parts.append(text + (f" (got {got})" if got is not None and where else ""))
    if len(errors) > MAX_LISTED_ERRORS:
        parts.append(f"and {len(errors) - MAX_LISTED_ERRORS} more problem(s)")
    return "; ".join(parts)


def validation_error_code(exc: ValidationError) -> str:
    """``missing_file`` when that is the only problem, else ``invalid_input``."""
    kinds = {error["type"] for error in exc.errors()}
    return kinds.pop() if len(kinds) == 1 and kinds <= set(CODED_ERRORS) else "invalid_input"


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def init_app(app: Flask) -> None:
    """Register the JSON error handlers."""

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(AudioError)
    def _audio_error(exc: AudioError) -> Response:
        return error_response(415 if isinstance(exc, NotAudioError) else 422, exc.code, str(exc))

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError) -> Response:
        return error_response(422, validation_error_code(exc), describe_validation_error(exc))

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> Response:
        if isinstance(exc, FileTooLarge):
            return error_response(413, "too_large", str(exc.description))
        limit = request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]
        upload_limit = getattr(request, "upload_limit", None) or current_app.extensions["s2m_settings"].max_upload_bytes
        return error_response(
            413,
            "too_large",
            f"the request is too large: at most {limit} bytes in all, a file of at most {upload_limit} bytes,"
            " and form fields of a few kilobytes",
        )

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded) -> Response:
        # Flask-Limiter adds Retry-After (seconds) after the request, as for every limited answer.
        return error_response(
            429,
            "rate_limited",
            f"too many requests: this key may make {exc.description}; retry after Retry-After seconds",
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = error_response(exc.code or 500, _snake(exc.name), exc.description or exc.name)
        # Keep what the exception says in headers (a 405's Allow), not its HTML content type.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    def _unavailable(exc: Exception) -> Response:
        log.warning("a dependency is unavailable: %s: %s", type(exc).__name__, exc)
        return error_response(503, "unavailable", "a service this API depends on did not answer; try again shortly")

    for transient in (OperationalError, *TRANSIENT_ERRORS):
        app.register_error_handler(transient, _unavailable)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        request_id = g.get("request_id", "")
        return error_response(
            500,
            "internal_error",
            f"the server failed on an internal error; its log has the details (request {request_id})",
        )
