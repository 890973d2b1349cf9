"""Fixtures shared by every test module: the app and its client (the Flask way), real PostgreSQL,
Redis, Celery worker processes and Qdrant (local mode), an untrained model, a small corpus.

Each stack gets its own PostgreSQL schema, Redis key prefix and data folder, so test runs (and
other teams' tests) sharing the servers never see each other's rows or tasks.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backend.core.config import Settings
from backend.core.services.context import ServiceContext
from backend.core.storage.db import Database, upgrade_database
from tests.support.files import write_music
from tests.support.keys import GENEROUS_LIMITS, bearer, issue_key
from tests.support.stack import ApiServer, Stack, WorkerProcess
from tests.support.synth import SPEECH_STYLES, speech_wav

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ("postgres_redis", "embedded")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained model directory: meaningless embeddings, but real plumbing and cosine ranking."""
    from ml.embedding.bundle import write_untrained_model

    return write_untrained_model(tmp_path_factory.mktemp("model") / "untrained", seed=0)


@pytest.fixture()
def settings(tmp_path: Path, model_dir: Path) -> Settings:
    """Settings of the embedded default in a fresh folder: migrated, with the untrained model registered."""
    from workers.registry import register_model_dir

    settings = Settings(
        data_dir=tmp_path / "data",
        model_dir=model_dir,
        device="cpu",
        **GENEROUS_LIMITS,
    )
    upgrade_database(settings.resolved_database_url)
    db = Database.from_settings(settings)
    register_model_dir(db, model_dir)  # as a worker does when it starts
    db.dispose()
    return settings


@pytest.fixture()
def app(settings: Settings) -> Iterator[Flask]:
    """The API app for ``settings`` (no worker: queued work stays queued)."""
    from backend.api.app import create_app

    app = create_app(settings)
    yield app
    app.extensions["s2m"].close()


@pytest.fixture()
def api_key(settings: Settings) -> str:
    """A key with every scope for the test catalogue of ``settings``."""
    return issue_key(settings)


@pytest.fixture()
def client(app: Flask, api_key: str) -> FlaskClient:
    """The app's test client, sending ``api_key`` with every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(api_key)["Authorization"]
    return client


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[Callable[[], str]]:
    """Make fresh PostgreSQL schemas in the test database; each URL's search_path points at one."""
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at TEST_DATABASE_URL={TEST_DATABASE_URL} is not reachable: {exc}")
    created: list[str] = []

    def make() -> str:
        schema = f"s2m_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        created.append(schema)
        url = make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    yield make
    with admin.connect() as connection:
        for schema in created:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at TEST_REDIS_URL={TEST_REDIS_URL} is not reachable: {exc}")
    return TEST_REDIS_URL


@pytest.fixture(scope="session")
def stack_settings(
    tmp_path_factory: pytest.TempPathFactory, model_dir: Path, postgres_schema: Callable[[], str], redis_url: str
) -> Iterator[Callable[..., Settings]]:
    """Build settings for a new stack: "postgres_redis" (production shape) or "embedded" (no servers)."""
    prefixes: list[str] = []

    def make(backend: str, **overrides: object) -> Settings:
        data_dir = tmp_path_factory.mktemp(backend)
        base = Settings(
            data_dir=data_dir,
            model_dir=model_dir,
            device="cpu",
            min_audio_seconds=0.5,
            **GENEROUS_LIMITS,
        )
        if backend == "postgres_redis":
            base = base.with_overrides(
                database_url=postgres_schema(),
                celery_broker_url=redis_url,
                broker_key_prefix=f"s2m-test-{uuid.uuid4().hex[:8]}:",
            )
            prefixes.append(base.broker_key_prefix)
        elif backend != "embedded":
            raise ValueError(f"unknown backend {backend!r}")
        settings = base.with_overrides(**overrides)
        upgrade_database(settings.resolved_database_url)
        return settings

    yield make
    client = redis.Redis.from_url(redis_url)
    for prefix in prefixes:  # the queues and bindings of this run's brokers
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


@contextlib.contextmanager
def running_stack(name: str, settings: Settings, log_dir: Path, **worker_options: Any) -> Iterator[Stack]:
    """Start a worker subprocess and the API for ``settings``; stop both afterwards.

    The stack's HTTP session sends a key with every scope for the test catalogue.
    """
    worker = WorkerProcess(settings, log_dir / f"worker-{name}.log", **worker_options)
    worker.start()
    context = ServiceContext.from_settings(settings)
    key = issue_key(settings)
    try:
        with ApiServer(settings) as api:
            running = Stack(
                name=name, settings=settings, base_url=api.base_url, worker=worker, context=context, api_key=key
            )
            running.http.headers.update(bearer(key))
            yield running
    finally:
        worker.stop()
        context.close()


@pytest.fixture(scope="session", params=BACKENDS)
def stack(request: pytest.FixtureRequest, stack_settings: Callable[..., Settings]) -> Iterator[Stack]:
    """The service on PostgreSQL + Redis, or on the embedded default (SQLite + filesystem broker)."""
    settings = stack_settings(request.param)
    with running_stack(request.param, settings, settings.data_dir) as running:
        yield running


@pytest.fixture(scope="session")
def speech_clips() -> dict[str, bytes]:
    """One espeak-ng clip per speech emotion, in that emotion's prosody."""
    return {emotion: speech_wav(emotion) for emotion in SPEECH_STYLES}


# Fault injection: every task sleeps this long after marking its row processing (a window to kill it in).
FAULT_TASK_DELAY = 2.5


@pytest.fixture(scope="session")
def fault_stack(stack_settings: Callable[..., Settings]) -> Iterator[Stack]:
    """PostgreSQL + Redis with slow tasks (tests.workers.fault_injection) and a short redelivery timeout."""
    from tests.workers.fault_injection import DELAY_VARIABLE

    settings = stack_settings("postgres_redis", broker_visibility_timeout=5, max_task_attempts=3)
    with running_stack(
        "faults",
        settings,
        settings.data_dir,
        app_module="tests.workers.fault_injection",
        extra_env={DELAY_VARIABLE: str(FAULT_TASK_DELAY)},
    ) as running:
        yield running


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory):
    """Build ``s2m corpus build --size small`` once per session; return its root and manifest rows."""
    from corpus.build import build_corpus
    from ml.manifest import read_manifest

    root = tmp_path_factory.mktemp("corpus_small")
    manifest = build_corpus(root, size="small", seed=7, progress=False)
    return root, read_manifest(manifest)


@pytest.fixture(scope="session")
def ship_stack(stack_settings: Callable[..., Settings]) -> Iterator[Stack]:
    """The production-shaped stack the CLI, web and observability tests share: PostgreSQL, Redis, a worker."""
    settings = stack_settings("postgres_redis")
    with running_stack("ship", settings, settings.data_dir) as running:
        yield running


@pytest.fixture(scope="session")
def catalogue(ship_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Six synthesised tracks on the ship stack, ingested and embedded through the bulk-ingest code."""
    from s2m.bulk_ingest import ingest_paths, wait_until_embedded
    from s2m.client import ApiClient

    folder = tmp_path_factory.mktemp("ship-catalogue")
    files = [write_music(folder / f"piece{seed}.wav", seed=100 + seed) for seed in range(6)]
    client = ApiClient(ship_stack.base_url, api_key=ship_stack.api_key)
    summary = ingest_paths(client, files, progress=False)
    wait_until_embedded(client, summary, timeout=300, progress=False)
    assert summary.count("ingested") == 6, summary.failures
    return [outcome.track for outcome in summary.outcomes]
