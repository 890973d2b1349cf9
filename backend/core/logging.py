"""Structured logs: one line per record, JSON when ``LOG_JSON`` is on, carrying the ids of the work.

Plain-text lines escape control characters in the message, so a value from a request (a URL with
``%0A`` in it, say) cannot start a line of its own; JSON lines are safe by their encoding.

Ids (``request_id`` for an HTTP request, ``track_id`` / ``request_id`` inside a worker task) live in a
context variable, so the API and the workers tag their records the same way without this module
knowing about Flask or Celery: they call :func:`bind_log_ids` / :func:`log_context`.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# The default is an empty read-only mapping: every binding makes a new dict, nothing is shared.
_CONTEXT: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "s2m_log_context", default=MappingProxyType({})
)
_HANDLER_NAME = "s2m"

LogIdsToken = contextvars.Token


def bind_log_ids(**ids: object) -> LogIdsToken:
    """Attach ids to every record logged from now on in this context; undo with :func:`unbind_log_ids`."""
    return _CONTEXT.set({**_CONTEXT.get(), **{name: str(value) for name, value in ids.items()}})


def unbind_log_ids(token: LogIdsToken) -> None:
    """Restore the ids that were bound before ``token``'s :func:`bind_log_ids`."""
    _CONTEXT.reset(token)


def current_log_ids() -> dict[str, str]:
    """The ids records logged now would carry."""
    return dict(_CONTEXT.get())


@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Attach ids (``track_id=...``, ``request_id=...``) to every log record inside the block."""
    token = bind_log_ids(**ids)
    try:
        yield
    finally:
        unbind_log_ids(token)


# Control characters a plain-text line must not carry raw: a newline from a URL would start a forged line.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_control(text: str) -> str:
    """Write control characters as escapes (``\\n``, ``\\x1b``), so the text stays on one line."""
    return _UNSAFE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


class PlainFormatter(logging.Formatter):
    """One record, one line: the message and ids are escaped; traceback lines are indented under it.

    User-controlled values (paths, headers, ids, exception messages) thus never start a line of
    their own, so they cannot forge a record.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        safe = logging.makeLogRecord(record.__dict__)
        safe.message = escape_control(record.getMessage())
        safe.ids = escape_control(getattr(record, "ids", ""))
        return super().formatMessage(safe)

    def formatException(self, ei) -> str:  # noqa: N802
        return _indent(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return _indent(super().formatStack(stack_info))


def _indent(text: str) -> str:
    return "\n".join("    | " + escape_control(line) for line in text.splitlines())


class ContextFilter(logging.Filter):
    """Copy the current ids onto each record, as fields and as one ``ids`` text for plain lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _CONTEXT.get()
        for name, value in ids.items():
            setattr(record, name, value)
        record.ids = " ".join(f"{name}={value}" for name, value in sorted(ids.items()))
        return True


def configure_logging(json_lines: bool, level: int = logging.INFO, filename: Path | None = None) -> None:
    """Send every logger's records to stderr (or ``filename``), as JSON lines or plain text; safe to call again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(filename) if filename else logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    if json_lines:
        # The ids travel as their own fields; the joined `ids` text is for the plain format only.
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger"},
                reserved_attrs=[*RESERVED_ATTRS, "ids"],
            )
        )
    else:
        handler.setFormatter(PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(ids)s"))
    root.addHandler(handler)
    root.setLevel(level)
