"""Catalogue filters -> Qdrant filter (backend.core.storage.vectors.build_filter), and what it selects
(on the embedded engine)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import models as qm

from backend.core.domain.filters import TrackFilters
from backend.core.storage.vectors import EMBEDDING_SIZE, PointQuery, TrackPoint, VectorStore, build_filter


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


POINTS = {
    "sad-rain": ("sad", 0.2, 0.3, ("rain",)),
    "sad-night": ("sad", 0.25, 0.35, ("night",)),
    "calm-rain": ("calm", 0.45, 0.3, ("rain", "piano")),
    "happy": ("happy", 0.95, 0.75, ()),
}


def _ids(store: VectorStore, filters: TrackFilters, names: dict[uuid.UUID, str]) -> set[str]:
    hits = store.search("tracks__filters", PointQuery(0.5, 0.5), filters, limit=10)
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
            TrackPoint(ids[name], [1.0] + [0.0] * (EMBEDDING_SIZE - 1), emotion, valence, arousal, tags)
            for name, (emotion, valence, arousal, tags) in POINTS.items()
        ],
    )
    if "exclude" in filters:
        filters = {**filters, "exclude": [ids[name] for name in filters["exclude"]]}
    names = {track_id: name for name, track_id in ids.items()}
    assert _ids(store, TrackFilters.model_validate(filters), names) == expected
