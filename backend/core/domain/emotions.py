"""The emotion vocabulary: labels, their valence/arousal points, and how speech maps to music.

Valence/arousal points come from the NRC-VAD lexicon (docs/method.md#labels); ``neutral`` sits at
the centre of the plane, as the paper's authors moved it. Neutral speech is matched to calm music,
not to synthetic noise (a departure from the paper, docs/method.md#labels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from backend.core.domain.text import excerpt


@dataclass(frozen=True)
class Emotion:
    """One emotion label and its point in the valence/arousal plane (both in [0, 1])."""

    name: str
    valence: float
    arousal: float


EMOTIONS: dict[str, Emotion] = {
    e.name: e
    for e in (
        Emotion("happy", 1.000, 0.735),
        Emotion("funny", 0.918, 0.610),
        Emotion("exciting", 0.950, 0.792),
        Emotion("tender", 0.630, 0.520),
        Emotion("sad", 0.225, 0.333),
        Emotion("angry", 0.122, 0.830),
        Emotion("scary", 0.062, 0.952),
        Emotion("fearful", 0.083, 0.482),
        Emotion("disgust", 0.052, 0.775),
        Emotion("surprised", 0.784, 0.855),
        Emotion("calm", 0.442, 0.302),
        Emotion("neutral", 0.500, 0.500),
    )
}

# Labels a speech clip can carry (IEMOCAP's four plus the RAVDESS ones our corpus can render).
SPEECH_LABELS: tuple[str, ...] = (
    "angry",
    "happy",
    "sad",
    "neutral",
    "calm",
    "fearful",
    "surprised",
    "disgust",
)
# Labels a music track can carry (AudioSet's music moods, plus calm for neutral speech).
MUSIC_LABELS: tuple[str, ...] = (
    "happy",
    "funny",
    "sad",
    "tender",
    "exciting",
    "angry",
    "scary",
    "calm",
)
# Every label the product knows, in a stable order (speech first, then music-only labels).
ALL_LABELS: tuple[str, ...] = tuple(dict.fromkeys(SPEECH_LABELS + MUSIC_LABELS))

# Hard-match relevance: which music moods answer a speech emotion. The first four are the paper's
# mapping with low-key music in place of noise for neutral speech: calm and tender, the two music
# moods nearest the centre of the valence/arousal plane, so that the hard match agrees with the
# graded similarity the model is trained on (tender is in fact the nearer of the two).
SPEECH_TO_MUSIC: dict[str, frozenset[str]] = {
    "angry": frozenset({"angry", "scary"}),
    "happy": frozenset({"happy", "exciting", "funny", "tender"}),
    "sad": frozenset({"sad"}),
    "neutral": frozenset({"calm", "tender"}),
    "calm": frozenset({"calm", "tender"}),
    "fearful": frozenset({"scary"}),
    "surprised": frozenset({"exciting", "happy", "funny"}),
    "disgust": frozenset({"angry", "scary"}),
}


class UnknownEmotionError(ValueError):
    """Raised for a label outside the vocabulary; the message names the known labels."""

    def __init__(self, label: str, known: tuple[str, ...] = ALL_LABELS):
        super().__init__(f"unknown emotion {excerpt(label)}; known emotions: {', '.join(known)}")
        self.label = label


def get_emotion(label: str) -> Emotion:
    """Return the emotion called ``label`` or raise :class:`UnknownEmotionError`."""
    try:
        return EMOTIONS[label]
    except KeyError:
        raise UnknownEmotionError(label) from None


def similarity(a: str, b: str) -> float:
    """Emotion similarity of two labels: 1 - Euclidean distance of their valence/arousal points."""
    ea, eb = get_emotion(a), get_emotion(b)
    return 1.0 - math.hypot(ea.valence - eb.valence, ea.arousal - eb.arousal)


def is_match(speech_label: str, music_label: str) -> bool:
    """Hard-match relevance of a music mood to a speech emotion."""
    get_emotion(music_label)
    try:
        return music_label in SPEECH_TO_MUSIC[speech_label]
    except KeyError:
        raise UnknownEmotionError(speech_label, SPEECH_LABELS) from None
