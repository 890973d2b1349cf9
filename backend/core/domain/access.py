"""Who may do what: catalogue names, key scopes and rate limits (pydantic-checked, no I/O)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from limits import parse_many
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from backend.core.domain.text import excerpt

# What a key may do: read (tracks, audio, requests, emotions), query (search, recommend), ingest
# (upload and delete tracks), admin (keys of its catalogue; /readyz and /metrics when protected).
SCOPES: tuple[str, ...] = ("read", "query", "ingest", "admin")
Scope = Literal["read", "query", "ingest", "admin"]
CATALOGUE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_CATALOGUE = re.compile(CATALOGUE_PATTERN)
# "60/minute", "10 per second", several separated by ";" ("10/second;100/minute").
RATE_LIMIT_PATTERN = (
    r"^\s*[0-9]{1,9}\s*(/|per)\s*([0-9]{1,6}\s*)?(second|minute|hour|day|month|year)s?\s*"
    r"(;\s*[0-9]{1,9}\s*(/|per)\s*([0-9]{1,6}\s*)?(second|minute|hour|day|month|year)s?\s*){0,3}$"
)
_RATE_LIMIT = re.compile(RATE_LIMIT_PATTERN)


def check_catalogue_name(name: str) -> str:
    if not _CATALOGUE.match(name):
        raise ValueError(
            f"catalogue name {excerpt(name)} must be 1-64 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


def check_rate_limit(text: str) -> str:
    """A rate limit Flask-Limiter reads: "60/minute", "10 per second", several joined by ";"."""
    if not _RATE_LIMIT.match(text):
        raise ValueError(f"rate limit {excerpt(text)} must read like 60/minute or 10/second;500/hour")
    try:
        items = parse_many(text)
    except ValueError:
        raise ValueError(f"rate limit {excerpt(text)} must read like 60/minute or 10/second;500/hour") from None
    if any(item.amount < 1 for item in items):
        raise ValueError(f"rate limit {excerpt(text)} must allow at least one request")
    return text.strip()


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {excerpt(unknown[0])}; scopes are {', '.join(SCOPES)}")
    if not scopes:
        raise ValueError(f"give at least one scope of {', '.join(SCOPES)}")
    return [scope for scope in SCOPES if scope in scopes]  # in a fixed order, once each


def parse_scopes(text: str) -> list[str]:
    """Scopes from a comma-separated list ("read,query")."""
    return check_scopes([part.strip() for part in text.split(",") if part.strip()])


CatalogueName = Annotated[
    str, AfterValidator(check_catalogue_name), WithJsonSchema({"type": "string", "pattern": CATALOGUE_PATTERN})
]
RateLimit = Annotated[
    str,
    AfterValidator(check_rate_limit),
    WithJsonSchema({"type": "string", "maxLength": 64, "pattern": RATE_LIMIT_PATTERN}),
]


class KeyRequest(BaseModel):
    """A new key: its scopes and, optionally, its own rate limit (else the configured default)."""

    model_config = ConfigDict(extra="forbid")

    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(SCOPES))] = Field(
        description="what the key may do: read, query, ingest, admin"
    )
    rate_limit: Annotated[RateLimit | None, Field(max_length=64)] = Field(
        None, description="requests this key may make, e.g. 60/minute (default: DEFAULT_KEY_RATE_LIMIT)"
    )


@dataclass(frozen=True)
class Caller:
    """The key a request was made with: its catalogue, scopes and rate limit."""

    key_id: uuid.UUID
    catalogue_id: uuid.UUID
    catalogue: str
    scopes: frozenset[str]
    rate_limit: str | None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"key:{self.key_id}"
