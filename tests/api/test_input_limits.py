"""Input hardening on every backend: text fields, body limits, failed commits and orphan files.

The app runs on SQLite (embedded default) and on PostgreSQL (which refuses NUL in text, where SQLite
stores it), through Flask's test client; the exact upload limit is also checked over a real socket
with a chunked body. Refusals write nothing: no row, no stored or staged file.
"""

from __future__ import annotations

import io
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from backend.api.app import create_app
from backend.api.forms import MAX_JSON_BYTES, MAX_JSON_DEPTH
from backend.core.config import Settings
from backend.core.services.maintenance import reconcile
from backend.core.storage.db import Database
from backend.core.storage.models import RecommendationRequest
from tests.conftest import BACKENDS
from tests.support.audio_files import hls_playlist, soundfile_bytes, tone, video_without_audio, wav_header_only
from tests.support.http import chunks, multipart, wav_of_size
from tests.support.keys import bearer, issue_key, keyed_client
from tests.support.stack import ApiServer, run_cli
from tests.support.state import stored_state

UPLOAD_LIMIT = 100_000
LIMITS = {"max_upload_bytes": UPLOAD_LIMIT, "max_track_seconds": 5.0, "max_speech_seconds": 4.0}
GOOD = soundfile_bytes(tone(1.5, 16_000), 16_000)


@pytest.fixture(scope="module", params=BACKENDS)
def settings(request: pytest.FixtureRequest, stack_settings: Callable[..., Settings]) -> Settings:
    """A stack's settings with small limits and the model registered (as a worker does when it starts)."""
    from workers.registry import register_model_dir

    settings = stack_settings(request.param, **LIMITS)
    db = Database.from_settings(settings)
    register_model_dir(db, settings.model_dir)
    db.dispose()
    return settings


@pytest.fixture(scope="module")
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture(scope="module")
def key(settings: Settings) -> str:
    return issue_key(settings)


@pytest.fixture()
def client(app: Flask, key: str) -> FlaskClient:
    return keyed_client(app, key)


@pytest.fixture()
def unchanged(app: Flask) -> Iterator[None]:
    """The test's requests are all refused: no row and no file appears."""
    context = app.extensions["s2m"]
    before = stored_state(context)
    yield
    assert stored_state(context) == before


def refused(response: Any, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code is not None:
        assert body["error"]["code"] == code, body
    assert len(response.get_data()) < 2_000, "refusals echo at most an excerpt of the input"
    return body["error"]["message"]


def upload(client: FlaskClient, path: str, data: bytes, **fields: Any) -> Any:
    return client.post(
        path, data={"file": (io.BytesIO(data), "clip.wav"), **fields}, content_type="multipart/form-data"
    )


BAD_TEXT = ["nul\x00here", "new\nline", "esc\x1b[31m", "del\x7f", "c1\x85", "bell\x07"]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize("field", ["title", "artist", "external_id", "tags"])
def test_control_characters_in_track_fields_are_422_naming_the_field(client: FlaskClient, field: str, value: str):
    message = refused(upload(client, "/v1/tracks", GOOD, **{field: value}), 422, "invalid_input")
    assert message.startswith(field if field != "tags" else "tags")
    assert "control character" in message


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("field", "value"), [("transcript", "a\x00b"), ("transcript", "esc\x1b"), ("tags", "x\x00")])
def test_control_characters_in_recommendation_fields_are_422(client: FlaskClient, field: str, value: str):
    message = refused(upload(client, "/v1/recommendations", GOOD, **{field: value}), 422, "invalid_input")
    assert message.startswith(field)


def test_a_transcript_keeps_its_line_breaks(client: FlaskClient, app: Flask) -> None:
    response = upload(client, "/v1/recommendations", GOOD, transcript="first line\r\nsecond\tline")
    assert response.status_code == 202, response.get_json()
    with app.extensions["s2m"].db.session() as session:
        row = session.get(RecommendationRequest, uuid.UUID(response.get_json()["id"]))
        assert row.transcript == "first line\r\nsecond\tline"


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "body", [{"emotion": "sad", "tags": ["a\x00"]}, {"emotion": "sad\x00"}, {"like_track": "\x00"}]
)
def test_control_characters_in_search_bodies_are_422(client: FlaskClient, body: dict[str, Any]) -> None:
    refused(client.post("/v1/search", json=body), 422, "invalid_input")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("query", ["tag=%00", "tag=a%0Ab", "emotion=%00", "cursor=%00", "status=%00", "tag=x&tag=y"])
