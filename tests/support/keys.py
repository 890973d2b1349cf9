"""API keys for the tests, made the way `s2m keys create` makes them (straight in the database)."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask
from flask.testing import FlaskClient

from backend.core.config import Settings
from backend.core.domain.access import SCOPES
from backend.core.services import keys as key_service
from backend.core.storage.db import Database

# The catalogue the shared fixtures' keys (and so the existing tests' tracks) belong to.
TEST_CATALOGUE = "tests"
# Test stacks allow this many requests per key and minute, so only the rate-limit tests meet a limit.
GENEROUS_LIMIT = "100000/minute"
GENEROUS_LIMITS = {
    "default_key_rate_limit": GENEROUS_LIMIT,
    "upload_rate_limit": GENEROUS_LIMIT,
    "query_rate_limit": GENEROUS_LIMIT,
}


def issue_key(
    settings: Settings,
    catalogue: str = TEST_CATALOGUE,
    scopes: Sequence[str] = SCOPES,
    rate_limit: str | None = None,
) -> str:
    """A new key for ``catalogue`` (created if new) with ``scopes``; returns the key itself."""
    db = Database.from_settings(settings)
    try:
        owner = key_service.ensure_catalogue(db, catalogue)
        return key_service.create_key(db, owner.id, list(scopes), rate_limit, key_service.CLI_ACTOR).key
    finally:
        db.dispose()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def keyed_client(app: Flask, key: str | None = None) -> FlaskClient:
    """The app's test client sending ``key`` (default: a new key with every scope) with every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(key or issue_key(app.extensions["s2m_settings"]))[
        "Authorization"
    ]
    return client
