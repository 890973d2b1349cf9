"""``s2m demo`` in a reduced mode: a tiny corpus in the corpus layout, two queries, then --serve."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys

import pytest
import requests

from tests.support.files import ROOT, write_music, write_speech

MUSIC_LABELS = ("sad", "angry", "calm", "happy")
SPEECH_LABELS = ("sad", "angry")


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory):
    """Two music clips per mood (test and valid split), one speech clip per emotion, and a manifest."""
    root = tmp_path_factory.mktemp("tiny-corpus")
    rows = []
    for seed, label in enumerate(MUSIC_LABELS):
        for split in ("test", "valid", "train"):
            path = write_music(root / "music" / split / label / f"{label}-{split}.wav", seed=seed * 10 + len(split))
            rows.append(
                {"path": path.relative_to(root).as_posix(), "modality": "music", "split": split, "label": label}
            )
    for seed, label in enumerate(SPEECH_LABELS):
        path = write_speech(root / "speech" / "test" / label / f"{label}-query.wav", seed=50 + seed)
        rows.append({"path": path.relative_to(root).as_posix(), "modality": "speech", "split": "test", "label": label})
    with (root / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle,
            fieldnames=["path", "modality", "split", "label", "valence", "arousal", "group", "source", "transcript"],
            restval="",
        )
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_demo_ingests_queries_each_emotion_serves_and_stops_cleanly(tiny_corpus, model_dir, tmp_path):
    environ = {**os.environ, "MODEL_DIR": str(model_dir), "PYTHONPATH": str(ROOT)}
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "s2m.cli",
            "demo",
            "--corpus",
            str(tiny_corpus),
            "--work-dir",
            str(tmp_path),
            "--port",
            "0",
            "--queries",
            ",".join(SPEECH_LABELS),
            "--serve",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=ROOT,
    )
    lines = []
    try:
        for line in demo.stdout:  # read until the demo says it is serving
            lines.append(line)
            if line.startswith("Serving the web page at "):
                break
        output = "".join(lines)
        served = re.search(r"Serving the web page at (\S+)/", output)
        assert served, output + demo.stderr.read() if demo.poll() is not None else output
        page = requests.get(f"{served.group(1)}/", timeout=10)
        assert page.status_code == 200 and "speech2music" in page.text
        # The link opens the page signed in: its fragment carries a key of the demo's catalogue.
        link = re.search(r"Serving the web page at (\S+)/#key=(s2m_\S+) ", output)
        assert link and link.group(1) == served.group(1), output
        key = {"Authorization": f"Bearer {link.group(2)}"}
        tracks = requests.get(f"{served.group(1)}/v1/tracks", params={"limit": 100}, headers=key, timeout=10)
        assert len(tracks.json()["items"]) == 8
        assert requests.get(f"{served.group(1)}/v1/tracks", timeout=10).status_code == 401
        # Worker metrics from the SQLite rows of the embedded default.
        metrics = requests.get(f"{served.group(1)}/metrics", timeout=10).text
        assert 's2m_task_duration_seconds_count{kind="track"} 8.0' in metrics
        assert 's2m_task_duration_seconds_count{kind="recommendation"} 2.0' in metrics
        assert 's2m_queue_depth{queue="ingest"} 0.0' in metrics
    finally:
        demo.send_signal(signal.SIGTERM)  # what `kill` sends; Ctrl-C (SIGINT) takes the same path
        rest, errors = demo.communicate(timeout=120)
    output += rest

    assert demo.returncode == 0, errors[-2000:]
    # Catalogue: the test and valid clips of every mood, not the training clips.
    assert "Demo catalogue: 8 music clips; 2 speech queries" in output
    assert "ingested 8, skipped 0 (already in the catalogue), failed 0" in output
    assert "upload: 100%" in errors and "embed: 100%" in errors
    for label in SPEECH_LABELS:
        block = output.split(f"== {label} speech ({label}-query.wav)")[1]
        assert block.splitlines()[1].startswith("speech emotion: ")
        ranked = re.findall(r"^\s+(\d+)\. (-?\d\.\d{3}) .* (\w+)/\w+-(?:test|valid)$", block, re.M)
        assert [int(rank) for rank, _, _ in ranked[:8]] == list(range(1, 9))
        assert {mood for _, _, mood in ranked[:8]} == set(MUSIC_LABELS)
        # Judged by the mood each clip was made as (the titles), not by the model's own label.
        matching = {"sad": {"sad"}, "angry": {"angry", "scary"}}[label]
        hits = sum(1 for _, _, mood in ranked[:5] if mood in matching)
        assert f"top 5: {hits} of 5 made as {'/'.join(sorted(matching))}" in block
    assert re.search(r"Hard-match precision@5 over 2 queries: \d\.\d\d", output)
    assert "Stopping the workers and the API" in output
    # The demo ran a query worker and a catalogue worker, and both are gone.
    worker_pids = [int(pid) for pid in re.findall(r"(?:query|ingest) x\d+ \(pid (\d+)\)", output)]
    assert len(worker_pids) == 2, output
    for worker_pid in worker_pids:
        with pytest.raises(ProcessLookupError):
            os.kill(worker_pid, 0)


def test_demo_refuses_unknown_emotions_missing_manifest_and_missing_model(tmp_path, model_dir):
    from click.testing import CliRunner

    from s2m.cli import main

    runner = CliRunner(env={"MODEL_DIR": str(model_dir)})
    unknown = runner.invoke(main, ["demo", "--corpus", str(tmp_path), "--queries", "sad,bored"])
    assert unknown.exit_code == 2 and "unknown speech emotion 'bored'" in unknown.output
    missing = runner.invoke(main, ["demo", "--corpus", str(tmp_path)])
    assert missing.exit_code == 2 and "no manifest.csv" in missing.output
    no_model = CliRunner(env={"MODEL_DIR": str(tmp_path / "nothing")}).invoke(main, ["demo", "--corpus", str(tmp_path)])
    assert no_model.exit_code == 1 and f"no model in {tmp_path / 'nothing'}" in no_model.output
