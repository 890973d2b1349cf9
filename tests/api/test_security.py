"""What the API tells clients and writes to its log: security headers, no versions or hosts, no
forged log lines, and errors in words (never exception text or object reprs)."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from backend.api.app import create_app
from backend.core.config import Settings
from backend.core.logging import configure_logging
from backend.core.storage.db import upgrade_database
from tests.support.audio_files import soundfile_bytes, tone
from tests.support.keys import GENEROUS_LIMITS, bearer, keyed_client
from tests.support.stack import ApiServer


def _app(tmp: Path, model_dir: Path, **overrides: object) -> Flask:
    settings = Settings(data_dir=tmp, model_dir=model_dir, device="cpu", **{**GENEROUS_LIMITS, **overrides})  # type: ignore[arg-type]
    upgrade_database(settings.resolved_database_url)
    return create_app(settings)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Flask:
    return _app(tmp_path_factory.mktemp("security"), model_dir)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return keyed_client(app)


REQUESTS = [
    ("get", "/"),
    ("get", "/web/app.js"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/v1/tracks"),
    ("get", "/v1/tracks/not-an-id"),
    ("get", "/v1/nothing-here"),
    ("put", "/v1/tracks"),
    ("post", "/v1/search"),
]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_every_response_carries_the_security_headers(client: FlaskClient, method: str, path: str) -> None:
    response = getattr(client, method)(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_page_may_load_only_its_own_files_and_never_be_framed(client: FlaskClient) -> None:
    policy = client.get("/").headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
        assert directive in policy
    assert client.get("/v1/tracks").headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_server_header_names_no_version(app: Flask, tmp_path: Path, model_dir: Path) -> None:
    with ApiServer(app.extensions["s2m_settings"]) as api:
        for path in ("/healthz", "/v1/nothing", "/"):
            server = requests.get(api.base_url + path, timeout=10).headers["Server"]
            assert server == "speech2music"


def test_readiness_says_which_dependency_is_down_not_where(tmp_path: Path, model_dir: Path) -> None:
    client = _app(tmp_path, model_dir, celery_broker_url="redis://:secret@127.0.0.1:1/0").test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "broker": "unavailable", "qdrant": "ok"}
    assert "127.0.0.1" not in response.get_data(as_text=True) and "secret" not in response.get_data(as_text=True)


def test_an_unreachable_database_is_503_in_words(tmp_path: Path, model_dir: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, model_dir=model_dir, device="cpu", database_url="postgresql+psycopg://u:pw@127.0.0.1:1/x"
    )
    response = create_app(settings).test_client().get("/v1/tracks", headers=bearer("s2m_some-key"))
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "unavailable"
    text = response.get_data(as_text=True)
    assert "127.0.0.1" not in text and "OperationalError" not in text and "pw" not in text


def test_refusing_a_file_that_is_not_audio_names_no_object(client: FlaskClient) -> None:
    upload = {"file": (io.BytesIO(b"definitely not audio " * 10), "x.wav")}
    response = client.post("/v1/tracks", data=upload, content_type="multipart/form-data")
    assert response.status_code == 415
    message = response.get_json()["error"]["message"]
    assert "object at" not in message and "0x" not in message and "BytesIO" not in message


def test_plain_log_lines_cannot_be_forged_from_a_url(client: FlaskClient, tmp_path: Path) -> None:
    log_file = tmp_path / "api.log"
    configure_logging(False, filename=log_file)
    try:
        forged = "2026-01-01 00:00:00,000 ERROR backend.auth admin login ok"
        client.get("/v1/tracks/x%0A" + forged.replace(" ", "%20") + "%0D%0Aagain")
        upload = {"file": (io.BytesIO(soundfile_bytes(tone(1.0, 16_000), 16_000)), "x.wav"), "title": "t\nERROR x"}
        client.post("/v1/tracks", data=upload, content_type="multipart/form-data")
    finally:
        logging.getLogger().handlers[-1].flush()
        configure_logging(False)
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert lines, "the requests were logged"
    record_start = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")
    for line in lines:
        assert record_start.match(line) or line.startswith("    | "), line
        assert not line.startswith(forged) and not line.startswith("again") and not line.startswith("ERROR")
    assert any("x\\n2026-01-01" in line for line in lines), "the newline is written as an escape"
