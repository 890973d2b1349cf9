"""Request ids, JSON logs, and worker metrics reaching the API's /metrics (PostgreSQL + Redis stack)."""

from __future__ import annotations

import json
import logging
import re

import requests
from sqlalchemy import func, select

from backend.core.logging import configure_logging, log_context
from backend.core.storage.models import Track
from s2m.bulk_ingest import ingest_paths, wait_until_embedded
from s2m.client import ApiClient
from tests.support.files import write_music


def metric(url: str, name: str, **labels: str) -> float:
    """Read one sample from the API's /metrics."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    assert match, f"no {name}{{{wanted}}} in /metrics"
    return float(match.group(1))


def test_request_ids_are_echoed_or_made_up(stack):
    url = f"{stack.base_url}/v1/emotions"
    assert stack.http.get(url, headers={"X-Request-ID": "trace-42"}).headers["X-Request-ID"] == "trace-42"
    for supplied in ({}, {"X-Request-ID": "spaces are not allowed"}, {"X-Request-ID": "x" * 65}):
        assert re.fullmatch(r"[0-9a-f]{32}", stack.http.get(url, headers=supplied).headers["X-Request-ID"])


def test_queue_depth_durations_and_throughput_come_from_broker_and_rows(stack, tmp_path):
    client = ApiClient(stack.base_url, api_key=stack.api_key)
    durations_before = metric(stack.base_url, "s2m_task_duration_seconds_count", kind="track")
    stack.worker.stop()
    try:
        files = [write_music(tmp_path / f"queued{seed}.wav", seed=200 + seed) for seed in range(2)]
        summary = ingest_paths(client, files, progress=False)
        assert summary.count("ingested") == 2
        # Nobody consumes: both tasks wait in Redis, and /metrics says so.
        assert metric(stack.base_url, "s2m_queue_depth", queue="ingest") == 2
        assert metric(stack.base_url, "s2m_queue_depth", queue="query") == 0
    finally:
        stack.worker.start()
    wait_until_embedded(client, summary, timeout=180, progress=False)
    assert not summary.failures

    assert metric(stack.base_url, "s2m_queue_depth", queue="ingest") == 0
    assert metric(stack.base_url, "s2m_task_duration_seconds_count", kind="track") == durations_before + 2
    assert metric(stack.base_url, "s2m_embeddings_per_second", kind="track") >= 2 / 60
    assert metric(stack.base_url, "s2m_audio_seconds_embedded_per_second", kind="track") >= 2 * 6.0 / 60
    with stack.context.db.session() as session:
        failed = session.scalar(select(func.count()).select_from(Track).where(Track.status == "failed"))
    assert metric(stack.base_url, "s2m_task_failures_total", kind="track") == failed
    # The worker's log lines name the track they are about.
    log = stack.worker.log_path.read_text()
    for outcome in summary.outcomes:
        assert re.search(rf"task s2m\.embed_track finished: SUCCESS .*track_id={outcome.track['id']}", log)


def test_json_log_lines_carry_the_ids_in_context(tmp_path):
    path = tmp_path / "log.jsonl"
    configure_logging(json_lines=True, filename=path)
    try:
        with log_context(track_id="t-1"):
            with log_context(request_id="r-2"):
                logging.getLogger("s2m.test").warning("inside %s", "both")
            logging.getLogger("s2m.test").warning("track only")
        logging.getLogger("s2m.test").warning("outside")
    finally:
        configure_logging(json_lines=False)
    inner, middle, outer = (json.loads(line) for line in path.read_text().splitlines())
    assert inner["message"] == "inside both" and inner["level"] == "WARNING" and inner["logger"] == "s2m.test"
    assert (inner["track_id"], inner["request_id"]) == ("t-1", "r-2")
    assert middle["track_id"] == "t-1" and "request_id" not in middle
    assert "track_id" not in outer and "ids" not in outer
