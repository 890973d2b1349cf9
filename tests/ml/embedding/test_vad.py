"""Voice activity detection: the Silero weights load from the package with no network, speech is found
where it is, and the batched streams agree with the package's own one-window-at-a-time loop."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import soundfile as sf
import torch

from backend.core.audio import resample
from ml.embedding.vad import SAMPLE_RATE, VoiceActivityDetector
from tests.support.stack import REPO_ROOT
from tests.support.synth import speech_wav

NO_NETWORK = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network access in a test that must not need it")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from ml.embedding.vad import VoiceActivityDetector
import numpy as np
print(len(VoiceActivityDetector().speech_regions(np.zeros(16000, np.float32))))
"""


def _speech(seconds_before: float, seconds_after: float) -> tuple[np.ndarray, float, float]:
    clip, rate = sf.read(io.BytesIO(speech_wav("neutral")), dtype="float32")
    clip = resample(clip, rate, SAMPLE_RATE)
    before, after = np.zeros(round(seconds_before * SAMPLE_RATE)), np.zeros(round(seconds_after * SAMPLE_RATE))
    return np.concatenate([before, clip, after]).astype(np.float32), seconds_before, seconds_before + clip.size / 16000


def test_the_weights_load_from_the_package_with_the_network_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-c", NO_NETWORK], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_speech_is_found_where_it_is_and_silence_is_not_speech() -> None:
    samples, start, end = _speech(14.0, 9.0)
    regions = VoiceActivityDetector().speech_regions(samples)
    assert regions, "no speech found"
    assert abs(regions[0][0] - start) < 0.3 and abs(regions[-1][1] - end) < 0.3, (regions, start, end)
    assert VoiceActivityDetector().speech_regions(np.zeros(30 * SAMPLE_RATE, np.float32)) == []


def test_batched_streams_agree_with_the_package_loop() -> None:
    from silero_vad import get_speech_timestamps

    samples, _start, _end = _speech(3.0, 2.0)
    detector = VoiceActivityDetector()
    ours = detector.speech_regions(samples)
    theirs = get_speech_timestamps(
        torch.from_numpy(samples), detector.model, min_silence_duration_ms=300, sampling_rate=SAMPLE_RATE
    )
    assert len(ours) == len(theirs)
    for (start, end), stamp in zip(ours, theirs, strict=True):
        assert abs(start - stamp["start"] / SAMPLE_RATE) < 0.1 and abs(end - stamp["end"] / SAMPLE_RATE) < 0.1
