"""Timelines end to end: a long 44.1 kHz stereo MP3 podcast through the real service, and the worker's
peak memory against the recording's length.

For each length (minutes, default 10, 30 and 60, for the memory curve) a recording is made:
espeak-ng speech in blocks of changing emotion with pauses and a faint noise floor, stereo at
44.1 kHz, encoded as 128 kb/s MP3 with PyAV. A fresh service per length runs as `s2m serve` runs
it (the API in this process, a query worker of one process that makes the timelines, embedded
default, the bundled model); the time is from the upload to the ready timeline (decoding, voice
activity detection, embedding, scenes, tracks; after a warm-up timeline has loaded the model),
and the worker's resident memory is sampled throughout. The same-run baseline is decoding alone
(the same MP3 to 16 kHz mono with the service's decoder, in this process), so
``x_real_time / decode_x_real_time`` says how much of the budget the analysis leaves to decoding.

    PYTHONPATH=$PWD python benchmarks/timeline_speed.py [--minutes 10 30 60] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import av
import numpy as np
import psutil
import requests
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.core.audio import resample, stream_audio
from backend.core.config import DEFAULT_MODEL_DIR, Settings
from backend.core.services import keys as key_service
from backend.core.storage.db import Database
from s2m.local_stack import LocalStack, WorkerSpec

# Target of issue 18: a 60-minute podcast in at most 60 s on this 2-core machine.
TARGET_X_REAL_TIME = 60.0
RATE = 44_100
BLOCKS = (("happy", 200, 80, 140), ("calm", 130, 40, 80), ("angry", 210, 40, 200), ("sad", 110, 25, 70))
SENTENCES = {
    "happy": "What a wonderful day, I love this so much! We finally made it to the top.",
    "calm": "Breathe slowly and let the evening settle around you, there is no hurry at all.",
    "angry": "Stop it right now, I have had enough of this! Nobody listens to a word I say.",
    "sad": "I miss them so much, nothing feels the same anymore since they went away.",
}
BLOCK_SECONDS = 75.0


def _espeak(text: str, speed: int, pitch: int, amplitude: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                "en-us",
                "-s",
                str(speed),
                "-p",
                str(pitch),
                "-a",
                str(amplitude),
                "-w",
                str(out),
                text,
            ],
            check=True,
            capture_output=True,
        )
        samples, rate = sf.read(out, dtype="float32")
    return resample(samples, rate, RATE)


def base_recording() -> np.ndarray:
    """Five minutes of speech in four emotion blocks (mono, 44.1 kHz), to be tiled."""
    rng = np.random.default_rng(0)
    parts = []
    for emotion, speed, pitch, amplitude in BLOCKS:
        clip = _espeak(SENTENCES[emotion], speed, pitch, amplitude)
        block = 0
        while block < BLOCK_SECONDS * RATE:
            pause = np.zeros(int(rng.uniform(0.4, 1.5) * RATE), np.float32)
            parts += [clip, pause]
            block += clip.size + pause.size
    signal = np.concatenate(parts)
    return (signal + 0.003 * rng.standard_normal(signal.size)).astype(np.float32)


def write_mp3(path: Path, base: np.ndarray, minutes: float) -> None:
    """Tile ``base`` to ``minutes`` and encode it as 44.1 kHz stereo 128 kb/s MP3, block by block."""
    total = int(minutes * 60 * RATE)
    with av.open(str(path), "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=RATE)
        stream.layout = "stereo"
        stream.bit_rate = 128_000
        frame_size = stream.codec_context.frame_size or 1152
        position = 0
        while position < total:
            take = min(frame_size, total - position)
            index = np.arange(position, position + take) % base.size
            mono = base[index]
            planes = np.ascontiguousarray(np.stack([mono, 0.9 * mono]))
            frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout="stereo")
            frame.rate, frame.pts = RATE, position
            container.mux(stream.encode(frame))
            position += take
        container.mux(stream.encode(None))


def decode_seconds(path: Path) -> float:
    """Wall seconds the service's decoder takes to stream the file to 16 kHz mono."""
    started = time.perf_counter()
    for _block in stream_audio(path, target_rate=16_000):
        pass
    return time.perf_counter() - started


