"""Mood arrangement rules for music: how a score is re-arranged to sound happy, sad, scary...

Each clip draws its own arrangement from its mood's ranges; instrument pools and tempo ranges
overlap between moods, as real music does. Pure: randomness comes in as a ``random.Random``.
Instrument numbers are General MIDI programs counted from 0.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class MoodStyle:
    """The ranges a mood draws from."""

    mode: str | None  # "major", "minor" or None to keep the score's mode
    bpm: tuple[float, float]
    transpose: tuple[int, int]  # semitones, inclusive
    octave_shift: tuple[int, ...]  # register shifts to choose from
    programs: tuple[int, ...]  # instrument pool for the score's parts
    velocity: tuple[int, int]  # mean, spread
    articulation: tuple[float, float]  # note length multiplier (<1 staccato, >1 legato)
    percussion: tuple[str | None, ...]  # patterns to choose from (None: no drums)
    dissonance: tuple[float, float]  # share of notes given a clashing neighbour
    pads: tuple[int, ...]  # sustained pad instruments (empty: no pad)
    pad_chance: float
    reverb: tuple[int, int]  # CC91 reverb send range
    leap_chance: float  # share of notes thrown an octave up or down (comic leaps)


STYLES: dict[str, MoodStyle] = {
    "happy": MoodStyle(
        "major",
        (108, 142),
        (-2, 5),
        (0, 0, 1),
        (0, 1, 4, 12, 11, 24, 25, 73, 71, 56, 48, 105, 114, 22, 21),
        (88, 10),
        (0.65, 0.9),
        (None, "pop", "pop", "shaker"),
        (0, 0),
        (48, 89),
        0.2,
        (30, 60),
        0.0,
    ),
    "funny": MoodStyle(
        "major",
        (118, 165),
        (0, 7),
        (0, 1),
        (45, 70, 13, 12, 71, 58, 79, 105, 22, 21, 10, 114, 74, 36),
        (82, 18),
        (0.25, 0.5),
        (None, "bouncy", "bouncy"),
        (0, 0.02),
        (),
        0.0,
        (15, 45),
        0.15,
    ),
    "sad": MoodStyle(
        "minor",
        (48, 76),
        (-5, 0),
        (-1, 0, 0),
        (0, 42, 40, 68, 69, 49, 48, 73, 52, 24, 41),
        (56, 10),
        (1.0, 1.2),
        (None,),
        (0, 0),
        (49, 48, 52, 89),
        0.4,
        (60, 100),
        0.0,
    ),
    "tender": MoodStyle(
        "major",
        (60, 86),
        (-2, 3),
        (0, 0, 1),
        (0, 46, 24, 73, 10, 8, 11, 49, 53, 71, 4, 108),
        (56, 8),
        (0.95, 1.15),
        (None,),
        (0, 0),
        (89, 49, 88, 53),
        0.5,
        (60, 90),
        0.0,
    ),
    "exciting": MoodStyle(
        None,
        (138, 180),
        (0, 4),
        (0, 1),
        (61, 56, 30, 29, 48, 81, 62, 0, 38, 55, 40, 27),
        (104, 10),
        (0.6, 0.9),
        ("drive", "drive", "pop"),
        (0, 0),
        (),
        0.0,
        (20, 50),
        0.0,
    ),
    "angry": MoodStyle(
        "minor",
        (128, 172),
        (-7, -2),
        (-1, -1, 0),
        (30, 29, 61, 57, 47, 38, 43, 42, 81, 55, 19),
        (110, 10),
        (0.5, 0.8),
        ("heavy", "heavy", "drive"),
        (0.05, 0.15),
        (),
        0.0,
        (15, 45),
        0.0,
    ),
    "scary": MoodStyle(
        "minor",
        (44, 82),
        (-6, 1),
        (-1, 0, 1),
        (44, 48, 52, 19, 42, 43, 95, 99, 101, 103, 92, 14, 47, 0),
        (62, 30),
        (1.0, 1.5),
        (None, None, "rumble"),
        (0.25, 0.45),
        (92, 95, 99, 101, 52),
        0.7,
        (70, 120),
        0.1,
    ),
    "calm": MoodStyle(
        "major",
        (50, 72),
        (-3, 2),
        (-1, 0, 0),
        (89, 88, 0, 4, 46, 24, 73, 49, 91, 94, 11, 53),
        (50, 8),
        (1.1, 1.4),
        (None,),
        (0, 0),
        (89, 88, 91, 94, 49),
        0.8,
        (70, 110),
        0.0,
    ),
}


@dataclass(frozen=True)
class Arrangement:
    """One clip's arrangement, drawn from a mood style."""

    mood: str
    mode: str | None
    bpm: float
    transpose: int
    octave_shift: int
    programs: tuple[int, ...]  # one instrument per part slot (parts beyond cycle through)
    velocity: tuple[int, int]
    articulation: float
    percussion: str | None
    dissonance: float
    pad_program: int | None
    reverb: int
    leap_chance: float


def draw_arrangement(mood: str, rng: random.Random, parts: int = 4) -> Arrangement:
    """Draw one arrangement for a mood; ``parts`` instruments are drawn without repeats."""
    try:
        style = STYLES[mood]
    except KeyError:
        raise ValueError(f"no mood style for label {mood!r}; known: {', '.join(STYLES)}") from None
    count = max(1, min(parts, len(style.programs)))
    mean, spread = style.velocity
    return Arrangement(
        mood=mood,
        mode=style.mode,
        bpm=rng.uniform(*style.bpm),
        transpose=rng.randint(*style.transpose),
        octave_shift=rng.choice(style.octave_shift),
        programs=tuple(rng.sample(style.programs, count)),
        velocity=(max(20, min(127, round(rng.gauss(mean, spread / 2)))), spread),
        articulation=rng.uniform(*style.articulation),
        percussion=rng.choice(style.percussion),
        dissonance=rng.uniform(*style.dissonance),
        pad_program=rng.choice(style.pads) if style.pads and rng.random() < style.pad_chance else None,
        reverb=rng.randint(*style.reverb),
        leap_chance=style.leap_chance,
    )
