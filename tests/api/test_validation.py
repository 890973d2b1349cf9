"""Every bad input gets a JSON error with the right status, and nothing is written for it.

These run the real app (SQLite, local Qdrant, filesystem broker in a temporary folder) through
Flask's test client; no worker is needed because refused requests never reach one.
"""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from backend.api.app import create_app
from backend.core.config import Settings
from backend.core.storage.db import upgrade_database
from backend.core.storage.models import RecommendationRequest, Track
from tests.support.keys import GENEROUS_LIMITS, keyed_client
from tests.support.synth import music_clip, wav_bytes
from workers.registry import register_model_dir

RATE = 16000
LIMITS = {
    "max_upload_bytes": 300_000,
    "max_track_seconds": 5.0,
    "max_speech_seconds": 4.0,
    "min_audio_seconds": 0.5,
    "max_wait_seconds": 0.5,
}


def _tone(seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * 330 * t)).astype(np.float32)


def _truncated_flac() -> bytes:
    whole = wav_bytes(_tone(2.0) + 0.05 * np.random.default_rng(0).normal(size=2 * RATE), RATE, fmt="FLAC")
    return whole[: len(whole) // 3]


GOOD = wav_bytes(_tone(2.0), RATE)
BAD_AUDIO = {
    "not_audio": (b"this is a text file, not audio\n" * 20, 415, "not_audio"),
    "corrupt": (_truncated_flac(), 415, "not_audio"),
    "empty": (b"", 422, "empty_audio"),
    "silent": (wav_bytes(np.zeros(2 * RATE, np.float32), RATE), 422, "silent_audio"),
    "too_short": (wav_bytes(_tone(0.2), RATE), 422, "audio_too_short"),
    "too_large": (np.random.default_rng(1).bytes(400_000), 413, "too_large"),
}


def _make_app(tmp: Path, model_dir: Path, **overrides: Any) -> Flask:
    settings = Settings(data_dir=tmp, model_dir=model_dir, device="cpu", **{**LIMITS, **GENEROUS_LIMITS, **overrides})
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    register_model_dir(app.extensions["s2m"].db, model_dir)  # as a worker does at start
    return app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Flask:
    return _make_app(tmp_path_factory.mktemp("validation"), model_dir)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return keyed_client(app)


@pytest.fixture(autouse=True)
def _nothing_written(app: Flask) -> Any:
    """After each refused request: no rows, no stored files."""
    yield
    context = app.extensions["s2m"]
    with context.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Track)) == 0
        assert session.scalar(select(func.count()).select_from(RecommendationRequest)) == 0
    media = context.settings.resolved_media_dir
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


def _error(response: Any, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]["message"]


def _upload(client: FlaskClient, path: str, data: bytes, **fields: Any) -> Any:
    return client.post(
        path, data={"file": (io.BytesIO(data), "clip.wav"), **fields}, content_type="multipart/form-data"
    )


@pytest.mark.parametrize("path", ["/v1/tracks", "/v1/recommendations"])
@pytest.mark.parametrize("case", sorted(BAD_AUDIO))
def test_bad_audio_is_refused(client: FlaskClient, path: str, case: str) -> None:
    data, status, code = BAD_AUDIO[case]
    _error(_upload(client, path, data), status, code)


