"""Faults on PostgreSQL + Redis with a real worker: killed mid-task, poison work, broker down, duplicates."""

from __future__ import annotations

import os
import signal
import uuid

from sqlalchemy import select

from backend.core.storage.models import Track
from tests.support.stack import ApiServer, Stack, run_cli, wait_until
from tests.support.synth import music_wav


def _track_row(stack: Stack, track_id: str) -> Track:
    with stack.context.db.session() as session:
        row = session.get(Track, uuid.UUID(track_id))
    assert row is not None
    return row


def _wait_processing(stack: Stack, track_id: str, attempt: int) -> Track:
    def probe() -> Track | None:
        row = _track_row(stack, track_id)
        return row if row.status == "processing" and row.attempts == attempt else None

    return wait_until(probe, 60, 0.1, f"attempt {attempt} of track {track_id} to start")


def _ingest(stack: Stack, data: bytes, title: str) -> str:
    response = stack.http.post(stack.url("/v1/tracks"), files={"file": ("t.wav", data)}, data={"title": title})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _vector_ids(stack: Stack) -> set[str]:
    return {str(i) for i in stack.context.vectors.point_ids(stack.active_collection())}


def test_worker_killed_mid_task_completes_once_after_restart(fault_stack: Stack) -> None:
    stack = fault_stack
    data = music_wav("dark", 50)
    track_id = _ingest(stack, data, "killed mid-task")
    _wait_processing(stack, track_id, attempt=1)
    stack.worker.kill()  # SIGKILL the whole worker while the task sleeps inside it
    row = _track_row(stack, track_id)
    assert (row.status, row.attempts) == ("processing", 1)
    assert track_id not in _vector_ids(stack)

    stack.worker.start()  # Redis redelivers the unacknowledged task after the visibility timeout
    track = stack.wait_track(track_id, timeout=90)
    assert track["status"] == "ready", track
    row = _track_row(stack, track_id)
    assert row.attempts == 2  # one killed start, one that finished
    with stack.context.db.session() as session:
        same_content = session.scalars(select(Track).where(Track.content_sha256 == row.content_sha256)).all()
    assert len(same_content) == 1
    vectors = stack.context.vectors.embeddings(stack.active_collection(), [track_id])
    assert list(vectors) == [uuid.UUID(track_id)]
    assert stack.context.vectors.count(stack.active_collection()) == len(_vector_ids(stack))


def test_task_that_keeps_killing_its_worker_ends_failed(fault_stack: Stack) -> None:
    stack = fault_stack
    max_attempts = stack.settings.max_task_attempts
    track_id = _ingest(stack, music_wav("noisy", 51), "poison")
    for attempt in range(1, max_attempts + 1):
        _wait_processing(stack, track_id, attempt)
        children = stack.worker.child_pids()
        assert len(children) == 1
        os.kill(children[0], signal.SIGKILL)  # the pool process dies mid-task, as a crash would make it
    track = stack.wait_track(track_id, timeout=60)
    assert track["status"] == "failed"
    assert f"gave up after {max_attempts} attempts" in track["error"]
    assert _track_row(stack, track_id).attempts == max_attempts
    assert track_id not in _vector_ids(stack)
    assert stack.worker.process is not None and stack.worker.process.poll() is None  # the worker lives on


def test_broker_down_accepts_then_requeue_sends_it(fault_stack: Stack) -> None:
    stack = fault_stack
    unreachable = stack.settings.with_overrides(celery_broker_url="redis://127.0.0.1:1/0")
    with ApiServer(unreachable) as api:
        response = stack.http.post(api.base_url + "/v1/tracks", files={"file": ("t.wav", music_wav("bright", 52))})
    assert response.status_code == 202, response.text
    track_id = response.json()["id"]
    row = _track_row(stack, track_id)
    assert (row.status, row.attempts) == ("queued", 0)
    assert stack.context.media.exists("tracks", row.content_sha256)

    result = run_cli(stack.settings, "requeue", "--older-than", "0")
    assert result.returncode == 0, result.stderr
    assert "requeued 1 track(s)" in result.stdout
    track = stack.wait_track(track_id, timeout=60)
    assert track["status"] == "ready"
    assert _track_row(stack, track_id).attempts == 1


def test_duplicate_messages_leave_one_row_and_one_vector(fault_stack: Stack) -> None:
    stack = fault_stack
    track_id = _ingest(stack, music_wav("bright", 53), "sent thrice")
    stack.context.queue.embed_track(uuid.UUID(track_id))
    stack.context.queue.embed_track(uuid.UUID(track_id))
    assert stack.wait_track(track_id, timeout=60)["status"] == "ready"
    wait_until(lambda: stack.worker.new_log().count("'skipped'") >= 2, 60, 0.2, "the duplicate messages to be skipped")
    row = _track_row(stack, track_id)
    assert row.attempts == 1
    assert list(stack.context.vectors.embeddings(stack.active_collection(), [track_id])) == [uuid.UUID(track_id)]
