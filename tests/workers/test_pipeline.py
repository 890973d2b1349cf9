"""The worker's plain functions, called in-process on the embedded default (no Celery in between)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from sqlalchemy import update

from backend.core.config import Settings
from backend.core.domain.filters import TrackMetadata
from backend.core.services.context import ServiceContext
from backend.core.services.tracks import ingest_track
from backend.core.storage.db import upgrade_database
from backend.core.storage.models import DEFAULT_CATALOGUE_ID, Track
from tests.support.synth import music_wav
from workers import pipeline
from workers.context import WorkerContext


@pytest.fixture()
def worker(tmp_path: Path, model_dir: Path) -> WorkerContext:
    settings = Settings(data_dir=tmp_path, model_dir=model_dir, device="cpu", embed_batch_size=3)
    upgrade_database(settings.resolved_database_url)
    context = WorkerContext(settings)
    yield context
    context.close()


def _ingest(services: ServiceContext, data: bytes) -> uuid.UUID:
    return ingest_track(services, DEFAULT_CATALOGUE_ID, data, TrackMetadata(tags=["t"])).track.id


def _row(worker: WorkerContext, track_id: uuid.UUID) -> Track:
    with worker.services.db.session() as session:
        row = session.get(Track, track_id)
    assert row is not None
    return row


def test_one_task_embeds_a_batch_and_later_deliveries_do_nothing(worker: WorkerContext) -> None:
    services = worker.services
    ids = [_ingest(services, music_wav("bright", i)) for i in range(4)]
    # A track that already had a start is never batched with others (it may be the poison one).
    with services.db.session() as session:
        session.execute(update(Track).where(Track.id == ids[3]).values(attempts=1))
        session.commit()

    assert pipeline.embed_track(worker, ids[0]) == "ready"
    collection = worker.active_model().collection
    assert [_row(worker, i).status for i in ids] == ["ready", "ready", "ready", "queued"]
    assert set(services.vectors.point_ids(collection)) == set(ids[:3])

    for track_id in ids[:3]:  # their own messages arrive later
        assert pipeline.embed_track(worker, track_id) == "skipped"
    assert [_row(worker, i).attempts for i in ids[:3]] == [1, 1, 1]
    assert services.vectors.count(collection) == 3


def test_attempts_run_out_and_the_reason_is_kept(worker: WorkerContext) -> None:
    track_id = _ingest(worker.services, music_wav("dark", 1))
    with worker.services.db.session() as session:
        session.execute(update(Track).where(Track.id == track_id).values(attempts=worker.settings.max_task_attempts))
        session.commit()
    assert pipeline.embed_track(worker, track_id) == "failed"
    row = _row(worker, track_id)
    assert row.status == "failed" and row.error.startswith(
        f"gave up after {worker.settings.max_task_attempts} attempts"
    )


def test_audio_that_goes_missing_fails_with_the_reason(worker: WorkerContext) -> None:
    track_id = _ingest(worker.services, music_wav("noisy", 1))
    worker.services.media.delete("tracks", _row(worker, track_id).content_sha256)
    assert pipeline.embed_track(worker, track_id) == "failed"
    error = _row(worker, track_id).error
    # The reason in words; the path and the exception's text stay in the worker's log.
    assert error == "the stored audio file is missing from the media store"


def test_a_transient_error_is_raised_for_retry_and_noted_on_the_row(worker: WorkerContext) -> None:
    """The embedded vector folder held by a process that does not answer: retry, do not fail the track."""
    settings = worker.settings.with_overrides(qdrant_lock_timeout=0.3)
    impatient = WorkerContext(settings)
    track_id = _ingest(impatient.services, music_wav("dark", 2))
    folder = settings.resolved_qdrant_path
    folder.mkdir(parents=True, exist_ok=True)
    # Another process owns the folder (it holds the owner lock) but never serves it.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
            import fcntl, os, sys
            fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
            fcntl.lockf(fd, fcntl.LOCK_EX)
            print("held", flush=True)
            sys.stdin.read()
        """),
            str(folder / "owner.lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(pipeline.TRANSIENT):
            pipeline.embed_track(impatient, track_id)
    finally:
        holder.communicate("", timeout=10)  # the holder exits: its lock is freed
    row = _row(impatient, track_id)
    assert (row.status, row.attempts) == ("processing", 1)
    assert row.error == "retrying after the vector store did not answer"
    assert pipeline.embed_track(impatient, track_id) == "ready"  # the retry: this process owns the folder now
    assert _row(impatient, track_id).attempts == 2
    impatient.close()
