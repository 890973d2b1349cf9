"""``s2m keys``: create (shown once, stored hashed), list, revoke, audit; the keys work against the API."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from backend.api.app import create_app
from backend.core.config import Settings
from backend.core.services.keys import hash_key
from backend.core.storage.db import Database
from backend.core.storage.models import ApiKey
from tests.support.keys import bearer
from tests.support.stack import run_cli


def test_create_list_revoke_and_audit(settings: Settings) -> None:
    made = run_cli(settings, "keys", "create", "--catalogue", "shop", "--scopes", "read,ingest", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert {"key", "id", "catalogue", "scopes"} <= set(key)
    assert key["catalogue"] == "shop" and key["scopes"] == ["read", "ingest"] and key["rate_limit"] is None
    plain = run_cli(settings, "keys", "create", "--catalogue", "shop", "--scopes", "query", "--rate-limit", "60/minute")
    assert plain.returncode == 0 and plain.stdout.strip().startswith("s2m_") and "not shown again" in plain.stderr

    db = Database.from_settings(settings)
    with db.session() as session:
        stored = session.scalars(select(ApiKey.key_sha256)).all()
    db.dispose()
    assert hash_key(key["key"]) in stored and key["key"] not in stored  # only the hash is kept

    client = create_app(settings).test_client()
    assert client.get("/v1/tracks", headers=bearer(key["key"])).status_code == 200
    assert client.post("/v1/search", json={"emotion": "sad"}, headers=bearer(key["key"])).status_code == 403

    listed = run_cli(settings, "keys", "list", "--catalogue", "shop", "--json")
    assert [k["scopes"] for k in json.loads(listed.stdout)] == [["read", "ingest"], ["query"]]
    assert key["key"] not in listed.stdout and plain.stdout.strip() not in listed.stdout
    shown = run_cli(settings, "keys", "list")
    assert key["id"] in shown.stdout and "60/minute" in shown.stdout and "active" in shown.stdout

    revoked = run_cli(settings, "keys", "revoke", key["id"])
    assert revoked.returncode == 0 and key["id"] in revoked.stdout
    assert client.get("/v1/tracks", headers=bearer(key["key"])).status_code == 401
    assert "revoked" in run_cli(settings, "keys", "list", "--catalogue", "shop").stdout

    events = json.loads(run_cli(settings, "keys", "audit", "--json").stdout)
    assert [(e["action"], e["actor"], e["catalogue"]) for e in events[:3]] == [
        ("key.revoke", "cli", "shop"),
        ("key.create", "cli", "shop"),
        ("key.create", "cli", "shop"),
    ]
    assert events[0]["target"] == key["id"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--catalogue", "Shop!", "--scopes", "read"], "catalogue name 'Shop!'"),
        (["--catalogue", "shop", "--scopes", "read,fly"], "unknown scope 'fly'"),
        (["--catalogue", "shop", "--scopes", ","], "at least one scope"),
        (["--catalogue", "shop", "--rate-limit", "lots"], "rate limit 'lots'"),
    ],
)
def test_bad_arguments_are_refused_in_words(settings: Settings, arguments: list[str], message: str) -> None:
    result = run_cli(settings, "keys", "create", *arguments)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_revoking_an_unknown_key_fails(settings: Settings) -> None:
    result = run_cli(settings, "keys", "revoke", "00000000-0000-0000-0000-00000000abcd")
    assert result.returncode == 1 and "no key with id" in result.stderr
