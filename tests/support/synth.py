"""Audio the service tests send: music of different moods (numpy) and emotional speech (espeak-ng)."""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

MUSIC_RATE = 22050
MOODS = ("bright", "dark", "noisy")
# espeak-ng prosody per speech emotion: words per minute, pitch (0-99), amplitude, gap between words (10 ms).
SPEECH_STYLES: dict[str, tuple[int, int, int, int]] = {
    "happy": (200, 80, 140, 0),
    "angry": (210, 40, 200, 0),
    "sad": (110, 25, 70, 8),
    "neutral": (160, 50, 100, 1),
    "calm": (130, 40, 80, 5),
    "fearful": (190, 85, 90, 2),
    "surprised": (180, 95, 150, 0),
    "disgust": (120, 30, 110, 4),
}
SENTENCES = {
    "happy": "What a wonderful day, I love this so much!",
    "angry": "Stop it right now, I have had enough of this!",
    "sad": "I miss them so much, nothing feels the same anymore.",
    "neutral": "The meeting is scheduled for three o'clock on Tuesday.",
    "calm": "Breathe slowly and let the evening settle around you.",
    "fearful": "Did you hear that noise? Someone is outside the door.",
    "surprised": "Oh my goodness, I never expected to see you here!",
    "disgust": "That smell is awful, how can anyone eat this.",
}


def wav_bytes(samples: np.ndarray, rate: int, fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples.astype(np.float32), rate, format=fmt)
    return buffer.getvalue()


def _notes(freqs: list[float], note_seconds: float, rate: int, decay: float, harmonics: int) -> np.ndarray:
    t = np.arange(int(note_seconds * rate)) / rate
    envelope = np.exp(-t * decay)
    out = []
    for freq in freqs:
        tone = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
        out.append(tone * envelope)
    return np.concatenate(out)


def music_clip(mood: str, variant: int, seconds: float = 3.0, rate: int = MUSIC_RATE) -> np.ndarray:
    """Synthesise a short clip: bright (major, fast, high), dark (minor, slow, low) or noisy (bursts)."""
    rng = np.random.default_rng(1000 * (MOODS.index(mood) if mood in MOODS else 9) + variant)
    if mood == "bright":
        root = 440.0 * 2 ** (variant % 7 / 12)
        steps = [0, 4, 7, 12, 7, 4]
        notes = [root * 2 ** (steps[i % len(steps)] / 12) for i in range(int(seconds / 0.15))]
        samples = _notes(notes, 0.15, rate, decay=6.0, harmonics=4)
    elif mood == "dark":
        root = 110.0 * 2 ** (variant % 5 / 12)
        steps = [0, 3, 7, 3]
        notes = [root * 2 ** (steps[i % len(steps)] / 12) for i in range(int(seconds / 0.75))]
        samples = _notes(notes, 0.75, rate, decay=0.8, harmonics=2)
    elif mood == "noisy":
        bursts = int(seconds / 0.1)
        t = np.arange(int(0.1 * rate)) / rate
        samples = np.concatenate([rng.normal(size=t.size) * np.exp(-t * (20 + 5 * variant)) for _ in range(bursts)])
    else:
        raise ValueError(f"unknown mood {mood!r}")
    samples = samples[: int(seconds * rate)]
    samples = samples + 0.01 * rng.normal(size=samples.size)
    return (0.5 * samples / np.abs(samples).max()).astype(np.float32)


def music_wav(mood: str, variant: int, seconds: float = 3.0) -> bytes:
    return wav_bytes(music_clip(mood, variant, seconds), MUSIC_RATE)


def speech_wav(emotion: str) -> bytes:
    """Render the emotion's sentence with espeak-ng in that emotion's prosody."""
    speed, pitch, amplitude, gap = SPEECH_STYLES[emotion]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
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
                "-g",
                str(gap),
                "-w",
                str(out),
                SENTENCES[emotion],
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        if not out.is_file():  # espeak-ng exits 0 on some bad options without writing anything
            raise RuntimeError(f"espeak-ng wrote no audio for {emotion!r}")
        return out.read_bytes()


def speech_recording(
    blocks: list[tuple[str, float]], pause_seconds: float = 0.8
) -> tuple[np.ndarray, int, list[float]]:
    """A long recording: for each (emotion, seconds), that emotion's sentence repeated with pauses until the
    block lasts about ``seconds``. Return the samples, their rate and the time each block starts."""
    pieces, starts, position, rate = [], [], 0, None
    for emotion, seconds in blocks:
        clip, clip_rate = sf.read(io.BytesIO(speech_wav(emotion)), dtype="float32")
        rate = rate or clip_rate
        gap = np.zeros(int(pause_seconds * rate), np.float32)
        starts.append(position / rate)
        block_frames = 0
        while block_frames < seconds * rate:
            pieces += [clip, gap]
            block_frames += clip.shape[0] + gap.shape[0]
        position += block_frames
    assert rate is not None
    return np.concatenate(pieces), rate, starts
