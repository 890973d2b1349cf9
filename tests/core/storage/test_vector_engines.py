"""Congruence of the vector engines, in the style of qdrant-client's own congruence tests.

The same test bodies run through ``VectorStore`` on the embedded engine (qdrant-edge, in a folder
this process owns) and on qdrant-client (its local mode stands in for the server's API, since no
Qdrant server can be installed here), and the cross-engine tests compare their answers for every
query type and every filter on the same points.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.core.domain.filters import TrackFilters
from backend.core.storage.vectors import (
    EMBEDDING_SIZE,
    EmbeddingQuery,
    LikeTrackQuery,
    PointQuery,
    Steering,
    TrackPoint,
    UnknownPointError,
    VectorStore,
)
from backend.core.storage.vectors.qdrant_server import QdrantClientEngine

COLLECTION = "tracks__congruence"
EMOTIONS = ("sad", "calm", "happy", "angry", "tender")
TAGS = ("rain", "night", "piano", "drums", "strings")
ENGINES = ("qdrant-edge", "qdrant-client")
CATALOGUE = uuid.UUID(int=17)


def make_store(engine: str, folder: Path) -> VectorStore:
    if engine == "qdrant-edge":
        return VectorStore(path=folder / "edge")
    return VectorStore(engine=QdrantClientEngine.for_local_folder(":memory:"))


def random_points(count: int, seed: int = 7) -> list[TrackPoint]:
    rng = random.Random(seed)
    return [
        TrackPoint(
            uuid.UUID(int=rng.getrandbits(128)),
            CATALOGUE,
            [rng.gauss(0, 1) for _ in range(EMBEDDING_SIZE)],
            rng.choice(EMOTIONS),
            round(rng.random(), 4),
            round(rng.random(), 4),
            tuple(rng.sample(TAGS, rng.randint(0, 2))),
        )
        for _ in range(count)
    ]


POINTS = random_points(300)
FILTERS = {
    "none": {},
    "emotions": {"emotions": ["sad", "calm"]},
    "tags": {"tags": ["rain", "piano"]},
    "valence range": {"valence_min": 0.2, "valence_max": 0.6},
    "arousal above": {"arousal_min": 0.7},
    "valence below": {"valence_max": 0.3},
    "exclude": {"exclude": [str(p.track_id) for p in POINTS[:40]]},
    "everything": {
        "emotions": ["sad", "happy", "tender"],
        "tags": ["night", "drums", "strings"],
        "valence_min": 0.1,
        "arousal_max": 0.8,
        "exclude": [str(p.track_id) for p in POINTS[:10]],
    },
    "nothing passes": {"emotions": ["angry"], "valence_min": 0.99, "valence_max": 0.99},
}
QUERIES = {
    "embedding": EmbeddingQuery([random.Random(3).gauss(0, 1) for _ in range(EMBEDDING_SIZE)]),
    "valence/arousal point": PointQuery(0.3, 0.8),
    "like a track": LikeTrackQuery(POINTS[50].track_id),
}


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    store = make_store(request.param, tmp_path)
    store.ensure_collection(COLLECTION)
    yield store
    store.close()


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, VectorStore]]:
    """Both engines holding the same points."""
    folder = tmp_path_factory.mktemp("congruence")
    stores = {engine: make_store(engine, folder) for engine in ENGINES}
    for store in stores.values():
        store.ensure_collection(COLLECTION)
        store.upsert(COLLECTION, POINTS)
    yield stores
    for store in stores.values():
        store.close()


def _passes(point: TrackPoint, filters: TrackFilters) -> bool:
    """What a filter means, written out plainly, to check the engines against."""
    if filters.emotions and point.emotion not in filters.emotions:
        return False
    if filters.tags and not set(point.tags) & set(filters.tags):
        return False
    for axis in ("valence", "arousal"):
        low, high = getattr(filters, f"{axis}_min"), getattr(filters, f"{axis}_max")
        value = getattr(point, axis)
        if (low is not None and value < low) or (high is not None and value > high):
            return False
    return point.track_id not in set(filters.exclude)


@pytest.mark.parametrize("query_name", QUERIES)
@pytest.mark.parametrize("filter_name", FILTERS)
def test_every_query_and_filter_gives_the_same_ranking_on_both_engines(
    both: dict[str, VectorStore], query_name: str, filter_name: str
) -> None:
    filters = TrackFilters.model_validate(FILTERS[filter_name])
    answers = {
        engine: store.search(COLLECTION, QUERIES[query_name], filters, 25, catalogue_id=CATALOGUE)
        for engine, store in both.items()
    }
    edge, reference = answers["qdrant-edge"], answers["qdrant-client"]
    assert [h.track_id for h in edge] == [h.track_id for h in reference]
    assert [h.score for h in edge] == pytest.approx([h.score for h in reference], abs=1e-4)
    assert [h.payload for h in edge] == [h.payload for h in reference]
    # And both are right: only points that pass, best first, all of them when fewer than the limit.
    by_id = {p.track_id: p for p in POINTS}
    passing = {p.track_id for p in POINTS if _passes(p, filters)}
    if isinstance(QUERIES[query_name], LikeTrackQuery):
        passing.discard(QUERIES[query_name].track_id)
    assert {h.track_id for h in edge} <= passing
    assert len(edge) == min(25, len(passing))
    assert [h.score for h in edge] == sorted((h.score for h in edge), reverse=True)
    assert all(by_id[h.track_id].emotion == h.payload["emotion"] for h in edge)


def test_counts_ids_and_embeddings_agree(both: dict[str, VectorStore]) -> None:
    edge, reference = both["qdrant-edge"], both["qdrant-client"]
    assert edge.count(COLLECTION) == reference.count(COLLECTION) == len(POINTS)
    assert edge.point_ids(COLLECTION) == reference.point_ids(COLLECTION) == {p.track_id for p in POINTS}
    some = [p.track_id for p in POINTS[:5]] + [uuid.uuid4()]
    edge_vectors, reference_vectors = edge.embeddings(COLLECTION, some), reference.embeddings(COLLECTION, some)
    assert edge_vectors.keys() == reference_vectors.keys() == set(some[:5])
    for track_id in some[:5]:
        assert edge_vectors[track_id] == pytest.approx(reference_vectors[track_id], abs=1e-5)


def test_a_point_written_again_is_found_by_its_new_payload(store: VectorStore) -> None:
    first = TrackPoint(uuid.uuid4(), CATALOGUE, [1.0] + [0.0] * (EMBEDDING_SIZE - 1), "sad", 0.2, 0.2, ("rain",))
    store.upsert(COLLECTION, [first, *POINTS[:20]])
    moved = TrackPoint(first.track_id, CATALOGUE, first.embedding, "happy", 0.9, 0.9, ("sun",))
    store.upsert(COLLECTION, [moved])
    assert store.count(COLLECTION) == 21
    found = store.search(
        COLLECTION, PointQuery(0.9, 0.9), TrackFilters(emotions=["happy"], tags=["sun"]), 5, catalogue_id=CATALOGUE
    )
    assert [h.track_id for h in found] == [first.track_id]
    assert found[0].score == pytest.approx(1.0)
    assert found[0].payload == {
        "catalogue_id": str(CATALOGUE),
        "emotion": "happy",
        "valence": 0.9,
        "arousal": 0.9,
        "tags": ["sun"],
        "artist_key": f"track:{first.track_id}",
    }
    old_filter = TrackFilters(emotions=["sad"], tags=["rain"])
    assert first.track_id not in {
        h.track_id for h in store.search(COLLECTION, PointQuery(0.2, 0.2), old_filter, 50, catalogue_id=CATALOGUE)
    }


def test_deleted_points_are_gone_from_every_operation(store: VectorStore) -> None:
    store.upsert(COLLECTION, POINTS[:30])
    gone = [p.track_id for p in POINTS[:10]]
    store.delete(COLLECTION, [*gone, uuid.uuid4()])  # an unknown id is fine
    assert store.count(COLLECTION) == 20
    assert store.point_ids(COLLECTION) == {p.track_id for p in POINTS[10:30]}
    assert store.embeddings(COLLECTION, gone) == {}
    hits = store.search(COLLECTION, EmbeddingQuery(POINTS[0].embedding), TrackFilters(), 50, catalogue_id=CATALOGUE)
    assert len(hits) == 20 and not {h.track_id for h in hits} & set(gone)


def test_like_a_track_without_a_vector_is_refused(store: VectorStore) -> None:
    store.upsert(COLLECTION, POINTS[:5])
    with pytest.raises(UnknownPointError):
        store.search(COLLECTION, LikeTrackQuery(uuid.uuid4()), TrackFilters(), 5, catalogue_id=CATALOGUE)


def test_a_collection_that_does_not_exist_is_empty(store: VectorStore) -> None:
    assert not store.collection_exists("tracks__none")
    assert store.count("tracks__none") == 0
    assert store.point_ids("tracks__none") == set()
    assert store.embeddings("tracks__none", [uuid.uuid4()]) == {}
    assert store.search("tracks__none", PointQuery(0.5, 0.5), TrackFilters(), 5, catalogue_id=CATALOGUE) == []
    store.delete("tracks__none", [uuid.uuid4()])  # nothing to delete is fine


def test_model_versioned_collections_are_separate_and_drop_alone(store: VectorStore) -> None:
    store.ensure_collection("tracks__v2")
    store.ensure_collection("tracks__v2")  # twice is fine
    store.upsert(COLLECTION, POINTS[:8])
    store.upsert("tracks__v2", POINTS[8:11])
    assert (store.count(COLLECTION), store.count("tracks__v2")) == (8, 3)
    store.drop_collection("tracks__v2")
    assert not store.collection_exists("tracks__v2") and store.count(COLLECTION) == 8
    store.ensure_collection("tracks__v2")
    assert store.count("tracks__v2") == 0


def test_the_alias_follows_the_switch_over(store: VectorStore) -> None:
    store.ensure_collection("tracks__v2")
    store.set_alias("tracks__active", COLLECTION)
    assert store.aliases() == {"tracks__active": COLLECTION}
    store.set_alias("tracks__active", "tracks__v2")
    assert store.aliases() == {"tracks__active": "tracks__v2"}


ARTISTS = ("Ada", "Bo", "Cy", None)
STEERED_POINTS = [
    TrackPoint(p.track_id, CATALOGUE, p.embedding, p.emotion, p.valence, p.arousal, p.tags, ARTISTS[i % len(ARTISTS)])
    for i, p in enumerate(random_points(200, seed=11))
]
STEERINGS = {
    "more like these": Steering(positive=tuple(p.track_id for p in STEERED_POINTS[:2])),
    "less like those": Steering(negative=tuple(p.track_id for p in STEERED_POINTS[2:4])),
    "both": Steering(positive=(STEERED_POINTS[4].track_id,), negative=(STEERED_POINTS[5].track_id,)),
    "per artist": Steering(per_artist=2),
    "steered, per artist": Steering(positive=(STEERED_POINTS[6].track_id,), per_artist=1),
}
STEERED_QUERIES = {
    "embedding": EmbeddingQuery([random.Random(5).gauss(0, 1) for _ in range(EMBEDDING_SIZE)]),
    "valence/arousal point": PointQuery(0.6, 0.4),
    "like a track": LikeTrackQuery(STEERED_POINTS[60].track_id),
}


@pytest.fixture(scope="module")
def steered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, VectorStore]]:
    folder = tmp_path_factory.mktemp("steered")
    stores = {engine: make_store(engine, folder) for engine in ENGINES}
    for store in stores.values():
        store.ensure_collection(COLLECTION)
        store.upsert(COLLECTION, STEERED_POINTS)
    yield stores
    for store in stores.values():
        store.close()


@pytest.mark.parametrize("query_name", STEERED_QUERIES)
@pytest.mark.parametrize("steering_name", STEERINGS)
def test_steering_gives_the_same_ranking_on_both_engines(
    steered: dict[str, VectorStore], query_name: str, steering_name: str
) -> None:
    steering = STEERINGS[steering_name]
    filters = TrackFilters(valence_min=0.1)
    answers = {
        engine: store.search(COLLECTION, STEERED_QUERIES[query_name], filters, 12, steering, catalogue_id=CATALOGUE)
        for engine, store in steered.items()
    }
    edge, reference = answers["qdrant-edge"], answers["qdrant-client"]
    assert [h.track_id for h in edge] == [h.track_id for h in reference]
    assert len(edge) == 12
    named = {*steering.positive, *steering.negative}
    assert not named & {h.track_id for h in edge}
    if steering.per_artist is not None:
        artists = [h.payload["artist_key"] for h in edge]
        assert max(artists.count(a) for a in set(artists)) <= steering.per_artist


def test_diversity_spreads_the_results_on_both_engines(steered: dict[str, VectorStore]) -> None:
    import numpy as np

    vectors = {p.track_id: np.asarray(p.embedding) / np.linalg.norm(p.embedding) for p in STEERED_POINTS}
    query = STEERED_QUERIES["embedding"]
    for engine, store in steered.items():
        plain = store.search(COLLECTION, query, TrackFilters(), 8, catalogue_id=CATALOGUE)
        varied = store.search(COLLECTION, query, TrackFilters(), 8, Steering(diversity=0.8), catalogue_id=CATALOGUE)

        def spread(hits: list) -> float:
            chosen = np.stack([vectors[h.track_id] for h in hits])
            return float((chosen @ chosen.T)[np.triu_indices(len(hits), 1)].mean())

        assert len(varied) == 8, engine
        assert varied[0].track_id == plain[0].track_id, engine
        assert spread(varied) < spread(plain), engine


def test_steering_by_a_track_without_a_vector_is_refused(store: VectorStore) -> None:
    store.upsert(COLLECTION, POINTS[:5])
    with pytest.raises(UnknownPointError):
        steer = Steering(positive=(uuid.uuid4(),))
        store.search(COLLECTION, PointQuery(0.5, 0.5), TrackFilters(), 3, steer, catalogue_id=CATALOGUE)


def test_a_catalogue_sees_searches_likes_and_deletes_only_its_own_points(store: VectorStore) -> None:
    theirs_catalogue = uuid.UUID(int=18)
    ours, theirs = POINTS[:20], [dataclasses.replace(p, catalogue_id=theirs_catalogue) for p in POINTS[20:40]]
    store.upsert(COLLECTION, [*ours, *theirs])
    mine = {p.track_id for p in ours}
    for query in (PointQuery(0.5, 0.5), EmbeddingQuery(POINTS[0].embedding), LikeTrackQuery(ours[0].track_id)):
        hits = store.search(COLLECTION, query, TrackFilters(), 100, catalogue_id=CATALOGUE)
        assert {h.track_id for h in hits} <= mine and len(hits) >= len(mine) - 1
    with pytest.raises(UnknownPointError):  # their point is no reference for our search
        store.search(COLLECTION, LikeTrackQuery(theirs[0].track_id), TrackFilters(), 5, catalogue_id=CATALOGUE)
    assert store.point_ids(COLLECTION, catalogue_id=CATALOGUE) == mine
    store.delete(COLLECTION, [theirs[0].track_id, ours[0].track_id], catalogue_id=CATALOGUE)
    assert theirs[0].track_id in store.point_ids(COLLECTION)  # not ours to delete
    assert ours[0].track_id not in store.point_ids(COLLECTION)