class PeakMemory:
    """Sample a process's resident memory (with its children) every 50 ms."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        try:
            return sum(p.memory_info().rss for p in [self.process, *self.process.children(recursive=True)])
        except psutil.Error:
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bench_key(settings: Settings) -> str:
    """A key for the benchmark's own catalogue (the service refuses /v1 requests without one)."""
    db = Database.from_settings(settings)
    try:
        catalogue = key_service.ensure_catalogue(db, "bench")
        return key_service.create_key(db, catalogue.id, ["read", "query", "ingest"], None, "bench").key
    finally:
        db.dispose()


def keyed_session(key: str) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"
    return http


def run_timeline(stack: LocalStack, key: str, path: Path) -> dict:
    http = keyed_session(key)
    pid = stack.workers[0].pid  # the query worker, which makes timelines
    assert pid is not None
    idle = PeakMemory(pid)._rss()
    with PeakMemory(pid) as memory:
        started = time.perf_counter()
        with path.open("rb") as handle:
            response = http.post(f"{stack.url}/v1/timelines", files={"file": (path.name, handle)}, timeout=600)
        response.raise_for_status()
        timeline_id = response.json()["id"]
        while True:
            answer = http.get(f"{stack.url}/v1/timelines/{timeline_id}", params={"wait": 5}, timeout=60).json()
            if answer["status"] in ("ready", "failed"):
                break
            stack.check_workers()
        elapsed = time.perf_counter() - started
    if answer["status"] != "ready":
        raise SystemExit(f"the timeline failed: {answer['error']}")
    return {
        "seconds": round(elapsed, 2),
        "x_real_time": round(answer["duration_seconds"] / elapsed, 1),
        "worker_idle_rss_mb": round(idle / 2**20, 1),
        "worker_peak_rss_mb": round(memory.peak / 2**20, 1),
        "segments": len(answer["segments"]),
        "scenes": len(answer["scenes"]),
        "answer": answer,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 30.0, 60.0])
    parser.add_argument("--json-out", type=Path, default=None, help="also write the JSON (and one timeline) here")
    args = parser.parse_args()
    base = base_recording()
    runs: list[dict] = []
    example = None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for minutes in sorted(args.minutes):
            path = root / f"podcast-{minutes:g}min.mp3"
            write_mp3(path, base, minutes)
            decode = decode_seconds(path)
            # A fresh service per length, so each peak is that recording's own.
            settings = Settings.from_env(
                {}, data_dir=root / f"data-{minutes:g}", model_dir=DEFAULT_MODEL_DIR, device="cpu"
            )
            workers = [WorkerSpec("query", ("query", "timeline"), 1), WorkerSpec("ingest", ("ingest",), 1)]
            with LocalStack(settings, workers=workers) as stack:
                key = bench_key(settings)
                # One track so every scene gets a result (its choice is not what is measured here).
                track = root / "track.wav"
                sf.write(track, base[: 30 * RATE], RATE)
                with track.open("rb") as handle:
                    keyed_session(key).post(f"{stack.url}/v1/tracks", files={"file": ("track.wav", handle)}, timeout=60)
                # Warm-up: the worker loads the model and the voice activity detector on its first timeline.
                warm = root / "warm-up.mp3"
                write_mp3(warm, base, 0.5)
                run_timeline(stack, key, warm)
                result = run_timeline(stack, key, path)
            answer = result.pop("answer")
            if minutes == max(args.minutes):
                example = {**answer, "segments": answer["segments"][:6], "scenes": answer["scenes"][:4]}
            runs.append(
                {
                    "minutes": minutes,
                    "file_mb": round(path.stat().st_size / 2**20, 1),
                    "decode_seconds": round(decode, 2),
                    "decode_x_real_time": round(minutes * 60 / decode, 1),
                    **result,
                }
            )
            print(json.dumps(runs[-1]), file=sys.stderr)
            path.unlink()
    longest = max(runs, key=lambda run: run["minutes"])
    shortest = min(runs, key=lambda run: run["minutes"])
    report = {
        "benchmark": "timeline_speed",
        "machine": {"cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0], "python": platform.python_version()},
        "format": "MP3, 44.1 kHz stereo, 128 kb/s",
        "chunk_seconds": Settings.from_env({}).timeline_chunk_seconds,
        "runs": runs,
        "peak_rss_ratio_longest_over_shortest": round(
            longest["worker_peak_rss_mb"] / shortest["worker_peak_rss_mb"], 3
        ),
        "target_x_real_time": TARGET_X_REAL_TIME,
        "target_met": longest["x_real_time"] >= TARGET_X_REAL_TIME,
        "example_timeline": example,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")


if __name__ == "__main__":
    main()