@pytest.mark.parametrize(("path", "seconds"), [("/v1/tracks", 6.0), ("/v1/recommendations", 4.5)])
def test_too_long_audio_is_refused(client: FlaskClient, path: str, seconds: float) -> None:
    message = _error(_upload(client, path, wav_bytes(_tone(seconds), RATE)), 422, "audio_too_long")
    assert f"{seconds:.1f} s" in message


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"limit": "abc"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"valence_min": "2"}, "valence_min"),
        ({"arousal_max": "loud"}, "arousal_max"),
        ({"valence_min": "0.8", "valence_max": "0.2"}, "valence_min (0.8) is above valence_max (0.2)"),
        ({"emotions": "sad,bogus"}, "unknown emotion 'bogus'"),
        ({"exclude": "not-a-uuid"}, "exclude"),
        ({"tags": "x" * 65}, "tag"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_recommendation_fields_are_422(client: FlaskClient, fields: dict[str, str], needle: str) -> None:
    assert needle in _error(_upload(client, "/v1/recommendations", GOOD, **fields), 422, "invalid_input")


@pytest.mark.parametrize("fields", [{"tags": "ok," + "y" * 80}, {"title": "t" * 501}, {"genre": "jazz"}])
def test_bad_track_fields_are_422(client: FlaskClient, fields: dict[str, str]) -> None:
    _error(_upload(client, "/v1/tracks", music_wav_short(), **fields), 422, "invalid_input")


def music_wav_short() -> bytes:
    return wav_bytes(music_clip("bright", 0, seconds=2.0), 22050)


def test_a_field_given_twice_is_422(client: FlaskClient) -> None:
    response = client.post(
        "/v1/tracks",
        data={"file": (io.BytesIO(GOOD), "a.wav"), "title": ["a", "b"]},
        content_type="multipart/form-data",
    )
    assert "given 2 times" in _error(response, 422)


@pytest.mark.parametrize("path", ["/v1/tracks", "/v1/recommendations"])
def test_missing_file_is_422(client: FlaskClient, path: str) -> None:
    _error(client.post(path, data={"tags": "x"}, content_type="multipart/form-data"), 422, "missing_file")
    _error(client.post(path, json={"file": "nope"}), 422, "missing_file")


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 422, "JSON object"),
        (b"{}", 422, "exactly one of"),
        (b'{"emotion": "sad", "like_track": "5b3c7b8e-1c1a-4f7e-9a57-4b8d4b1f7a10"}', 422, "exactly one of"),
        (b'{"valence": 0.5}', 422, "together"),
        (b'{"emotion": "bogus"}', 422, "unknown emotion 'bogus'"),
        (b'{"emotion": "sad", "limit": 0}', 422, "limit"),
        (b'{"emotion": "sad", "tags": 5}', 422, "tags"),
        (b'{"emotion": "sad", "exclude": ["nope"]}', 422, "exclude"),
        (b'{"emotion": "sad", "arousal_min": -0.1}', 422, "arousal_min"),
        (b'{"emotion": "sad", "sort": "asc"}', 422, "sort"),
        (b'{"like_track": "xyz"}', 422, "like_track"),
        (b'{"emotion": "neutral"}', 422, "no music prototype"),
    ],
)
def test_bad_search_bodies(client: FlaskClient, body: bytes, status: int, needle: str) -> None:
    response = client.post("/v1/search", data=body, content_type="application/json")
    assert needle in _error(response, status)


@pytest.mark.parametrize(
    "query", ["status=bogus", "limit=0", "limit=x", "cursor=garbage", "emotion=bogus", "tag=" + "z" * 70, "page=2"]
)
def test_bad_listing_queries_are_422(client: FlaskClient, query: str) -> None:
    _error(client.get(f"/v1/tracks?{query}"), 422)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/tracks/{id}"),
        ("get", "/v1/tracks/{id}/audio"),
        ("delete", "/v1/tracks/{id}"),
        ("get", "/v1/recommendations/{id}"),
        ("get", "/v1/tracks/not-a-uuid"),
        ("get", "/v1/recommendations/not-a-uuid"),
        ("get", "/v1/nothing-here"),
    ],
)
def test_unknown_ids_are_404(client: FlaskClient, method: str, path: str) -> None:
    unknown = uuid.uuid4()
    message = _error(getattr(client, method)(path.format(id=unknown)), 404, "not_found")
    # A well-formed id is named in the answer; anything else is a URL this API does not serve.
    assert str(unknown) in message if "{id}" in path else "not found" in message.lower()


def test_unknown_like_track_is_404(client: FlaskClient) -> None:
    unknown = uuid.uuid4()
    assert str(unknown) in _error(client.post("/v1/search", json={"like_track": str(unknown)}), 404, "not_found")


def test_wrong_method_is_405_json(client: FlaskClient) -> None:
    _error(client.put("/v1/tracks"), 405, "method_not_allowed")


@pytest.mark.parametrize("wait", ["abc", "-1", "nan"])
def test_bad_wait_is_422(client: FlaskClient, wait: str) -> None:
    _error(client.get(f"/v1/recommendations/{uuid.uuid4()}?wait={wait}"), 422)


def test_long_poll_is_bounded(tmp_path: Path, model_dir: Path) -> None:
    """A queued request (no worker here) comes back as queued after the bounded wait, not 100 s."""
    client = keyed_client(_make_app(tmp_path, model_dir))
    created = _upload(client, "/v1/recommendations", GOOD)
    assert created.status_code == 202
    started = time.monotonic()
    body = client.get(created.headers["Location"] + "?wait=100").get_json()
    assert body["status"] == "queued"
    assert 0.4 < time.monotonic() - started < 10


def test_readiness_reports_an_unreachable_broker(tmp_path: Path, model_dir: Path) -> None:
    client = _make_app(tmp_path, model_dir, celery_broker_url="redis://127.0.0.1:1/0").test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == "ok" and checks["qdrant"] == "ok" and checks["broker"] != "ok"
