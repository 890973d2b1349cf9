"""Render one spoken utterance: engine, then sox prosody/room/microphone, then pauses, breath, noise, level."""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from corpus import effects
from corpus.prosody import Prosody
from corpus.speech import SpeechEngine, Voice

SPEECH_RATE = 16_000


@dataclass(frozen=True)
class Utterance:
    """Everything needed to render one speech clip."""

    engine: SpeechEngine
    voice: Voice
    text: str
    prosody: Prosody
    acoustics: effects.Acoustics
    seed: int


def render_utterance(utterance: Utterance, work_dir: Path) -> np.ndarray:
    """Speak and post-process one utterance; return 16 kHz mono float32 samples."""
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        raw, processed = Path(tmp) / "raw.wav", Path(tmp) / "processed.wav"
        spoken = utterance.engine.speak(utterance.voice, utterance.text, utterance.prosody, raw)
        # Trim the engine's silent margins so the final rise or fall lands on the last words.
        voice, rate = sf.read(raw, dtype="float32", always_2d=True)
        voice = effects.trim_silence(voice.mean(axis=1), rate)
        sf.write(raw, voice, rate, subtype="FLOAT")
        duration = len(voice) / rate
        chain = effects.sox_effects(
            utterance.prosody,
            utterance.acoustics,
            duration,
            pitch_done=spoken.pitch_done,
            rate_done=spoken.rate_done,
            rng=random.Random(utterance.seed),
        )
        effects.run_sox(raw, processed, chain)
        samples, _ = sf.read(processed, dtype="float32")
    rng = np.random.default_rng(utterance.seed)
    samples = effects.stretch_pauses(samples, SPEECH_RATE, utterance.prosody.pause_stretch)
    samples = effects.add_breath(samples, SPEECH_RATE, utterance.prosody.breathiness, rng)
    lead, tail = (int(rng.uniform(0.05, 0.5) * SPEECH_RATE) for _ in range(2))
    samples = np.concatenate([np.zeros(lead, np.float32), samples, np.zeros(tail, np.float32)])
    speech_level = np.sqrt(np.mean(samples**2)) + 1e-12
    # The room's noise does not follow the speaker: a raised voice stands further above it.
    snr_db = utterance.acoustics.snr_db + utterance.prosody.loudness_db
    samples = effects.add_noise(samples / speech_level, SPEECH_RATE, utterance.acoustics.noise_kind, snr_db, rng)
    level = effects.REFERENCE_DBFS + utterance.prosody.loudness_db + rng.uniform(-3, 3)
    return effects.set_level(samples, level)
