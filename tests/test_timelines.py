"""Emotion timelines end to end: a long generated recording whose emotion changes at known times, sent
over HTTP to the API, made by a real worker process in chunks, with tracks chosen for each scene.

The bundled (trained) model is used here, since the boundaries must come from what the model hears.
The blocks are two generated voices it hears as different emotions (checked first, on one piece of
each block, by the model itself); the scenes must carry those emotions and start where the blocks
do. The recording is cut into short chunks so that several tasks make one timeline.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from backend.core.config import DEFAULT_MODEL_DIR, Settings
from backend.core.domain.timeline import MAX_TRACKS_PER_SCENE
from tests.conftest import running_stack
from tests.support.files import write_music
from tests.support.stack import REPO_ROOT, Stack, settings_env, wait_until
from tests.support.synth import speech_recording, speech_wav

# Emotion blocks of the recording (the sentence and prosody of these emotions, tests/support/synth.py).
BLOCKS = [("angry", 30.0), ("sad", 30.0), ("angry", 25.0), ("sad", 30.0)]
CHUNK_SECONDS = 20.0
BOUNDARY_TOLERANCE = 2.0
# Catalogue: short tracks (6 s) and long ones (40 s, longer than any scene).
SHORT, LONG = 6, 3


@pytest.fixture(scope="module")
def timeline_stack(
    stack_settings: Callable[..., Settings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    settings = stack_settings("postgres_redis", model_dir=DEFAULT_MODEL_DIR, timeline_chunk_seconds=CHUNK_SECONDS)
    with running_stack("timelines", settings, settings.data_dir) as running:
        folder = tmp_path_factory.mktemp("timeline-catalogue")
        ids = {}
        for seed in range(SHORT + LONG):
            seconds = 40.0 if seed >= SHORT else 6.0
            path = write_music(folder / f"piece{seed}.wav", seed=300 + seed, seconds=seconds)
            response = running.http.post(
                running.url("/v1/tracks"),
                files={"file": (path.name, path.read_bytes(), "audio/wav")},
                data={"title": f"piece {seed}", "artist": f"artist {seed % 3}"},
            )
            assert response.status_code == 202, response.text
            ids[response.json()["id"]] = seconds
        for track_id in ids:
            assert running.wait_track(track_id, timeout=300)["status"] == "ready"
        running.track_seconds = ids  # type: ignore[attr-defined]
        yield running


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    samples, rate, starts = speech_recording(BLOCKS)
    path = tmp_path_factory.mktemp("recording") / "episode.flac"
    sf.write(path, samples, rate)
    return path, starts


def _post(stack: Stack, path: Path, **fields: str) -> dict:
    response = stack.http.post(
        stack.url("/v1/timelines"), files={"file": (path.name, path.read_bytes(), "audio/flac")}, data=fields
    )
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/v1/timelines/{response.json()['id']}"
    return response.json()


def _wait(stack: Stack, timeline_id: str, timeout: float = 300) -> dict:
    def probe() -> dict | None:
        body = stack.http.get(stack.url(f"/v1/timelines/{timeline_id}"), params={"wait": 5}).json()
        return body if body["status"] in ("ready", "failed") else None

    return wait_until(probe, timeout, 0.1, f"timeline {timeline_id}")


@pytest.fixture(scope="module")
def made(timeline_stack: Stack, recording: tuple[Path, list[float]]) -> dict:
    path, _starts = recording
    created = _post(timeline_stack, path, tracks_per_scene="1", min_scene_seconds="8")
    assert created["status"] == "queued" and created["progress"] == 0.0
    seen = []

    def probe() -> dict | None:
        body = timeline_stack.http.get(timeline_stack.url(f"/v1/timelines/{created['id']}")).json()
        seen.append(body["progress"])
        return body if body["status"] in ("ready", "failed") else None

    answer = wait_until(probe, 300, 0.05, "the timeline")
    answer["progress_seen"] = seen
    return answer


@pytest.fixture(scope="module")
def heard() -> dict[str, str]:
    """The bundled model's label for an 8 s piece of each block's voice, heard directly (no service)."""
    from ml.embedding.bundle import load_model

    model = load_model(DEFAULT_MODEL_DIR)
    labels = {}
    for emotion in {emotion for emotion, _ in BLOCKS}:
        samples, rate, _ = speech_recording([(emotion, 8.0)])
        labels[emotion] = model.embed_speech(samples[: int(8 * rate)], rate).label
    assert len(set(labels.values())) == 2, labels  # the blocks must sound different to the model
    return labels


def test_scene_boundaries_fall_within_two_seconds_of_the_emotion_changes(
    made: dict, recording: tuple[Path, list[float]], heard: dict[str, str]
) -> None:
    _path, starts = recording
    assert made["status"] == "ready", made["error"]
    assert made["progress"] == 100.0
    assert [scene["emotion"] for scene in made["scenes"]] == [heard[emotion] for emotion, _ in BLOCKS]
    for scene, truth in zip(made["scenes"], starts, strict=True):
        assert abs(scene["start"] - truth) <= BOUNDARY_TOLERANCE, (scene["start"], truth)
    assert made["scenes"][-1]["end"] <= made["duration_seconds"] + 0.1


def test_segments_cover_the_speech_in_order_with_their_analysis(made: dict) -> None:
    segments = made["segments"]
    assert len(segments) >= 20
    assert all(a["end"] <= b["start"] + 1e-6 for a, b in itertools.pairwise(segments))
    for segment in segments:
        assert 0 < segment["end"] - segment["start"] <= 8.0 + 1e-6
        assert segment["emotion"] == max(segment["probabilities"], key=segment["probabilities"].get)
        assert abs(sum(segment["probabilities"].values()) - 1) < 1e-3
        assert 0 <= segment["valence"] <= 1 and 0 <= segment["arousal"] <= 1
        assert "vector" not in segment


def test_progress_is_visible_while_the_chunks_are_made(made: dict) -> None:
    assert made["duration_seconds"] > 5 * CHUNK_SECONDS
    assert any(0 < progress < 100 for progress in made["progress_seen"]), made["progress_seen"]
    assert made["progress_seen"] == sorted(made["progress_seen"])


def test_each_scene_gets_a_track_no_other_scene_got_while_there_are_enough(made: dict) -> None:
    chosen = [scene["tracks"] for scene in made["scenes"]]
    assert all(len(tracks) == 1 for tracks in chosen)
    ids = [tracks[0]["track_id"] for tracks in chosen]
    assert len(set(ids)) == len(ids)
    for scene in made["scenes"]:
        why = scene["tracks"][0]["why"]
        assert why["query_emotion"] == scene["emotion"]
        assert why["valence_arousal_distance"] is not None


def test_cover_scene_prefers_tracks_at_least_as_long_as_the_scene(
    timeline_stack: Stack, recording: tuple[Path, list[float]]
) -> None:
    path, _starts = recording
    created = _post(timeline_stack, path, tracks_per_scene="2", cover_scene="true", min_scene_seconds="8")
    answer = _wait(timeline_stack, created["id"])
    assert answer["status"] == "ready", answer["error"]
    seconds = timeline_stack.track_seconds  # type: ignore[attr-defined]
    for scene in answer["scenes"]:
        assert len(scene["tracks"]) == 2
        # Three long tracks for four scenes of two: every scene gets long ones first, repeats before short.
        assert all(seconds[track["track_id"]] >= scene["end"] - scene["start"] for track in scene["tracks"])
    first = {t["track_id"] for t in answer["scenes"][0]["tracks"]}
    second = {t["track_id"] for t in answer["scenes"][1]["tracks"]}
    assert len(first | second) == LONG  # the second scene takes the long track the first did not


def test_filters_apply_to_every_scene(timeline_stack: Stack, recording: tuple[Path, list[float]]) -> None:
    path, _starts = recording
    seconds = timeline_stack.track_seconds  # type: ignore[attr-defined]
    excluded = sorted(seconds)[:4]
    created = _post(timeline_stack, path, tracks_per_scene=str(MAX_TRACKS_PER_SCENE), exclude=",".join(excluded))
    answer = _wait(timeline_stack, created["id"])
    assert answer["status"] == "ready", answer["error"]
    for scene in answer["scenes"]:
        got = {track["track_id"] for track in scene["tracks"]}
        assert got == set(seconds) - set(excluded)
        assert all(track["why"]["filters"] == ["exclude"] for track in scene["tracks"])


def test_a_short_query_is_answered_while_a_long_timeline_is_being_made(
    timeline_stack: Stack, recording: tuple[Path, list[float]], tmp_path: Path
) -> None:
    path, _starts = recording
    samples, rate = sf.read(path, dtype="float32")
    long_path = tmp_path / "long.flac"
    sf.write(long_path, np.concatenate([samples] * 3), rate)  # about 6 minutes: 19 chunks
    timeline = _post(timeline_stack, long_path)
    wait_until(
        lambda: timeline_stack.http.get(timeline_stack.url(f"/v1/timelines/{timeline['id']}")).json()["progress"] > 0,
        120,
        0.1,
        "the first chunk",
    )
    response = timeline_stack.http.post(
        timeline_stack.url("/v1/recommendations"), files={"file": ("q.wav", speech_wav("happy"), "audio/wav")}
    )
    answer = timeline_stack.http.get(
        timeline_stack.url(f"/v1/recommendations/{response.json()['id']}"), params={"wait": 30}
    ).json()
    assert answer["status"] == "ready"
    still = timeline_stack.http.get(timeline_stack.url(f"/v1/timelines/{timeline['id']}")).json()
    assert still["status"] == "processing" and still["progress"] < 100, still["progress"]
    assert _wait(timeline_stack, timeline["id"])["status"] == "ready"


def test_refusals_are_clear_errors(timeline_stack: Stack, tmp_path: Path) -> None:
    noise = tmp_path / "notes.txt"
    noise.write_text("not audio at all")
    response = timeline_stack.http.post(
        timeline_stack.url("/v1/timelines"), files={"file": ("notes.txt", noise.read_bytes())}
    )
    assert response.status_code == 415 and response.json()["error"]["code"] == "not_audio"
    clip = tmp_path / "clip.wav"
    clip.write_bytes(speech_wav("calm"))
    response = timeline_stack.http.post(
        timeline_stack.url("/v1/timelines"),
        files={"file": ("clip.wav", clip.read_bytes())},
        data={"segment_seconds": "0.5"},
    )
    assert response.status_code == 422 and "segment_seconds" in response.json()["error"]["message"]
    missing = timeline_stack.http.get(timeline_stack.url("/v1/timelines/00000000-0000-0000-0000-000000000000"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_cli_prints_the_scenes_and_their_tracks(
    timeline_stack: Stack, recording: tuple[Path, list[float]], heard: dict[str, str]
) -> None:
    path, _starts = recording
    result = subprocess.run(
        [sys.executable, "-m", "s2m.cli", "timeline", str(path), "--api", timeline_stack.base_url],
        env={**settings_env(timeline_stack.settings), "S2M_API_KEY": timeline_stack.api_key},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "4 scenes" in lines[0]
    assert [line.split()[1] for line in lines[1:] if line[:1].isdigit()] == [heard[emotion] for emotion, _ in BLOCKS]
    as_json = subprocess.run(
        [
            sys.executable,
            "-m",
            "s2m.cli",
            "timeline",
            str(path),
            "--api",
            timeline_stack.base_url,
            "--api-key",
            timeline_stack.api_key,
            "--json",
        ],
        env=settings_env(timeline_stack.settings),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert as_json.returncode == 0, as_json.stderr
    assert [scene["emotion"] for scene in json.loads(as_json.stdout)["scenes"]] == [heard[e] for e, _ in BLOCKS]


@pytest.mark.browser
def test_the_web_page_shows_the_timeline_strip_and_each_scenes_tracks(
    timeline_stack: Stack, recording: tuple[Path, list[float]], heard: dict[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.api.test_web import CHROMIUM, CHROMIUM_ARGS
    from tests.support.files import ROOT

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")
    path, starts = recording
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.goto(f"{timeline_stack.base_url}/#key={timeline_stack.api_key}")
        page.wait_for_selector("body[data-ready=true]")
        page.click("button[data-view=timeline-view]")
        page.fill("#timeline-tracks", "2")
        page.set_input_files("#timeline-file", str(path))
        page.locator("#timeline-scenes .scene-row").first.wait_for(timeout=240_000)
        blocks = page.locator("#timeline-strip .scene-block")
        expect(blocks).to_have_count(len(BLOCKS))
        assert [blocks.nth(i).get_attribute("data-emotion") for i in range(len(BLOCKS))] == [
            heard[e] for e, _ in BLOCKS
        ]
        # Each block starts where its scene starts, as a share of the strip's width.
        strip = page.locator("#timeline-strip").bounding_box()
        assert strip is not None
        duration = sf.info(str(path)).duration
        for i, truth in enumerate(starts):
            box = blocks.nth(i).bounding_box()
            assert box is not None
            seconds = (box["x"] - strip["x"]) / strip["width"] * duration
            assert abs(seconds - truth) <= BOUNDARY_TOLERANCE + duration / strip["width"], (i, seconds, truth)
        rows = page.locator("#timeline-scenes .scene-row")
        expect(rows).to_have_count(len(BLOCKS))
        for i in range(len(BLOCKS)):
            expect(rows.nth(i).locator(".scene-track")).to_have_count(2)
            expect(rows.nth(i).locator(".scene-track audio")).to_have_count(2)
        expect(page.locator("#timeline-status")).to_contain_text("4 scenes")
        screenshot = tmp_path / "timeline.png"
        page.screenshot(path=str(screenshot), full_page=True)
        stable = ROOT / "var" / "screenshots" / "timeline.png"
        stable.parent.mkdir(parents=True, exist_ok=True)
        stable.write_bytes(screenshot.read_bytes())
        print(f"screenshot: {stable}")
        browser.close()
    assert errors == [], errors
