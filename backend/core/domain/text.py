"""User-supplied text: no control characters, bounded length, and only a short excerpt echoed back.

PostgreSQL refuses NUL in text and SQLite stores it, so the check happens here, before any
database, and the same on every backend. A single-line field (title, artist, tag, id) takes no
control character at all; a multi-line field (a transcript) takes tab and line breaks.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

# Characters an error message shows of a bad value.
EXCERPT_CHARS = 40

# C0 controls, DEL, C1 controls and lone surrogates (which are not text and cannot be encoded).
_SINGLE_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTI_LINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The same rules as JSON Schema patterns, so the OpenAPI document states them (lone surrogates, which
# cannot be sent as UTF-8 at all, are left out: regex engines of OpenAPI tools cannot read such ranges).
CONTROL_CHARACTERS = r"\u0000-\u001f\u007f-\u009f"
SINGLE_LINE_PATTERN = rf"^[^{CONTROL_CHARACTERS}]*$"
MULTI_LINE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A quoted, escaped excerpt of ``value`` for error messages: at most ``limit`` characters of it."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return repr(text[:limit]) + f"… ({len(text)} characters)"
    return repr(text)


def _check(value: str, forbidden: re.Pattern[str], allowed: str) -> str:
    found = forbidden.search(value)
    if found is not None:
        code = ord(found.group())
        what = "the lone surrogate" if 0xD800 <= code <= 0xDFFF else "the control character"
        raise ValueError(f"contains {what} U+{code:04X} at position {found.start()}; {allowed}")
    return value


def single_line(value: str) -> str:
    """Refuse any control character (NUL, line breaks, escape sequences, ...)."""
    return _check(value, _SINGLE_LINE_FORBIDDEN, "control characters and surrogates are not allowed here")


def multi_line(value: str) -> str:
    """Refuse control characters other than tab, line feed and carriage return."""
    return _check(value, _MULTI_LINE_FORBIDDEN, "of the control characters only tab and line breaks are allowed")


def SingleLine(max_length: int) -> Any:  # noqa: N802 (a type factory, named like the types it makes)
    """A str of at most ``max_length`` characters without control characters."""
    return Annotated[
        str,
        Field(max_length=max_length, json_schema_extra={"pattern": SINGLE_LINE_PATTERN}),
        AfterValidator(single_line),
    ]


def MultiLine(max_length: int) -> Any:  # noqa: N802
    """A str of at most ``max_length`` characters; tab and line breaks are its only control characters."""
    return Annotated[
        str,
        Field(max_length=max_length, json_schema_extra={"pattern": MULTI_LINE_PATTERN}),
        AfterValidator(multi_line),
    ]
