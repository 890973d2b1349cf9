"""A small song generator: chord progression, bass line and melody, as a score to arrange.

It adds what the (mostly classical and folk) music21 scores lack: pop-style progressions with a
steady bass and a singable tune. Pure: the song number decides everything.
"""

from __future__ import annotations

import random

from corpus.arrange import ScoreNotes

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
# Progressions as scale degrees (0 = tonic), one chord per bar.
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4), (1, 4, 0, 0), (0, 3, 0, 4), (0, 3, 4, 3)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4)),
}
_RHYTHMS = ((1, 1, 1, 1), (1.5, 0.5, 1, 1), (0.5, 0.5, 1, 2), (2, 1, 1), (1, 0.5, 0.5, 2), (0.5,) * 8)


def generate_song(number: int, bars: int = 16) -> ScoreNotes:
    """Generate song ``number``: parts are melody (0), chords (1) and bass (2), four beats a bar."""
    rng = random.Random(f"song:{number}")
    mode = rng.choice(("major", "minor"))
    scale = MAJOR if mode == "major" else MINOR
    tonic = rng.randrange(-5, 7)  # keys around C, so registers stay put
    progression = rng.choice(PROGRESSIONS[mode])
    notes: list[tuple[float, float, int, int]] = []
    motif = [rng.choice(_RHYTHMS) for _ in range(2)]
    degree = rng.choice((0, 2, 4))
    for bar in range(bars):
        start = bar * 4.0
        root = progression[bar % len(progression)]
        chord = [root, root + 2, root + 4]
        for d in chord:  # sustained triad
            notes.append((start, 4.0, _pitch(tonic, scale, d, 60), 1))
        for beat in (0.0, 2.0):  # bass on one and three
            notes.append((start + beat, 2.0, _pitch(tonic, scale, root, 36), 2))
        offset = 0.0
        for length in motif[bar % 2]:  # melody: chord tones on strong beats, steps between
            if offset % 2 == 0:
                degree = min((c + 7 * k for c in chord for k in (0, 1)), key=lambda d: abs(d - degree))
            else:
                degree += rng.choice((-1, 1))
            degree = max(-2, min(11, degree))
            notes.append((start + offset, float(length), _pitch(tonic, scale, degree, 72), 0))
            offset += length
    return ScoreNotes(tuple(sorted(notes)), tonic % 12, mode, 4.0, 3)


def _pitch(tonic: int, scale: tuple[int, ...], degree: int, base: int) -> int:
    octave, step = divmod(degree, len(scale))
    return base + tonic + 12 * octave + scale[step]
