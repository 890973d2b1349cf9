"""Every format the service takes goes through the real service: uploaded as a track (music) and as a
speech query, decoded and embedded by the worker, and the stored file served back with its type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from backend.core import audio
from tests.support.audio_files import FORMATS, encode, soundfile_bytes, tone
from tests.support.stack import Stack, wait_until
from tests.support.synth import MUSIC_RATE, music_clip, speech_wav

TAG = "format-test"


@pytest.fixture(scope="module")
def uploads(stack: Stack) -> Iterator[dict[str, dict[str, Any]]]:
    """Post each format once as a track and once as speech; yield what was sent and the 202 bodies."""
    speech = audio.decode_audio(speech_wav("angry"))
    sent: dict[str, dict[str, Any]] = {}
    for index, fmt in enumerate(FORMATS):
        clip = music_clip("bright", 20 + index, 2.5)
        music = encode(audio.resample(clip, MUSIC_RATE, fmt.rate), fmt.rate, fmt)
        voice = encode(audio.resample(speech.samples, speech.sample_rate, fmt.rate), fmt.rate, fmt)
        name = f"clip.{audio.file_extension(fmt.stored)}"
        track = stack.http.post(stack.url("/v1/tracks"), files={"file": (name, music)}, data={"tags": TAG})
        query = stack.http.post(stack.url("/v1/recommendations"), files={"file": (name, voice)})
        assert (track.status_code, query.status_code) == (202, 202), (fmt.name, track.text, query.text)
        seconds = clip.size / MUSIC_RATE
        sent[fmt.name] = {"music": music, "seconds": seconds, "track": track.json(), "query": query.json()}
    yield sent
    for entry in sent.values():
        stack.http.delete(stack.url(f"/v1/tracks/{entry['track']['id']}"))


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.name for f in FORMATS])
def test_each_format_is_embedded_as_music_and_answered_as_speech(stack: Stack, uploads, fmt) -> None:
    entry = uploads[fmt.name]
    track = stack.wait_track(entry["track"]["id"])
    assert track["status"] == "ready", track
    assert track["duration_seconds"] == pytest.approx(entry["seconds"], abs=fmt.header_tolerance)
    assert track["emotion"] is not None and track["model_version"]

    def answered() -> dict[str, Any] | None:
        body = stack.http.get(stack.url(f"/v1/recommendations/{entry['query']['id']}?wait=5")).json()
        return body if body["status"] in ("ready", "failed") else None

    answer = wait_until(answered, 120, 0.2, f"the {fmt.name} speech request")
    assert answer["status"] == "ready", answer
    assert answer["query"]["emotion"] and answer["results"]

    served = stack.http.get(stack.url(track["audio_url"]))
    assert served.status_code == 200 and served.content == entry["music"]
    assert served.headers["Content-Type"] == audio.mime_type(fmt.stored)
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_what_only_the_whole_file_shows_fails_in_the_worker_with_a_reason_in_words(stack: Stack) -> None:
    """The API checks the first minute; a problem after it is the worker's to find, and to explain."""
    rate = 8_000
    silent = np.zeros(70 * rate, np.float32)
    late_nan = tone(70.0, rate)
    late_nan[69 * rate] = np.nan  # past the blocks the API scans
    cases = {
        "silent": (soundfile_bytes(silent, rate), "the audio is silent"),
        "late_nan": (soundfile_bytes(late_nan, rate, "WAV", "FLOAT"), "the samples are not finite numbers"),
    }
    for name, (data, reason) in cases.items():
        created = stack.http.post(stack.url("/v1/tracks"), files={"file": (f"{name}.wav", data)})
        assert created.status_code == 202, created.text
        track = stack.wait_track(created.json()["id"])
        assert track["status"] == "failed" and track["error"].startswith(reason), track
        assert "Error" not in track["error"] and "/" not in track["error"]
        stack.http.delete(stack.url(f"/v1/tracks/{track['id']}"))
