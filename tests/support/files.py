"""Audio files on disk and the `s2m` command, for the CLI, demo and web tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
MUSIC_RATE, SPEECH_RATE = 22050, 16000


def write_music(path: Path, seed: int, seconds: float = 6.0) -> Path:
    """Write a little synthetic piece: a few notes with a beat, different for every seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * MUSIC_RATE)) / MUSIC_RATE
    beat = rng.uniform(1.0, 4.0)
    notes = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(110, 880, 3))
    wave = 0.15 * notes * (0.5 + 0.5 * np.abs(np.sin(np.pi * beat * t))) + 0.01 * rng.standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave.astype(np.float32), MUSIC_RATE)
    return path


def write_speech(path: Path, seed: int, seconds: float = 2.5) -> Path:
    """Write a speech-like clip: a gliding voiced pitch with harmonics, chopped into syllables."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SPEECH_RATE)) / SPEECH_RATE
    pitch = rng.uniform(100, 220) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(1, 3) * t))
    phase = 2 * np.pi * np.cumsum(pitch) / SPEECH_RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
    syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t), 0, None)
    wave = 0.3 * voiced * syllables + 0.005 * rng.standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave.astype(np.float32), SPEECH_RATE)
    return path


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``s2m ARGS`` as a subprocess of this interpreter, the repository on its path."""
    environ = {**os.environ, **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "s2m.cli", *args], capture_output=True, text=True, env=environ, timeout=timeout, cwd=ROOT
    )
