"""Steering and explaining results, over HTTP with a real worker, on both backends: "more like these,
less like those", at most N tracks per artist, the diversity re-rank, and each result's ``why``.

The expected rankings are computed here from the stored embeddings with numpy (the recommend
query's average-vector rule, a greedy cap per artist), independently of the vector engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from backend.core.config import Settings
from tests.conftest import BACKENDS, running_stack
from tests.support.stack import Stack
from tests.support.synth import MOODS, music_wav, speech_wav

ARTISTS = ("Ada", "ada ", "Bo", None)  # "Ada" and "ada " are one artist; None: no artist given
PER_ARTIST_TRACKS = 4


@pytest.fixture(scope="module", params=BACKENDS)
def steer_stack(request: pytest.FixtureRequest, stack_settings: Callable[..., Settings]) -> Iterator[Stack]:
    settings = stack_settings(request.param)
    with running_stack(f"steering-{request.param}", settings, settings.data_dir) as running:
        yield running


@pytest.fixture(scope="module")
def tracks(steer_stack: Stack) -> list[dict[str, Any]]:
    created = []
    for index in range(len(ARTISTS) * PER_ARTIST_TRACKS):
        artist = ARTISTS[index % len(ARTISTS)]
        data = {"title": f"t{index}", **({"artist": artist} if artist else {})}
        response = steer_stack.http.post(
            steer_stack.url("/v1/tracks"),
            files={"file": ("t.wav", music_wav(MOODS[index % 3], index), "audio/wav")},
            data=data,
        )
        assert response.status_code == 202, response.text
        created.append(response.json())
    return [steer_stack.wait_track(track["id"]) for track in created]


def _embeddings(stack: Stack, tracks: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    stored = stack.context.vectors.embeddings(stack.active_collection(), [uuid.UUID(t["id"]) for t in tracks])
    return {str(track_id): np.asarray(vector) / np.linalg.norm(vector) for track_id, vector in stored.items()}


def _search(stack: Stack, **body: Any) -> list[dict[str, Any]]:
    response = stack.http.post(stack.url("/v1/search"), json=body)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def _ranked(vectors: dict[str, np.ndarray], target: np.ndarray, leave_out: set[str]) -> list[str]:
    target = target / np.linalg.norm(target)
    scores = {track_id: float(v @ target) for track_id, v in vectors.items() if track_id not in leave_out}
    return sorted(scores, key=lambda track_id: -scores[track_id])


def test_more_like_these_and_less_like_those_moves_the_target(steer_stack: Stack, tracks: list[dict]) -> None:
    vectors = _embeddings(steer_stack, tracks)
    like, toward, away = (t["id"] for t in tracks[:3])
    results = _search(steer_stack, like_track=like, positive=[toward], negative=[away], limit=6)
    mean = (vectors[like] + vectors[toward]) / 2
    expected = _ranked(vectors, mean + (mean - vectors[away]), {like, toward, away})
    assert [r["track_id"] for r in results] == expected[:6]
    plain = _search(steer_stack, like_track=like, limit=6)
    assert [r["track_id"] for r in plain] == _ranked(vectors, vectors[like], {like})[:6]
    assert all(r["why"]["steering"] == ["negative", "positive"] for r in results)


def test_at_most_n_tracks_per_artist_the_best_of_each(steer_stack: Stack, tracks: list[dict]) -> None:
    vectors = _embeddings(steer_stack, tracks)
    artist_of = {t["id"]: " ".join((t["artist"] or "").split()).casefold() or t["id"] for t in tracks}
    like = tracks[0]["id"]
    for cap in (1, 2):
        results = _search(steer_stack, like_track=like, per_artist=cap, limit=6)
        expected, counts = [], {}
        for track_id in _ranked(vectors, vectors[like], {like}):
            if counts.get(artist_of[track_id], 0) < cap:
                expected.append(track_id)
                counts[artist_of[track_id]] = counts.get(artist_of[track_id], 0) + 1
        assert [r["track_id"] for r in results] == expected[:6], cap
        assert all(r["why"]["steering"] == ["per_artist"] for r in results)


def test_diversity_spreads_the_results(steer_stack: Stack, tracks: list[dict]) -> None:
    vectors = _embeddings(steer_stack, tracks)

    def spread(results: list[dict]) -> float:
        chosen = np.stack([vectors[r["track_id"]] for r in results])
        similarity = chosen @ chosen.T
        return float(similarity[np.triu_indices(len(results), 1)].mean())

    like = tracks[0]["id"]
    plain = _search(steer_stack, like_track=like, limit=5)
    varied = _search(steer_stack, like_track=like, diversity=0.9, limit=5)
    assert len(varied) == 5 and like not in {r["track_id"] for r in varied}
    assert spread(varied) < spread(plain)
    assert varied[0]["track_id"] == plain[0]["track_id"]  # MMR keeps the most relevant first


def test_every_result_says_why_it_was_chosen(steer_stack: Stack, tracks: list[dict]) -> None:
    results = _search(steer_stack, valence=0.8, arousal=0.7, emotions=["happy", "calm", "sad"], limit=5)
    by_id = {t["id"]: t for t in tracks}
    for result in results:
        why, track = result["why"], by_id[result["track_id"]]
        assert why["query_emotion"] is None and why["track_emotion"] == track["emotion"]
        expected = float(np.hypot(track["valence"] - 0.8, track["arousal"] - 0.7))
        assert why["valence_arousal_distance"] == pytest.approx(expected)
        assert why["filters"] == ["emotions"]
    by_mood = _search(steer_stack, emotion="calm", limit=3)
    assert all(r["why"]["query_emotion"] == "calm" and r["why"]["filters"] == [] for r in by_mood)


def test_recommendations_are_steered_and_explained(steer_stack: Stack, tracks: list[dict]) -> None:
    toward = [tracks[1]["id"], tracks[2]["id"]]
    response = steer_stack.http.post(
        steer_stack.url("/v1/recommendations"),
        files={"file": ("s.wav", speech_wav("happy"), "audio/wav")},
        data={"positive": ",".join(toward), "per_artist": "1", "limit": "10"},
    )
    assert response.status_code == 202, response.text
    answer = steer_stack.http.get(
        steer_stack.url(f"/v1/recommendations/{response.json()['id']}"), params={"wait": 30}
    ).json()
    assert answer["status"] == "ready", answer["error"]
    assert answer["filters"]["positive"] == toward and answer["filters"]["per_artist"] == 1
    ids = [r["track_id"] for r in answer["results"]]
    assert not set(ids) & set(toward)
    artists = [" ".join((r["artist"] or "").split()).casefold() or r["track_id"] for r in answer["results"]]
    # One track of each named artist ("Ada"/"ada " are one) and each track without an artist.
    assert len(artists) == len(set(artists)) == 2 + PER_ARTIST_TRACKS
    for result in answer["results"]:
        why = result["why"]
        assert why["query_emotion"] == answer["query"]["emotion"]
        assert why["query_probability"] == pytest.approx(answer["query"]["probabilities"][why["query_emotion"]])
        assert why["steering"] == ["per_artist", "positive"]


def test_steering_tracks_must_be_known_and_ready(steer_stack: Stack, tracks: list[dict]) -> None:
    unknown = str(uuid.uuid4())
    response = steer_stack.http.post(steer_stack.url("/v1/search"), json={"emotion": "calm", "positive": [unknown]})
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_track"
    assert unknown in response.json()["error"]["message"]
    response = steer_stack.http.post(
        steer_stack.url("/v1/recommendations"),
        files={"file": ("s.wav", speech_wav("sad"), "audio/wav")},
        data={"negative": unknown},
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_track"
    response = steer_stack.http.post(steer_stack.url("/v1/search"), json={"emotion": "calm", "per_artist": 0})
    assert response.status_code == 422 and "per_artist" in response.json()["error"]["message"]
