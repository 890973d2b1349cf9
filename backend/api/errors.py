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


def describe_validation_error(exc: ValidationError) -> str:
    """Name each offending field and value: "limit: Input should be ... (got '0')"."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        got = error.get("input")
        parts.append(f"{where}: {message}" + (f" (got {got!r})" if not isinstance(got, dict) else ""))
    return "; ".join(parts)


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
        return error_response(422, "invalid_input", describe_validation_error(exc))

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc: RequestEntityTooLarge) -> Response:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return error_response(413, "too_large", f"the request is larger than the {limit} byte limit")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return error_response(exc.code or 500, _snake(exc.name), exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", f"the server failed: {type(exc).__name__}")
