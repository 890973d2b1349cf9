"""Reading request inputs: the uploaded file, form fields and JSON bodies."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from backend.core.services.errors import InvalidInputError, ServiceError


def uploaded_file(field: str = "file") -> bytes:
    """Return the bytes of the multipart file ``field``; a request without it is refused."""
    upload = request.files.get(field)
    if upload is None:
        raise InvalidInputError(
            f"send the audio as multipart/form-data field {field!r}"
            f" (got content type {request.content_type or 'none'!r})",
            code="missing_file",
        )
    return upload.read()


def form_fields(exclude: tuple[str, ...] = ("file",)) -> dict[str, str]:
    """Return the non-file form fields; a field given twice is refused."""
    fields: dict[str, str] = {}
    for name in request.form:
        values = request.form.getlist(name)
        if len(values) > 1:
            raise InvalidInputError(f"field {name!r} was given {len(values)} times; give it once")
        fields[name] = values[0]
    extra_files = [name for name in request.files if name not in exclude]
    if extra_files:
        raise InvalidInputError(f"unexpected file field(s): {', '.join(extra_files)}")
    return fields


def json_object() -> dict[str, Any]:
    """Parse the body as a JSON object; malformed JSON is a 400, another JSON type a 422."""
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError(f"the body is not valid JSON ({exc})", code="invalid_json", status=400) from None
    if not isinstance(body, dict):
        raise InvalidInputError(f"the body must be a JSON object, got {type(body).__name__}")
    return body


def query_args() -> dict[str, str]:
    return {name: request.args[name] for name in request.args}
