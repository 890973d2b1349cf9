"""Peak memory of the real API and worker processes on the files that used to cost gigabytes.

The API runs as its own process (`s2m api`) and the worker as a Celery worker process, both on
PostgreSQL + Redis. Their peaks are read from /proc (VmHWM, reset through clear_refs before the
files are sent) while they take odd-rate, many-channel and long files: the API must stay within
+150 MB of its idle size (+100 MB for a 2-hour file), the worker's processes within 1.5 GB.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import requests

from backend.core import audio
from backend.core.config import Settings
from tests.support.audio_files import long_flac, long_ogg, soundfile_bytes
from tests.support.keys import bearer, issue_key
from tests.support.stack import REPO_ROOT, WorkerProcess, settings_env, wait_until
from tests.support.synth import music_clip, speech_wav

MB = 1024 * 1024
API_GROWTH_LIMIT = 150 * MB
API_GROWTH_LIMIT_TWO_HOURS = 100 * MB
WORKER_LIMIT = int(1.5 * 1024 * MB)


def _status(pid: int, field: str) -> int:
    """A /proc/<pid>/status size field (VmRSS, VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for process {pid}")


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ApiProcess:
    """`s2m api` in a subprocess, logging to a file."""

    def __init__(self, settings: Settings, log_path: Path):
        self.headers = bearer(issue_key(settings))
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "s2m.cli", "api", "--port", str(self.port)],
                env=settings_env(settings),
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def up() -> bool:
            assert self.process.poll() is None, log_path.read_text()[-3000:]
            try:
                return requests.get(self.base_url + "/healthz", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(up, 60, 0.2, "the API process to answer")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def processes(stack_settings: Callable[..., Settings]) -> Iterator[tuple[ApiProcess, WorkerProcess, Settings]]:
    settings = stack_settings("postgres_redis")
    worker = WorkerProcess(settings, settings.data_dir / "worker-memory.log")
    worker.start()
    api = ApiProcess(settings, settings.data_dir / "api-memory.log")
    try:
        yield api, worker, settings
    finally:
        api.stop()
        worker.stop()


def _post(api: ApiProcess, path: str, data: bytes, name: str) -> requests.Response:
    return requests.post(api.base_url + path, files={"file": (name, data)}, headers=api.headers, timeout=300)


def _odd_rate_speech() -> bytes:
    speech = audio.decode_audio(speech_wav("sad"), target_rate=16_001)
    return soundfile_bytes(speech.samples, 16_001)


def test_peak_memory_of_api_and_worker_on_odd_rate_many_channel_and_long_files(processes) -> None:
    api, worker, _settings = processes
    files = {
        "odd_rate_track": soundfile_bytes(music_clip("bright", 4, 2.0), 22_051),
        "odd_rate_speech": _odd_rate_speech(),
        "many_channels": long_flac(600.0, rate=96_000, channels=8),  # the 476 kB file of the issue
        "forty_minutes": long_ogg(2400.0),
        "two_hours": long_flac(7200.0),
    }
    assert len(files["many_channels"]) < 600_000
    # Warm up (first requests import and connect), then measure from the idle size.
    assert _post(api, "/v1/tracks", soundfile_bytes(music_clip("dark", 5, 1.0), 22_050), "warm.wav").status_code == 202
    idle = _status(api.process.pid, "VmRSS")
    _reset_peak(api.process.pid)

    tracks = [_post(api, "/v1/tracks", files[name], f"{name}.bin") for name in ("odd_rate_track", "many_channels")]
    assert [r.status_code for r in tracks] == [202, 202], [r.text for r in tracks]
    speech = _post(api, "/v1/recommendations", files["odd_rate_speech"], "speech.wav")
    assert speech.status_code == 202, speech.text
    with ThreadPoolExecutor(4) as pool:  # four 40-minute files at once
        long = list(pool.map(lambda _: _post(api, "/v1/tracks", files["forty_minutes"], "long.ogg"), range(4)))
    assert [r.status_code for r in long] == [422] * 4 and long[0].json()["error"]["code"] == "audio_too_long"
    api_peak = _status(api.process.pid, "VmHWM") - idle

    _reset_peak(api.process.pid)
    two_hours = _post(api, "/v1/tracks", files["two_hours"], "two-hours.flac")
    assert two_hours.status_code == 422 and "7200.0 s" in two_hours.json()["error"]["message"]
    two_hours_peak = _status(api.process.pid, "VmHWM") - _status(api.process.pid, "VmRSS")

    def finished() -> bool:
        bodies = [
            requests.get(api.base_url + f"/v1/tracks/{r.json()['id']}", headers=api.headers, timeout=30).json()
            for r in tracks
        ]
        answer = requests.get(
            api.base_url + f"/v1/recommendations/{speech.json()['id']}", headers=api.headers, timeout=30
        ).json()
        return all(body["status"] in ("ready", "failed") for body in [*bodies, answer]) and (bodies, answer)

    bodies, answer = wait_until(finished, 300, 0.5, "the worker to finish the tracks and the request")
    assert [body["status"] for body in bodies] == ["ready", "ready"], bodies
    assert answer["status"] == "ready", answer
    assert bodies[1]["duration_seconds"] == pytest.approx(600.0)

    pool = [psutil.Process(worker.process.pid), *psutil.Process(worker.process.pid).children(recursive=True)]
    worker_peak = max(_status(process.pid, "VmHWM") for process in pool)
    print(
        f"\nAPI idle {idle / MB:.0f} MB, peak growth {api_peak / MB:.1f} MB,"
        f" 2-hour file {two_hours_peak / MB:.1f} MB; worker peak {worker_peak / MB:.0f} MB"
    )
    assert api_peak <= API_GROWTH_LIMIT
    assert two_hours_peak <= API_GROWTH_LIMIT_TWO_HOURS
    assert worker_peak <= WORKER_LIMIT
