"""Every error leaves the API as ``{"error": {"code", "message"}}`` with a fitting status."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, current_app
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from backend.core.audio import AudioError, NotAudioError
from backend.core.services.errors import ServiceError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str) -> Response:
    from backend.api import respond
    from backend.api.schemas import ErrorBody, ErrorDetail

    return respond(ErrorBody(error=ErrorDetail(code=code, message=message)), status)


# Values echoed back in a validation message: plain scalars only, and only this much of them.
ECHO_CHARS = 80
# Validation error types that carry their own error code (see backend.api.schemas).
CODED_ERRORS = ("missing_file",)


def _shown(value: object) -> str | None:
    if isinstance(value, str):
        return repr(value if len(value) <= ECHO_CHARS else value[:ECHO_CHARS] + "...")
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    return None  # objects, lists and dicts are not echoed


def describe_validation_error(exc: ValidationError) -> str:
    """Name each offending field and value: "limit: Input should be ... (got '0')"."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        got = _shown(error.get("input"))
        text = f"{where}: {message}" if where else message
        parts.append(text + (f" (got {got})" if got is not None and where else ""))
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
    def _too_large(_exc: RequestEntityTooLarge) -> Response:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return error_response(413, "too_large", f"the request is larger than the {limit} byte limit")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = error_response(exc.code or 500, _snake(exc.name), exc.description or exc.name)
        # Keep what the exception says in headers (a 405's Allow), not its HTML content type.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", f"the server failed: {type(exc).__name__}")
