"""Voice activity detection with Silero VAD, whose weights ship inside its PyPI package (no download).

The package's own loop calls the network once per 32 ms window, about 2 s of CPU per minute of
audio. The network keeps a separate state per batch row, so here a chunk is cut into consecutive
streams of :data:`STREAM_WINDOWS` windows that run side by side as one batch (about ten times
faster); each stream starts from a fresh state, as the package's loop does at the start of a file.
The probabilities then go through the package's own ``get_speech_timestamps_from_probs``.
"""

from __future__ import annotations

import numpy as np
import torch

SAMPLE_RATE = 16_000
WINDOW = 512  # samples per decision at 16 kHz (32 ms)
# Windows per stream (about 10 s): long enough for the network's state to settle.
STREAM_WINDOWS = 320
# Speech shorter than this is ignored, silences shorter than this do not split speech.
MIN_SPEECH_MS = 250
MIN_SILENCE_MS = 300
SPEECH_PAD_MS = 30


class VoiceActivityDetector:
    """Find the speech in 16 kHz mono audio."""

    def __init__(self, threshold: float = 0.5):
        from silero_vad import load_silero_vad  # the TorchScript file inside the package

        self.model = load_silero_vad()
        self.threshold = threshold

    def speech_probabilities(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability of each 512-sample window of ``samples`` (float32 (frames,) at 16 kHz)."""
        windows = -(-samples.shape[0] // WINDOW)
        if windows == 0:
            return np.zeros(0, np.float32)
        streams = -(-windows // STREAM_WINDOWS)
        padded = np.zeros(streams * STREAM_WINDOWS * WINDOW, np.float32)
        padded[: samples.shape[0]] = samples
        batch = torch.from_numpy(padded).view(streams, STREAM_WINDOWS, WINDOW)  # (streams, steps, window)
        self.model.reset_states()
        with torch.inference_mode():
            probs = torch.cat([self.model(batch[:, step], SAMPLE_RATE) for step in range(STREAM_WINDOWS)], dim=1)
        return probs.reshape(-1)[:windows].numpy()  # (streams, steps) read stream by stream

    def speech_regions(self, samples: np.ndarray) -> list[tuple[float, float]]:
        """(start, end) seconds of each stretch of speech in ``samples``."""
        from silero_vad import get_speech_timestamps_from_probs

        probs = self.speech_probabilities(samples)
        if probs.size == 0:
            return []
        stamps = get_speech_timestamps_from_probs(
            [float(p) for p in probs],
            sampling_rate=SAMPLE_RATE,
            threshold=self.threshold,
            min_speech_duration_ms=MIN_SPEECH_MS,
            min_silence_duration_ms=MIN_SILENCE_MS,
            speech_pad_ms=SPEECH_PAD_MS,
            audio_length_samples=samples.shape[0],
        )
        return [(stamp["start"] / SAMPLE_RATE, stamp["end"] / SAMPLE_RATE) for stamp in stamps]
