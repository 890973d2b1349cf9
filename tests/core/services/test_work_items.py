"""Work-item state transitions, on the embedded database: starts, claims, finishing, staleness, resets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from flask import Flask

from backend.core.domain.analysis import ClipAnalysis
from backend.core.services import work_items
from backend.core.storage.db import Database
from backend.core.storage.models import DEFAULT_CATALOGUE_ID, Track


def _add(
    db: Database, status: str = "queued", attempts: int = 0, age_seconds: float = 0, seconds: float = 1.0
) -> uuid.UUID:
    moment = datetime.now(UTC) - timedelta(seconds=age_seconds)
    track = Track(
        catalogue_id=DEFAULT_CATALOGUE_ID,
        status=status,
        attempts=attempts,
        content_sha256=uuid.uuid4().hex * 2,
        media_format="WAV",
        duration_seconds=seconds,
        created_at=moment,
        updated_at=moment,
    )
    with db.session() as session:
        session.add(track)
        session.commit()
    return track.id


def _row(db: Database, track_id: uuid.UUID) -> Track:
    with db.session() as session:
        return session.get(Track, track_id)


ANALYSIS = ClipAnalysis(vector=[1.0], probabilities={"sad": 1.0}, label="sad", valence=0.2, arousal=0.3)


def test_a_start_counts_an_attempt_and_finished_or_missing_work_is_skipped(app: Flask) -> None:
    db = app.extensions["s2m"].db
    queued, ready = _add(db), _add(db, status="ready", attempts=1)
    started = work_items.start(db, Track, queued, max_attempts=3)
    assert isinstance(started, Track) and (started.status, started.attempts) == ("processing", 1)
    assert work_items.start(db, Track, ready, max_attempts=3) == "skipped"
    assert work_items.start(db, Track, uuid.uuid4(), max_attempts=3) == "skipped"
    assert _row(db, ready).attempts == 1


def test_spent_attempts_end_failed_naming_the_last_error(app: Flask) -> None:
    db = app.extensions["s2m"].db
    track_id = _add(db, status="processing", attempts=3)
    work_items.note_retry(db, Track, track_id, "OperationalError: database is down")
    assert work_items.start(db, Track, track_id, max_attempts=3) == "failed"
    row = _row(db, track_id)
    assert row.status == "failed" and row.attempts == 3
    assert row.error == "gave up after 3 attempts; last failure: retrying after OperationalError: database is down"


def test_claims_take_only_fresh_queued_tracks_once(app: Flask) -> None:
    db = app.extensions["s2m"].db
    own, fresh_a, fresh_b = _add(db, age_seconds=3), _add(db, age_seconds=2), _add(db, age_seconds=1)
    retried, _busy = _add(db, attempts=1), _add(db, status="processing", attempts=1)
    claimed = work_items.claim_fresh_tracks(db, exclude=own, limit=5)
    assert {t.id for t in claimed} == {fresh_a, fresh_b}
    assert all((t.status, t.attempts) == ("processing", 1) for t in claimed)
    assert work_items.claim_fresh_tracks(db, exclude=own, limit=5) == []  # nothing fresh is left
    assert _row(db, retried).status == "queued"  # a track that already had a start runs alone
    assert work_items.claim_fresh_tracks(db, exclude=own, limit=0) == []


def test_claims_stay_within_the_audio_budget_and_take_only_stored_audio(app: Flask) -> None:
    db = app.extensions["s2m"].db
    own = _add(db, age_seconds=5)
    long_a, long_b = _add(db, age_seconds=4, seconds=700.0), _add(db, age_seconds=3, seconds=700.0)
    short, unstored = _add(db, age_seconds=2, seconds=100.0), _add(db, age_seconds=1, seconds=10.0)
    missing = _row(db, unstored).content_sha256
    claimed = work_items.claim_fresh_tracks(
        db, exclude=own, limit=10, seconds_budget=900.0, has_audio=lambda sha256: sha256 != missing
    )
    # The first long track fits, the second would pass the budget, the short one still fits.
    assert {t.id for t in claimed} == {long_a, short}
    assert (_row(db, long_b).status, _row(db, unstored).status) == ("queued", "queued")


def test_a_row_carries_the_reason_in_words_never_the_exception_text() -> None:
    from sqlalchemy.exc import OperationalError

    from backend.core.audio import SilentAudioError

    assert work_items.describe_error(SilentAudioError("the audio is silent")) == "the audio is silent"
    assert work_items.describe_error(FileNotFoundError("/srv/media/tracks/ab/ab")) == (
        "the stored audio file is missing from the media store"
    )
    assert work_items.describe_error(OperationalError("SELECT", {}, Exception("host 10.0.0.1"))) == (
        "the database did not answer"
    )
    internal = work_items.describe_error(KeyError("<object at 0x7f>"))
    assert "0x" not in internal and "KeyError" not in internal
    assert "KeyError" in work_items.log_text(KeyError("x"))


def test_finishing_marks_ready_with_the_analysis_and_reports_deleted_tracks(app: Flask) -> None:
    db = app.extensions["s2m"].db
    kept, deleted = _add(db, status="processing", attempts=1), uuid.uuid4()
    work_items.note_retry(db, Track, kept, "Timeout")
    assert work_items.finish_tracks(db, [(kept, ANALYSIS), (deleted, ANALYSIS)], "model-v1") == [deleted]
    row = _row(db, kept)
    assert (row.status, row.error, row.emotion, row.valence, row.model_version) == (
        "ready",
        None,
        "sad",
        0.2,
        "model-v1",
    )


def test_stale_work_is_taken_once_and_failed_work_gets_fresh_attempts(app: Flask) -> None:
    db = app.extensions["s2m"].db
    now = datetime.now(UTC)
    stale, recent = _add(db, age_seconds=900), _add(db, age_seconds=10)
    failed = _add(db, status="failed", attempts=3, age_seconds=900)
    cutoff = now - timedelta(seconds=600)
    taken = work_items.take_stale(db, Track, ("queued", "processing", "failed"), cutoff, now)
    assert set(taken) == {stale, failed} and recent not in taken
    assert (_row(db, failed).status, _row(db, failed).attempts) == ("queued", 0)
    assert work_items.take_stale(db, Track, ("queued", "processing", "failed"), cutoff, now) == []  # stamped now

    work_items.reset_tracks(db, [stale])
    assert (_row(db, stale).status, _row(db, stale).attempts, _row(db, stale).error) == ("queued", 0, None)