def test_control_characters_in_query_parameters_are_422(client: FlaskClient, query: str) -> None:
    refused(client.get(f"/v1/tracks?{query}"), 422)


@pytest.mark.usefixtures("unchanged")
def test_a_large_field_is_refused_with_a_short_message(client: FlaskClient) -> None:
    message = refused(upload(client, "/v1/tracks", GOOD, tags="t" * 100_000), 422, "invalid_input")
    assert "100000 characters" in message
    refused(upload(client, "/v1/tracks", GOOD, tags="t" * 1_000_000), 413, "too_large")
    refused(client.get("/v1/tracks?emotion=" + "e" * 50_000), 422)
    refused(client.get("/v1/tracks/" + "i" * 50_000), 404, "not_found")


def test_the_upload_limit_applies_to_the_file_exactly(client: FlaskClient, app: Flask) -> None:
    context = app.extensions["s2m"]
    before = stored_state(context)
    message = refused(upload(client, "/v1/tracks", wav_of_size(UPLOAD_LIMIT) + b"\x00"), 413, "too_large")
    assert f"{UPLOAD_LIMIT} byte" in message
    assert stored_state(context) == before
    accepted = upload(client, "/v1/tracks", wav_of_size(UPLOAD_LIMIT), title="t" * 500, tags=",".join("t" * 30))
    assert accepted.status_code == 202, accepted.get_json()


def test_the_upload_limit_holds_for_chunked_bodies(settings: Settings, key: str) -> None:
    with ApiServer(settings) as api:
        context = api.app.extensions["s2m"]
        before = stored_state(context)
        body, content_type = multipart({"title": "chunked"}, wav_of_size(UPLOAD_LIMIT - 4) + b"\x00" * 5)
        response = requests.post(
            api.base_url + "/v1/tracks",
            data=chunks(body),
            headers={"Content-Type": content_type, **bearer(key)},
            timeout=30,
        )
        assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
        assert stored_state(context) == before
        body, content_type = multipart({"title": "chunked"}, wav_of_size(UPLOAD_LIMIT - 4))
        response = requests.post(
            api.base_url + "/v1/tracks",
            data=chunks(body),
            headers={"Content-Type": content_type, **bearer(key)},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        # A chunked body far past every limit is cut off, not buffered.
        endless = (b"x" * 65_536 for _ in range(2_000))
        try:
            response = requests.post(
                api.base_url + "/v1/tracks",
                data=endless,
                headers={"Content-Type": content_type, **bearer(key)},
                timeout=30,
            )
            assert response.status_code == 413
        except requests.ConnectionError:
            pass  # the server stopped reading and closed: also a refusal


@pytest.mark.usefixtures("unchanged")
def test_json_bodies_have_size_and_depth_limits(client: FlaskClient) -> None:
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    assert "deep" in refused(
        client.post("/v1/search", data=f'{{"emotion": {deep}}}', content_type="application/json"), 400
    )
    very_deep = "[" * 100_000
    refused(client.post("/v1/search", data=very_deep, content_type="application/json"), 413, "too_large")
    refused(client.post("/v1/search", data="[" * 20_000, content_type="application/json"), 400, "invalid_json")
    big = '{"emotion": "sad", "tags": ["' + "x" * MAX_JSON_BYTES + '"]}'
    refused(client.post("/v1/search", data=big, content_type="application/json"), 413, "too_large")
    refused(client.post("/v1/search", data='{"emotion": "sad", "valence": NaN}', content_type="application/json"), 422)
    refused(client.post("/v1/search", data=b'{"emotion": "\xff"}', content_type="application/json"), 400)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"plain text", 415, "not_audio"),
        (bytes(np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8)), 415, "not_audio"),
        (hls_playlist("file:///etc/passwd"), 415, "not_audio"),
        (video_without_audio(), 415, "no_audio_track"),
        (wav_header_only(1, 1, 20), 422, "unsupported_audio"),
        (soundfile_bytes(np.full(16_000, 3e38, np.float32), 16_000, "WAV", "FLOAT"), 422, "invalid_samples"),
    ],
    ids=["text", "random", "hls_playlist", "video_only", "one_hz", "absurd_floats"],
)
def test_bad_audio_is_refused_in_words(client: FlaskClient, data: bytes, status: int, code: str) -> None:
    for path in ("/v1/tracks", "/v1/recommendations"):
        message = refused(upload(client, path, data), status, code)
        assert "0x" not in message and "object at" not in message and "Error" not in message


