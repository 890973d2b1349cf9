"""Catalogue filters -> Qdrant filter (backend.core.storage.vectors.build_filter), and what it selects
(on the embedded engine)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import models as qm

from backend.core.domain.filters import TrackFilters
from backend.core.storage.vectors import (
    EMBEDDING_SIZE,
    LikeTrackQuery,
    PointQuery,
    TrackPoint,
    UnknownPointError,
    VectorStore,
    build_filter,
)


def test_no_filter_is_none() -> None:
    assert build_filter(TrackFilters()) is None


def test_each_field_becomes_one_condition() -> None:
    excluded = uuid.uuid4()
    built = build_filter(
        TrackFilters(
            emotions=["sad", "calm"], tags=["Rain", "night"], valence_min=0.2, arousal_max=0.6, exclude=[excluded]
        )
    )
    assert built is not None
    assert built.must == [
        qm.FieldCondition(key="emotion", match=qm.MatchAny(any=["sad", "calm"])),
        qm.FieldCondition(key="tags", match=qm.MatchAny(any=["rain", "night"])),
        qm.FieldCondition(key="valence", range=qm.Range(gte=0.2, lte=None)),
        qm.FieldCondition(key="arousal", range=qm.Range(gte=None, lte=0.6)),
    ]
    assert built.must_not == [qm.HasIdCondition(has_id=[str(excluded)])]


def test_only_exclusions_leave_must_empty() -> None:
    excluded = uuid.uuid4()
    built = build_filter(TrackFilters(exclude=[excluded]))
    assert built is not None and built.must is None
    assert built.must_not == [qm.HasIdCondition(has_id=[str(excluded)])]


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[VectorStore]:
    store = VectorStore(path=tmp_path / "qdrant")
    store.ensure_collection("tracks__filters")
    yield store
    store.close()


CATALOGUE = uuid.uuid4()
POINTS = {
    "sad-rain": ("sad", 0.2, 0.3, ("rain",)),
    "sad-night": ("sad", 0.25, 0.35, ("night",)),
    "calm-rain": ("calm", 0.45, 0.3, ("rain", "piano")),
    "happy": ("happy", 0.95, 0.75, ()),
}


def _ids(store: VectorStore, filters: TrackFilters, names: dict[uuid.UUID, str]) -> set[str]:
    hits = store.search("tracks__filters", PointQuery(0.5, 0.5), filters, limit=10, catalogue_id=CATALOGUE)
    return {names[hit.track_id] for hit in hits}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"sad-rain", "sad-night", "calm-rain", "happy"}),
        ({"emotions": ["sad"]}, {"sad-rain", "sad-night"}),
        ({"tags": ["rain"]}, {"sad-rain", "calm-rain"}),
        ({"emotions": ["sad"], "tags": ["rain"]}, {"sad-rain"}),
        ({"valence_min": 0.22, "valence_max": 0.5}, {"sad-night", "calm-rain"}),
        ({"arousal_min": 0.7}, {"happy"}),
        ({"exclude": ["happy", "sad-rain"]}, {"sad-night", "calm-rain"}),
    ],
)
def test_the_filter_selects_inside_the_vector_query(store: VectorStore, filters: dict, expected: set[str]) -> None:
    ids = {name: uuid.uuid4() for name in POINTS}
    store.upsert(
        "tracks__filters",
        [
            TrackPoint(ids[name], CATALOGUE, [1.0] + [0.0] * (EMBEDDING_SIZE - 1), emotion, valence, arousal, tags)
            for name, (emotion, valence, arousal, tags) in POINTS.items()
        ],
    )
    if "exclude" in filters:
        filters = {**filters, "exclude": [ids[name] for name in filters["exclude"]]}
    names = {track_id: name for name, track_id in ids.items()}
    assert _ids(store, TrackFilters.model_validate(filters), names) == expected


def test_the_catalogue_is_the_first_condition() -> None:
    catalogue = uuid.uuid4()
    built = build_filter(TrackFilters(emotions=["sad"]), catalogue)
    assert built is not None
    assert built.must == [
        qm.FieldCondition(key="catalogue_id", match=qm.MatchAny(any=[str(catalogue)])),
        qm.FieldCondition(key="emotion", match=qm.MatchAny(any=["sad"])),
    ]


def test_another_catalogues_points_are_never_found_listed_liked_or_deleted(store: VectorStore) -> None:
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    mine, other = uuid.uuid4(), uuid.uuid4()
    vector = [1.0] + [0.0] * (EMBEDDING_SIZE - 1)
    store.upsert(
        "tracks__filters",
        [TrackPoint(mine, ours, vector, "sad", 0.2, 0.3), TrackPoint(other, theirs, vector, "sad", 0.2, 0.3)],
    )
    hits = store.search("tracks__filters", PointQuery(0.2, 0.3), TrackFilters(), limit=10, catalogue_id=ours)
    assert [hit.track_id for hit in hits] == [mine]
    assert store.point_ids("tracks__filters", catalogue_id=ours) == {mine}
    with pytest.raises(UnknownPointError):  # their track is no "like" reference for us
        store.search("tracks__filters", LikeTrackQuery(other), TrackFilters(), limit=10, catalogue_id=ours)
    store.delete("tracks__filters", [other], catalogue_id=ours)  # not ours to delete: nothing happens
    assert store.point_ids("tracks__filters") == {mine, other}
    store.delete("tracks__filters", [other], catalogue_id=theirs)
    assert store.point_ids("tracks__filters") == {mine}
