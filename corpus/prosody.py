"""Emotion prosody rules: per-label distributions of pitch, range, rate, loudness and voice quality.

Each utterance draws its own parameters from its label's distributions, which overlap between
labels as real emotional speech does (a lively neutral voice can sound like a calm happy one).
Pure: no I/O, randomness comes in as a ``random.Random``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Prosody:
    """How one utterance is spoken; every field is relative to the voice's own default."""

    pitch_semitones: float  # shift of the mean pitch
    pitch_range: float  # multiplier of the intonation range (1 = the voice's default)
    rate: float  # speaking-rate multiplier (>1 faster)
    loudness_db: float  # level relative to the corpus reference loudness
    final_bend_cents: float  # pitch movement over the last syllables (+ rising, - falling)
    tension: float  # 0..1 harsh, pressed voice (overdrive, presence boost)
    breathiness: float  # 0..1 aspiration noise riding on the speech envelope
    tremor: float  # 0..1 amplitude tremolo (shaky voice)
    darkness: float  # 0..1 muffled timbre (low-pass)
    pause_stretch: float  # multiplier of the pauses between words


@dataclass(frozen=True)
class _Rule:
    pitch: tuple[float, float]  # mean, sd in semitones
    pitch_range: tuple[float, float]
    rate: tuple[float, float]
    loudness: tuple[float, float]
    final_bend: tuple[float, float]
    tension: float  # mean of a 0..1 quantity (drawn with sd 0.15)
    breathiness: float
    tremor: float
    darkness: float
    pause: tuple[float, float]


RULES: dict[str, _Rule] = {
    "neutral": _Rule((0.0, 1.5), (1.0, 0.15), (1.0, 0.07), (0.0, 2.0), (-60, 60), 0.05, 0.05, 0.0, 0.1, (1.0, 0.1)),
    "calm": _Rule((-1.0, 1.5), (0.7, 0.15), (0.86, 0.07), (-4.0, 2.0), (-80, 50), 0.0, 0.2, 0.0, 0.25, (1.3, 0.2)),
    "sad": _Rule((-2.5, 1.5), (0.5, 0.15), (0.76, 0.08), (-7.0, 2.5), (-150, 70), 0.0, 0.4, 0.1, 0.5, (1.6, 0.3)),
    "happy": _Rule((3.0, 1.5), (1.5, 0.25), (1.12, 0.08), (3.0, 2.0), (60, 120), 0.1, 0.05, 0.0, 0.0, (0.9, 0.1)),
    "angry": _Rule((2.0, 2.0), (1.4, 0.25), (1.15, 0.1), (7.0, 2.0), (-150, 80), 0.75, 0.0, 0.0, 0.0, (0.85, 0.1)),
    "fearful": _Rule((4.0, 1.5), (0.8, 0.3), (1.2, 0.1), (-2.0, 3.0), (40, 100), 0.1, 0.5, 0.7, 0.1, (1.35, 0.25)),
    "surprised": _Rule((4.5, 1.5), (1.9, 0.3), (1.05, 0.1), (4.0, 2.0), (350, 120), 0.15, 0.1, 0.0, 0.0, (1.0, 0.15)),
    "disgust": _Rule((-1.5, 1.5), (1.1, 0.2), (0.82, 0.08), (1.0, 2.0), (-200, 80), 0.45, 0.15, 0.0, 0.2, (1.3, 0.2)),
}


def draw_prosody(label: str, rng: random.Random) -> Prosody:
    """Draw one utterance's prosody for an emotion label."""
    try:
        rule = RULES[label]
    except KeyError:
        raise ValueError(f"no prosody rule for label {label!r}; known: {', '.join(RULES)}") from None
    return Prosody(
        pitch_semitones=_clip(rng.gauss(*rule.pitch), -7.0, 9.0),
        pitch_range=_clip(rng.gauss(*rule.pitch_range), 0.2, 3.0),
        rate=_clip(rng.gauss(*rule.rate), 0.55, 1.6),
        loudness_db=_clip(rng.gauss(*rule.loudness), -14.0, 12.0),
        final_bend_cents=_clip(rng.gauss(*rule.final_bend), -500.0, 700.0),
        tension=_unit(rng.gauss(rule.tension, 0.15)),
        breathiness=_unit(rng.gauss(rule.breathiness, 0.15)),
        tremor=_unit(rng.gauss(rule.tremor, 0.15)),
        darkness=_unit(rng.gauss(rule.darkness, 0.15)),
        pause_stretch=_clip(rng.gauss(*rule.pause), 0.7, 2.5),
    )


def _unit(value: float) -> float:
    return _clip(value, 0.0, 1.0)


def _clip(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))