def _inject_insert_failure(settings: Settings, table: str) -> Callable[[], None]:
    """A trigger that makes every insert into ``table`` fail inside the database; returns its remover."""
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE OR REPLACE FUNCTION s2m_test_fail() RETURNS trigger AS $$"
                    " BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
                )
            )
            body = "FOR EACH ROW EXECUTE FUNCTION s2m_test_fail()"
        else:
            body = "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        connection.execute(text(f"CREATE TRIGGER s2m_test_fail BEFORE INSERT ON {table} {body}"))

    def remove() -> None:
        with engine.begin() as connection:
            on = f" ON {table}" if engine.dialect.name == "postgresql" else ""
            connection.execute(text(f"DROP TRIGGER s2m_test_fail{on}"))
        engine.dispose()

    return remove


@pytest.mark.parametrize(
    ("path", "table"), [("/v1/tracks", "tracks"), ("/v1/recommendations", "recommendation_requests")]
)
def test_a_failed_commit_leaves_no_row_and_no_file(
    client: FlaskClient, app: Flask, settings: Settings, path: str, table: str
) -> None:
    context = app.extensions["s2m"]
    before = stored_state(context)
    data = soundfile_bytes(tone(1.2, 16_000, freq=440.0 + len(path)), 16_000)
    remove = _inject_insert_failure(settings, table)
    try:
        message = refused(
            upload(client, path, data, title="x") if table == "tracks" else upload(client, path, data), 500
        )
        assert "injected" not in message and "Error" not in message
        assert stored_state(context) == before
    finally:
        remove()
    created = upload(client, path, data)
    assert created.status_code == 202
    files = stored_state(context)[2]
    assert len(files) == len(before[2]) + 1 and not [f for f in files if f.startswith(".staging/")]


def test_a_failed_file_move_removes_the_row(client: FlaskClient, app: Flask) -> None:
    context = app.extensions["s2m"]
    data = soundfile_bytes(tone(1.3, 16_000, freq=777.0), 16_000)
    from backend.core.storage.media import sha256_hex

    blocker = context.media.root / "tracks" / sha256_hex(data)[:2]
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"a file where a folder should be")
    before = stored_state(context)
    try:
        refused(upload(client, "/v1/tracks", data), 500, "internal_error")
        assert stored_state(context) == before
    finally:
        blocker.unlink()


def test_reconcile_removes_and_reports_media_files_no_row_refers_to(
    client: FlaskClient, app: Flask, settings: Settings
):
    context = app.extensions["s2m"]
    kept = upload(client, "/v1/tracks", soundfile_bytes(tone(1.1, 16_000, freq=555.0), 16_000))
    assert kept.status_code == 202
    kept_sha = kept.get_json()["content_sha256"]
    orphan_track = context.media.put("tracks", b"left behind by a crash " + uuid.uuid4().bytes)
    orphan_speech = context.media.put("speech", b"another orphan " + uuid.uuid4().bytes)
    context.media.staging_dir.mkdir(parents=True, exist_ok=True)
    stale = context.media.staging_dir / "upload-died"
    stale.write_bytes(b"half an upload")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    fresh = context.media.staging_dir / "upload-in-progress"
    fresh.write_bytes(b"an upload being checked right now")

    dry = reconcile(context, dry_run=True)
    assert {Path(p).name for p in dry.orphan_files} == {orphan_track, orphan_speech}
    assert [Path(p).name for p in dry.stale_uploads] == ["upload-died"]
    assert context.media.exists("tracks", orphan_track) and stale.exists()

    done = run_cli(settings, "reconcile")
    assert done.returncode == 0, done.stderr
    assert "did delete 2 audio file(s) no row refers to, 1 staging file(s)" in done.stdout
    assert orphan_track in done.stdout and orphan_speech in done.stdout and "upload-died" in done.stdout
    assert not context.media.exists("tracks", orphan_track) and not context.media.exists("speech", orphan_speech)
    assert not stale.exists() and fresh.exists()
    assert context.media.exists("tracks", kept_sha)
    fresh.unlink()
    again = reconcile(context)
    assert again.orphan_files == [] and again.stale_uploads == []


def test_stored_files_are_served_as_attachments_of_their_type(client: FlaskClient) -> None:
    data = soundfile_bytes(tone(1.4, 16_000, freq=999.0), 16_000, "FLAC")
    created = upload(client, "/v1/tracks", data)
    assert created.status_code == 202
    response = client.get(created.get_json()["audio_url"])
    assert response.status_code == 200 and response.get_data() == data
    assert response.mimetype == "audio/flac"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
