"""Reading request bodies within their limits, and what the route models cannot see.

The uploaded file is counted as the form parser writes it: more than ``MAX_UPLOAD_BYTES`` bytes of
file is a 413 (the multipart envelope and the other fields do not count against it), the same for a
body sent with ``Transfer-Encoding: chunked``, and nothing beyond the limit is buffered. The file is
spooled to disk past :data:`SPOOL_BYTES`, so an upload costs the API a constant amount of memory.
A JSON body must be at most :data:`MAX_JSON_BYTES`, nest at most :data:`MAX_JSON_DEPTH` deep,
parse, and be an object.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from collections.abc import Callable
from typing import IO, Any, BinaryIO, TypeVar

from flask import Request, current_app, request
from pydantic import BaseModel
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from backend.core.services.errors import InvalidInputError, ServiceError

View = TypeVar("View", bound=Callable[..., Any])
Body = TypeVar("Body", bound=BaseModel)

# An upload stays in memory up to this many bytes, then goes to a temporary file.
SPOOL_BYTES = 512 * 1024
# Room for the multipart envelope and the text fields around the largest accepted file.
ENVELOPE_BYTES = 512 * 1024
# Limit of a multipart text field (a transcript of 5000 characters is at most 20 kB of UTF-8); Werkzeug
# applies it to its parse buffer too, which takes 64 KiB reads, so it must stay well above that.
MAX_FORM_FIELD_BYTES = 256 * 1024
# Parts of a multipart body: a list field may come as one part per item (up to 1000 excluded ids).
MAX_FORM_PARTS = 1200
# Limits of JSON bodies: their size, and how deeply arrays and objects may nest.
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
# The bytes that matter for nesting: brackets, quotes and backslashes (a linear scan, whatever the body).
_JSON_SPECIAL = re.compile(rb'[\[\]{}"\\]')


class FileTooLarge(RequestEntityTooLarge):
    """The uploaded file itself is larger than ``MAX_UPLOAD_BYTES``."""


class LimitedUploadFile(tempfile.SpooledTemporaryFile):
    """The file a form parser writes an upload into; writing more than ``limit`` bytes raises :class:`FileTooLarge`."""

    def __init__(self, limit: int):
        super().__init__(max_size=SPOOL_BYTES, mode="w+b")
        self.limit = limit
        self.written = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.written += len(data)
        if self.written > self.limit:
            raise FileTooLarge(f"the file is larger than the {self.limit} byte limit")
        return super().write(data)


class ApiRequest(Request):
    """Flask's request, with uploads written to :class:`LimitedUploadFile`."""

    # The largest file this request may upload, when a route allows another than MAX_UPLOAD_BYTES.
    upload_limit: int | None = None

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        limit = self.upload_limit or current_app.extensions["s2m_settings"].max_upload_bytes
        return LimitedUploadFile(limit)  # type: ignore[return-value]


def allow_upload_bytes(limit: int) -> None:
    """Let this request upload a file of up to ``limit`` bytes (call before the form is read)."""
    request.upload_limit = limit  # type: ignore[attr-defined]
    request.max_content_length = limit + ENVELOPE_BYTES


def body_limits(max_upload_bytes: int) -> dict[str, int]:
    """Flask settings that bound a request body for a largest file of ``max_upload_bytes``."""
    return {
        "MAX_CONTENT_LENGTH": max_upload_bytes + ENVELOPE_BYTES,
        "MAX_FORM_MEMORY_SIZE": MAX_FORM_FIELD_BYTES,
        "MAX_FORM_PARTS": MAX_FORM_PARTS,
    }


def upload_stream(file: FileStorage) -> BinaryIO:
    """The uploaded file as a stream from its start (the service copies it; it is never read whole)."""
    file.stream.seek(0)
    return file.stream  # type: ignore[return-value]


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in ``raw`` (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = False
    escaped = -1  # position of the character the last backslash escapes
    for found in _JSON_SPECIAL.finditer(raw):
        position, symbol = found.start(), found.group()
        if in_string:
            if position == escaped:
                continue
            if symbol == b"\\":
                escaped = position + 1
            elif symbol == b'"':
                in_string = False
        elif symbol == b'"':
            in_string = True
        elif symbol in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif symbol in (b"]", b"}"):
            depth -= 1
    return deepest


def _json_too_large() -> ServiceError:
    return ServiceError(f"the JSON body is larger than {MAX_JSON_BYTES} bytes", code="too_large", status=413)


def check_json_object() -> None:
    """Refuse a body that is too large (413), not JSON or nested too deeply (400), or not an object (422).

    On success the parsed body is cached on the request, where the route's model validation reads it.
    """
    request.max_content_length = MAX_JSON_BYTES  # before the body stream is opened: chunked bodies too
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _json_too_large() from None
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise ServiceError(
            f"the JSON body nests arrays and objects more than {MAX_JSON_DEPTH} deep", code="invalid_json", status=400
        )
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ServiceError(f"the body is not valid JSON{where}", code="invalid_json", status=400) from None
    if not isinstance(body, dict):
        raise InvalidInputError(f"the body must be a JSON object, got {type(body).__name__}")
    request.get_json(force=True, cache=True)  # the validator's get_json() now finds it parsed


def json_object_body(view: View) -> View:
    """Check the JSON body before the route's model validates it (decorate outside ``spec.validate``)."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        check_json_object()
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


def validated_body(body: Body | None, model: type[Body]) -> Body:
    """The validated JSON body. spectree validates JSON bodies sent as JSON or as unlabelled data; a body
    labelled as a form reaches the route unvalidated (``None``), and is validated here the same way."""
    return body if body is not None else model.model_validate(request.get_json(force=True, cache=True))
