"""``s2m ingest`` and ``s2m recommend`` against a real API and worker process."""

from __future__ import annotations

import json
import re
import shutil

import requests
from click.testing import CliRunner

from s2m.cli import main
from tests.support.files import run_cli, write_music, write_speech


def s2m(*args: str):
    """Run an ``s2m`` command in this process (the API it talks to is still a real server)."""
    return CliRunner().invoke(main, list(args))


def create_track_posts(url: str) -> float:
    """How many POST /v1/tracks the API has answered so far (read from its /metrics)."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(
        float(value)
        for value in re.findall(
            r'^s2m_http_requests_total\{[^}]*endpoint="tracks.create_track"[^}]*\} (\S+)$', text, re.M
        )
    )


def track_count(stack) -> int:
    return len(stack.http.get(f"{stack.base_url}/v1/tracks", params={"limit": 500}, timeout=10).json()["items"])


def test_ingest_walks_folders_reports_failures_and_resumes_by_hash(stack, tmp_path):
    library = tmp_path / "library"
    write_music(library / "a" / "one.wav", seed=1)
    write_music(library / "a" / "deeper" / "two.flac", seed=2)
    write_music(library / "three.wav", seed=3)
    (library / "notes.txt").write_text("not audio, and not picked up from a folder")
    (library / "broken.wav").write_bytes(b"RIFF but not really a wave file")
    before = track_count(stack)

    keyless = run_cli("ingest", str(library), "--api", stack.base_url)
    assert keyless.returncode == 1 and "HTTP 401 unauthorized" in keyless.stderr, keyless.stderr
    # The key from the environment, as S2M_API_KEY.
    first = run_cli(
        "ingest", str(library), "--api", stack.base_url, "--workers", "3", "--wait", env={"S2M_API_KEY": stack.api_key}
    )

    assert first.returncode == 1, first.stderr
    assert "ingested 3, skipped 0 (already in the catalogue), failed 1" in first.stdout
    assert re.search(r"failed: .*broken\.wav: HTTP 4\d\d \w+", first.stderr)
    assert "upload: 100%" in first.stderr and "embed: 100%" in first.stderr
    assert track_count(stack) == before + 3
    posts = create_track_posts(stack.base_url)

    again = s2m("ingest", str(library), "--api", stack.base_url, "--api-key", stack.api_key)

    assert again.exit_code == 1
    assert "ingested 0, skipped 3 (already in the catalogue), failed 1" in again.stdout
    # Known content was skipped on this side by its hash: only the broken file was posted again.
    assert create_track_posts(stack.base_url) == posts + 1
    assert track_count(stack) == before + 3

    # The same audio under another name is skipped too; new audio is ingested.
    shutil.copy(library / "three.wav", tmp_path / "copy-of-three.wav")
    new = write_music(tmp_path / "four.wav", seed=4)
    mixed = s2m(
        "ingest",
        str(tmp_path / "copy-of-three.wav"),
        str(new),
        "--api",
        stack.base_url,
        "--api-key",
        stack.api_key,
        "--tags",
        "live, test",
        "--artist",
        "Synth",
    )
    assert mixed.exit_code == 0, mixed.output
    assert "ingested 1, skipped 1 (already in the catalogue), failed 0" in mixed.stdout
    tagged = stack.http.get(f"{stack.base_url}/v1/tracks", params={"tag": "live"}, timeout=10).json()["items"]
    assert [(t["title"], t["artist"], t["tags"]) for t in tagged] == [("four", "Synth", ["live", "test"])]


def test_ingest_bad_arguments_and_unreachable_api_fail_clearly(tmp_path):
    missing = s2m("ingest", str(tmp_path / "nowhere"), "--api", "http://127.0.0.1:9")
    assert missing.exit_code == 2 and "no such file or folder" in missing.stderr

    empty = s2m("ingest", str(tmp_path), "--api", "http://127.0.0.1:9")
    assert empty.exit_code == 2 and "no audio files found" in empty.stderr

    write_music(tmp_path / "x.wav", seed=9)
    down = s2m("ingest", str(tmp_path), "--api", "http://127.0.0.1:9")
    assert down.exit_code == 1 and "cannot reach the API at http://127.0.0.1:9" in down.stderr


def test_recommend_prints_ranked_tracks_and_honours_filters(stack, catalogue, tmp_path):
    speech = write_speech(tmp_path / "speech.wav", seed=7)

    shown = s2m("recommend", str(speech), "--api", stack.base_url, "--api-key", stack.api_key, "--limit", "3")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("speech emotion: ")
    ranked = [line for line in lines[1:] if re.match(r"^\s+\d+\. ", line)]
    assert [int(line.split(".")[0]) for line in ranked] == [1, 2, 3]

    as_json = s2m(
        "recommend", str(speech), "--api", stack.base_url, "--api-key", stack.api_key, "--limit", "4", "--json"
    )
    answer = json.loads(as_json.stdout)
    assert answer["status"] == "ready" and len(answer["results"]) == 4
    scores = [result["score"] for result in answer["results"]]
    assert scores == sorted(scores, reverse=True)

    wanted = catalogue[0]["emotion"]
    excluded = catalogue[0]["id"]
    filtered = json.loads(
        s2m(
            "recommend",
            str(speech),
            "--api",
            stack.base_url,
            "--api-key",
            stack.api_key,
            "--emotions",
            f" {wanted} ,",
            "--exclude",
            excluded,
            "--json",
        ).stdout
    )
    assert filtered["results"] and {r["emotion"] for r in filtered["results"]} == {wanted}
    assert excluded not in {r["track_id"] for r in filtered["results"]}


def test_recommend_reports_api_errors_and_bad_options(stack, tmp_path):
    speech = write_speech(tmp_path / "speech.wav", seed=8)
    keyless = s2m("recommend", str(speech), "--api", stack.base_url)
    assert keyless.exit_code == 1 and "HTTP 401 unauthorized" in keyless.stderr
    wrong = s2m("recommend", str(speech), "--api", stack.base_url, "--api-key", "s2m_not-a-key")
    assert wrong.exit_code == 1 and "unknown or revoked" in wrong.stderr
    key = ("--api-key", stack.api_key)
    unknown = s2m("recommend", str(speech), "--api", stack.base_url, *key, "--emotions", "melancholic")
    assert unknown.exit_code == 1
    assert "HTTP 422" in unknown.stderr and "melancholic" in unknown.stderr

    text = tmp_path / "speech.txt"
    text.write_text("hello")
    not_audio = s2m("recommend", str(text), "--api", stack.base_url, *key)
    assert not_audio.exit_code == 1 and re.search(r"HTTP 4\d\d \w+", not_audio.stderr)

    out_of_range = s2m("recommend", str(speech), "--api", stack.base_url, *key, "--valence-min", "1.5")
    assert out_of_range.exit_code == 2 and "--valence-min" in out_of_range.stderr
