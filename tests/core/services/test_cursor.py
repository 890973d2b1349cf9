"""Listing tracks a page at a time: the cursor round-trips, pages cover every track once, in order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from backend.core.domain.filters import TrackListQuery
from backend.core.services.errors import InvalidInputError
from backend.core.services.tracks import decode_cursor, encode_cursor, list_tracks
from backend.core.storage.models import DEFAULT_CATALOGUE_ID, Track


def _track(created_at: datetime, status: str = "queued") -> Track:
    return Track(
        id=uuid.uuid4(),
        catalogue_id=DEFAULT_CATALOGUE_ID,
        status=status,
        content_sha256=uuid.uuid4().hex * 2,
        media_format="WAV",
        duration_seconds=1.0,
        created_at=created_at,
        updated_at=created_at,
    )


def test_a_cursor_round_trips() -> None:
    track = _track(datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC))
    assert decode_cursor(encode_cursor(track)) == (track.created_at, track.id)


@pytest.mark.parametrize(
    "cursor", ["", "garbage", "W10", "WyJ4IiwgInkiXQ", encode_cursor(_track(datetime.now(UTC)))[:-3]]
)
def test_a_cursor_this_api_did_not_return_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidInputError, match="is not a cursor this API returned"):
        decode_cursor(cursor)


def test_pages_cover_every_track_once_in_ingest_order(app: Flask) -> None:
    context = app.extensions["s2m"]
    start = datetime(2026, 5, 1, tzinfo=UTC)
    # Two tracks share a timestamp: the id breaks the tie, so neither is skipped nor repeated.
    tracks = [_track(start + timedelta(seconds=i // 2), "ready" if i % 3 == 0 else "queued") for i in range(7)]
    with context.db.session() as session:
        session.add_all(tracks)
        session.commit()
    expected = [t.id for t in sorted(tracks, key=lambda t: (t.created_at, t.id))]

    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = list_tracks(context, DEFAULT_CATALOGUE_ID, TrackListQuery(limit=3, cursor=cursor))
        seen += [t.id for t in page]
        pages += 1
        if cursor is None:
            break
    assert seen == expected and pages == 3

    ready, cursor = list_tracks(context, DEFAULT_CATALOGUE_ID, TrackListQuery(limit=2, status="ready"))
    assert [t.id for t in ready] == [i for i in expected if i in {t.id for t in tracks if t.status == "ready"}][:2]
    rest, end = list_tracks(context, DEFAULT_CATALOGUE_ID, TrackListQuery(limit=2, status="ready", cursor=cursor))
    assert end is None and [t.status for t in rest] == ["ready"]
