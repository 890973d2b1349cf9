"""Queue depth on /metrics comes from the broker through kombu, on every transport we run."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from backend.api.app import create_app
from backend.core.config import Settings
from backend.core.storage.db import upgrade_database


def _depth(text: str, queue: str) -> float:
    match = re.search(rf'^s2m_queue_depth\{{queue="{queue}"\}} (\S+)$', text, re.M)
    assert match, f"no s2m_queue_depth for {queue} in:\n{text}"
    return float(match.group(1))


@pytest.mark.parametrize("broker", ["filesystem", "redis"])
def test_queue_depth_counts_the_waiting_messages(broker: str, tmp_path: Path, model_dir: Path, redis_url: str) -> None:
    overrides = (
        {"celery_broker_url": redis_url, "broker_key_prefix": f"s2m-test-{uuid.uuid4().hex[:8]}:"}
        if broker == "redis"
        else {}
    )
    settings = Settings(data_dir=tmp_path, model_dir=model_dir, **overrides)
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    client, queue = app.test_client(), app.extensions["s2m"].queue
    try:
        metrics = client.get("/metrics").get_data(as_text=True)
        assert (_depth(metrics, "ingest"), _depth(metrics, "query")) == (0, 0)  # nothing sent: the queues are unknown
        for _ in range(3):
            assert queue.embed_track(uuid.uuid4())
        assert queue.answer_request(uuid.uuid4())
        metrics = client.get("/metrics").get_data(as_text=True)
        assert (_depth(metrics, "ingest"), _depth(metrics, "query")) == (3, 1)
    finally:
        if broker == "redis":
            import redis

            keys = redis.Redis.from_url(redis_url)
            stale = list(keys.scan_iter(match=f"{settings.broker_key_prefix}*"))
            if stale:
                keys.delete(*stale)
