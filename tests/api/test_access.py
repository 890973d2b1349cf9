"""Per-catalogue caps, separate upload and query limits, CORS and protected operations routes,
against the app on the embedded default (the isolation tests with a worker are in tests/test_catalogues.py)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from backend.api.app import create_app
from backend.core.config import ConfigError, Settings
from backend.core.storage.db import upgrade_database
from tests.support.keys import GENEROUS_LIMITS, issue_key, keyed_client
from tests.support.synth import music_wav, speech_wav
from workers.registry import register_model_dir


def _app(tmp_path: Path, model_dir: Path, **overrides: Any) -> Flask:
    settings = Settings(data_dir=tmp_path, model_dir=model_dir, device="cpu", **{**GENEROUS_LIMITS, **overrides})
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    register_model_dir(app.extensions["s2m"].db, model_dir)
    return app


def _track(client: FlaskClient, seed: int) -> Any:
    return client.post("/v1/tracks", data={"file": (io.BytesIO(music_wav("bright", seed)), "t.wav")})


def test_a_full_catalogue_refuses_new_tracks_and_no_other(tmp_path: Path, model_dir: Path) -> None:
    app = _app(tmp_path, model_dir, catalogue_max_tracks=2)
    settings = app.extensions["s2m_settings"]
    full, other = keyed_client(app, issue_key(settings, "full")), keyed_client(app, issue_key(settings, "other"))
    assert [_track(full, seed).status_code for seed in (1, 2)] == [202, 202]
    refused = _track(full, 3)
    assert refused.status_code == 413 and refused.get_json()["error"]["code"] == "quota_exceeded"
    assert "CATALOGUE_MAX_TRACKS" in refused.get_json()["error"]["message"]
    assert _track(full, 1).status_code == 200  # known audio is no new track
    assert _track(other, 3).status_code == 202


def test_the_byte_cap_counts_the_stored_files(tmp_path: Path, model_dir: Path) -> None:
    size = len(music_wav("bright", 1))
    app = _app(tmp_path, model_dir, catalogue_max_bytes=size * 2 + 10)
    client = keyed_client(app)
    assert [_track(client, seed).status_code for seed in (1, 2)] == [202, 202]
    refused = _track(client, 3)
    assert refused.status_code == 413 and "CATALOGUE_MAX_BYTES" in refused.get_json()["error"]["message"]
    first = client.get("/v1/tracks").get_json()["items"][0]["id"]
    assert client.delete(f"/v1/tracks/{first}").status_code == 204  # deleting makes room again
    assert _track(client, 3).status_code == 202


def test_uploads_and_queries_are_limited_apart(tmp_path: Path, model_dir: Path) -> None:
    app = _app(tmp_path, model_dir, upload_rate_limit="2/minute", query_rate_limit="3/minute")
    client = keyed_client(app)
    assert [_track(client, seed).status_code for seed in (1, 2)] == [202, 202]
    speech = client.post("/v1/recommendations", data={"file": (io.BytesIO(speech_wav("sad")), "s.wav")})
    assert speech.status_code == 429 and int(speech.headers["Retry-After"]) > 0  # uploads share one limit
    queries = [client.post("/v1/search", json={"emotion": "sad"}).status_code for _ in range(4)]
    assert queries == [200, 200, 200, 429]
    assert client.get("/v1/tracks").status_code == 200  # reading is neither
    fresh = keyed_client(app)  # each key has its own counters
    assert _track(fresh, 3).status_code == 202 and fresh.post("/v1/search", json={"emotion": "sad"}).status_code == 200


def test_cors_is_off_by_default_and_allows_the_configured_origins(tmp_path: Path, model_dir: Path) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    closed = _app(tmp_path / "closed", model_dir).test_client()
    assert "Access-Control-Allow-Origin" not in closed.options("/v1/search", headers=preflight).headers
    assert (
        "Access-Control-Allow-Origin" not in closed.get("/healthz", headers={"Origin": "https://app.example"}).headers
    )

    app = _app(tmp_path / "open", model_dir, cors_origins="https://app.example")
    opened = app.test_client()
    answer = opened.options("/v1/search", headers={**preflight, "Access-Control-Request-Headers": "Authorization"})
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "authorization" in answer.headers["Access-Control-Allow-Headers"].lower()
    other = opened.options("/v1/search", headers={**preflight, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    keyed = keyed_client(app).get("/v1/tracks", headers={"Origin": "https://app.example"})
    assert keyed.status_code == 200 and keyed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        Settings(cors_origins="app.example")


@pytest.mark.parametrize("path", ["/readyz", "/metrics"])
def test_operations_routes_are_open_or_need_an_admin_key(tmp_path: Path, model_dir: Path, path: str) -> None:
    assert _app(tmp_path / "open", model_dir).test_client().get(path).status_code == 200
    app = _app(tmp_path / "closed", model_dir, protect_operations=True)
    settings = app.extensions["s2m_settings"]
    assert app.test_client().get(path).status_code == 401
    assert keyed_client(app, issue_key(settings, scopes=["read", "query"])).get(path).status_code == 403
    assert keyed_client(app, issue_key(settings, scopes=["admin"])).get(path).status_code == 200
    assert app.test_client().get("/healthz").status_code == 200  # liveness stays open
    document = app.test_client().get("/openapi.json").get_json()
    assert document["paths"][path]["get"]["security"] == [{"apiKey": []}]
