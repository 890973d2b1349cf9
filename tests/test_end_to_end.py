"""End to end over HTTP with a real worker process, on PostgreSQL + Redis and on the embedded default.

The model is untrained (random weights), so these tests check the service, not the model's taste:
tracks get embedded and stored, answers come back ranked by cosine similarity, every filter
holds inside the vector query, duplicates and deletes behave.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from backend.core.domain.emotions import MUSIC_LABELS, SPEECH_LABELS
from backend.core.storage.models import Catalogue, Track
from tests.support.keys import TEST_CATALOGUE
from tests.support.stack import Stack
from tests.support.synth import MOODS, music_wav

VARIANTS = 8  # tracks per mood: 24 in all
LIMIT = 5


def _post_track(stack: Stack, data: bytes, **fields: str) -> Any:
    return stack.http.post(stack.url("/v1/tracks"), files={"file": ("track.wav", data, "audio/wav")}, data=fields)


@pytest.fixture(scope="session")
def catalogue(stack: Stack) -> list[dict[str, Any]]:
    """Ingest bright, dark and noisy tracks over HTTP; return what was sent and the first responses."""
    entries = []
    for mood in MOODS:
        for variant in range(VARIANTS):
            data = music_wav(mood, variant)
            tags = f"{mood},{'even' if variant % 2 == 0 else 'odd'}"
            response = _post_track(stack, data, title=f"{mood} {variant}", artist="synth", tags=tags)
            entries.append(
                {
                    "mood": mood,
                    "data": data,
                    "tags": tags.split(","),
                    "status_code": response.status_code,
                    "location": response.headers.get("Location"),
                    "body": response.json(),
                }
            )
    for entry in entries:
        entry["track"] = stack.wait_track(entry["body"]["id"])
    return entries


def _ready_tracks(stack: Stack) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        params = {"status": "ready", "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = stack.http.get(stack.url("/v1/tracks"), params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def _search(stack: Stack, **body: Any) -> list[dict[str, Any]]:
    response = stack.http.post(stack.url("/v1/search"), json=body)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def _assert_ranked(results: list[dict[str, Any]]) -> None:
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True), scores


def test_ingest_accepts_then_embeds_every_track(stack: Stack, catalogue: list[dict[str, Any]]) -> None:
    for entry in catalogue:
        assert entry["status_code"] == 202
        assert entry["body"]["status"] == "queued"
        assert entry["location"].endswith(f"/v1/tracks/{entry['body']['id']}")
        track = entry["track"]
        assert track["status"] == "ready", track
        assert track["emotion"] in MUSIC_LABELS
        assert math.isclose(sum(track["probabilities"].values()), 1.0, abs_tol=1e-4)
        assert 0 <= track["valence"] <= 1 and 0 <= track["arousal"] <= 1
        assert track["model_version"].startswith("untrained-")
        assert track["tags"] == entry["tags"]
    ids = {entry["track"]["id"] for entry in catalogue}
    stored = stack.context.vectors.point_ids(stack.active_collection())
    assert ids <= {str(i) for i in stored}


def test_same_audio_again_returns_the_existing_track(stack: Stack, catalogue: list[dict[str, Any]]) -> None:
    first = catalogue[0]
    again = _post_track(stack, first["data"], title="another title")
    assert again.status_code == 200
    assert again.json()["id"] == first["track"]["id"]
    assert again.json()["title"] == first["track"]["title"]
    with stack.context.db.session() as session:
        rows = session.scalars(select(Track).where(Track.content_sha256 == first["track"]["content_sha256"])).all()
    assert len(rows) == 1 and rows[0].attempts == 1  # no second job ran


def test_audio_download_returns_the_stored_file(stack: Stack, catalogue: list[dict[str, Any]]) -> None:
    entry = catalogue[3]
    response = stack.http.get(stack.url(entry["track"]["audio_url"]))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "audio/wav"
    assert response.content == entry["data"]


def test_speech_of_each_emotion_gets_ranked_tracks(
    stack: Stack, catalogue: list[dict[str, Any]], speech_clips: dict[str, bytes]
) -> None:
    with stack.context.db.session() as session:
        ready_ids = {str(i) for i in session.scalars(select(Track.id).where(Track.status == "ready"))}
    locations = {}
    for emotion, clip in speech_clips.items():
        response = stack.http.post(
            stack.url("/v1/recommendations"),
            files={"file": (f"{emotion}.wav", clip)},
            data={"limit": str(LIMIT), "transcript": ""},
        )
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "queued"
        locations[emotion] = response.headers["Location"]
    for emotion, location in locations.items():
        body = stack.http.get(stack.url(location), params={"wait": 60}).json()
        assert body["status"] == "ready", (emotion, body)
        assert body["query"]["emotion"] in SPEECH_LABELS
        assert math.isclose(sum(body["query"]["probabilities"].values()), 1.0, abs_tol=1e-4)
        results = body["results"]
        assert len(results) == LIMIT
        assert {r["track_id"] for r in results} <= ready_ids
        _assert_ranked(results)
        assert all(r["audio_url"] == f"/v1/tracks/{r['track_id']}/audio" for r in results)


def test_each_filter_holds_inside_the_query(stack: Stack, catalogue: list[dict[str, Any]]) -> None:
    ready = _ready_tracks(stack)
    emotions = [t["emotion"] for t in ready]
    common = max(set(emotions), key=emotions.count)
    by_emotion = _search(stack, valence=0.5, arousal=0.5, emotions=[common], limit=LIMIT)
    assert by_emotion and all(r["emotion"] == common for r in by_emotion)
    assert len(by_emotion) == min(LIMIT, emotions.count(common))  # filtered before the limit, not after

    valences = sorted(t["valence"] for t in ready)
    low = valences[len(valences) // 2]
    above = _search(stack, emotion="sad", valence_min=low, limit=LIMIT)
    assert len(above) == LIMIT and all(r["valence"] >= low for r in above)
    arousals = sorted(t["arousal"] for t in ready)
    high = arousals[len(arousals) // 3]
    below = _search(stack, emotion="happy", arousal_max=high, limit=LIMIT)
    assert below and all(r["arousal"] <= high for r in below)

    noisy = {e["track"]["id"] for e in catalogue if e["mood"] == "noisy"}
    tagged = _search(stack, emotion="calm", tags=["noisy"], limit=LIMIT)
    assert len(tagged) == LIMIT and {r["track_id"] for r in tagged} <= noisy

    unfiltered = _search(stack, emotion="calm", limit=LIMIT)
    excluded = [r["track_id"] for r in unfiltered[:3]]
    rest = _search(stack, emotion="calm", exclude=excluded, limit=LIMIT)
    assert len(rest) == LIMIT and not set(excluded) & {r["track_id"] for r in rest}


def test_recommendation_filters_hold(
    stack: Stack, catalogue: list[dict[str, Any]], speech_clips: dict[str, bytes]
) -> None:
    dark = [e["track"] for e in catalogue if e["mood"] == "dark"]
    excluded = dark[0]["id"]
    arousal_min = sorted(t["arousal"] for t in dark)[1]
    response = stack.http.post(
        stack.url("/v1/recommendations"),
        files={"file": ("sad.wav", speech_clips["sad"])},
        data={
            "limit": "3",
            "tags": "dark, even",
            "exclude": excluded,
            "arousal_min": str(arousal_min),
            "valence_min": "0",
            "valence_max": "1",
        },
    )
    assert response.status_code == 202, response.text
    body = stack.http.get(stack.url(response.headers["Location"]), params={"wait": 60}).json()
    assert body["status"] == "ready", body
    allowed = {t["id"] for t in dark if t["arousal"] >= arousal_min} - {excluded}
    dark_or_even = allowed | {e["track"]["id"] for e in catalogue if "even" in e["tags"]}
    assert body["results"], body
    assert {r["track_id"] for r in body["results"]} <= dark_or_even - {excluded}
    assert all(r["arousal"] >= arousal_min for r in body["results"])
    _assert_ranked(body["results"])
    assert body["filters"]["tags"] == ["dark", "even"] and body["filters"]["exclude"] == [excluded]


def test_search_modes_rank_by_their_measure(stack: Stack, catalogue: list[dict[str, Any]]) -> None:
    by_label = _search(stack, emotion="tender", limit=LIMIT)
    assert len(by_label) == LIMIT
    _assert_ranked(by_label)

    by_point = _search(stack, valence=0.3, arousal=0.7, limit=LIMIT)
    _assert_ranked(by_point)
    for result in by_point:
        distance = math.hypot(result["valence"] - 0.3, result["arousal"] - 0.7)
        assert math.isclose(result["score"], 1 - distance, abs_tol=1e-5)

    seed = catalogue[5]["track"]["id"]
    similar = _search(stack, like_track=seed, limit=LIMIT)
    assert len(similar) == LIMIT and seed not in {r["track_id"] for r in similar}
    _assert_ranked(similar)
    vectors = stack.context.vectors.embeddings(stack.active_collection(), [seed, *(r["track_id"] for r in similar)])
    vectors = {str(k): np.asarray(v) for k, v in vectors.items()}
    for result in similar:
        cosine = float(vectors[seed] @ vectors[result["track_id"]])
        assert math.isclose(result["score"], cosine, abs_tol=1e-4)


def test_listing_filters_and_pages(stack: Stack, catalogue: list[dict[str, Any]]) -> None:
    seen, cursor = [], None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = stack.http.get(stack.url("/v1/tracks"), params=params).json()
        assert len(page["items"]) <= 7
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    with stack.context.db.session() as session:  # the tracks of this key's catalogue (other tests add others)
        total = session.scalar(
            select(func.count())
            .select_from(Track)
            .join(Catalogue, Track.catalogue_id == Catalogue.id)
            .where(Catalogue.name == TEST_CATALOGUE)
        )
    assert len(seen) == len(set(seen)) == total
    odd = stack.http.get(stack.url("/v1/tracks"), params={"tag": "odd", "limit": 100}).json()["items"]
    assert {t["id"] for t in odd} == {e["track"]["id"] for e in catalogue if "odd" in e["tags"]}
    some_emotion = catalogue[0]["track"]["emotion"]
    same = stack.http.get(stack.url("/v1/tracks"), params={"emotion": some_emotion, "limit": 100}).json()["items"]
    assert same and all(t["emotion"] == some_emotion for t in same)


def test_delete_removes_row_vector_and_audio(stack: Stack, catalogue: list[dict[str, Any]]) -> None:
    response = _post_track(stack, music_wav("bright", 99), title="to delete")
    assert response.status_code == 202
    track = stack.wait_track(response.json()["id"])
    assert track["status"] == "ready"
    collection = stack.active_collection()
    assert stack.context.vectors.embeddings(collection, [track["id"]])
    audio_path = stack.context.media.path("tracks", track["content_sha256"])
    assert audio_path.is_file()

    assert stack.http.delete(stack.url(f"/v1/tracks/{track['id']}")).status_code == 204
    assert stack.http.get(stack.url(f"/v1/tracks/{track['id']}")).status_code == 404
    assert stack.context.vectors.embeddings(collection, [track["id"]]) == {}
    assert not audio_path.exists()
    assert stack.http.delete(stack.url(f"/v1/tracks/{track['id']}")).status_code == 404
    assert stack.http.post(stack.url("/v1/search"), json={"like_track": track["id"]}).status_code == 404


def test_readiness_checks_every_dependency(stack: Stack) -> None:
    body = stack.http.get(stack.url("/readyz")).json()
    assert body == {"status": "ready", "checks": {"database": "ok", "broker": "ok", "qdrant": "ok"}}
    metrics = stack.http.get(stack.url("/metrics")).text
    assert 's2m_work_items{kind="track",status="ready"}' in metrics
    assert "s2m_http_requests_total" in metrics
