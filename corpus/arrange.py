"""Apply a mood arrangement to a score's notes: pure functions from notes to timed MIDI notes."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from corpus.moods import Arrangement

DRUM_CHANNEL = 9
PAD_CHANNEL = 11


@dataclass(frozen=True)
class ScoreNotes:
    """A score reduced to notes: (start, length) in quarter notes, MIDI pitch, part index."""

    notes: tuple[tuple[float, float, int, int], ...]
    tonic: int  # pitch class 0..11
    mode: str  # "major" or "minor"
    bar_quarters: float  # length of a bar in quarter notes
    parts: int

    @property
    def length(self) -> float:
        """Length in quarter notes up to the end of the last note."""
        return max(start + dur for start, dur, _, _ in self.notes)


@dataclass(frozen=True)
class MidiNote:
    """A note to play: start and length in seconds, channel, pitch, velocity."""

    start: float
    length: float
    channel: int
    pitch: int
    velocity: int


def change_mode(pitch: int, tonic: int, source: str, target: str | None) -> int:
    """Move the third, sixth and seventh degrees so a major tune turns minor or back."""
    if target is None or target == source:
        return pitch
    degree = (pitch - tonic) % 12
    if target == "minor" and degree in (4, 9, 11):
        return pitch - 1
    if target == "major" and degree in (3, 8, 10):
        return pitch + 1
    return pitch


def part_channel(part: int) -> int:
    """Map a score part to a melodic MIDI channel (0-8 then 10, never the drum channel)."""
    return (0, 1, 2, 3, 4, 5, 6, 7, 8, 10)[part % 10]


def arrange(score: ScoreNotes, arrangement: Arrangement, seconds: float, rng: random.Random) -> list[MidiNote]:
    """Turn a stretch of the score into ``seconds`` of timed notes arranged for the mood."""
    beat = 60.0 / arrangement.bpm
    window = seconds / beat + score.bar_quarters  # quarters needed, with a bar to spare
    notes = _window(score, window, rng)
    shift = arrangement.transpose + 12 * arrangement.octave_shift
    vel_mean, vel_spread = arrangement.velocity
    out: list[MidiNote] = []
    for start, dur, pitch, part in notes:
        pitch = change_mode(pitch, score.tonic, score.mode, arrangement.mode) + shift
        if arrangement.leap_chance and rng.random() < arrangement.leap_chance:
            pitch += rng.choice((-12, 12))
        on_beat = abs(start / score.bar_quarters - round(start / score.bar_quarters)) < 1e-6
        velocity = rng.gauss(vel_mean + (10 if on_beat else 0), vel_spread / 3)
        note = MidiNote(
            start * beat + rng.gauss(0, 0.008),
            max(0.05, dur * beat * arrangement.articulation),
            part_channel(part),
            _midi(pitch),
            _vel(velocity),
        )
        out.append(note)
        if arrangement.dissonance and rng.random() < arrangement.dissonance:
            clash = rng.choice((1, -1, 6, 11, 13))
            out.append(MidiNote(note.start, note.length, note.channel, _midi(pitch + clash), _vel(velocity - 10)))
    if arrangement.pad_program is not None:
        out += _pad(notes, beat, shift, score, arrangement)
    if arrangement.percussion:
        out += percussion(arrangement.percussion, seconds, beat, score.bar_quarters, arrangement.velocity[0], rng)
    end = seconds + 0.3  # nothing sounds past the clip, so fluidsynth stops soon after it
    return [dataclasses.replace(n, length=min(n.length, end - n.start)) for n in out if 0 <= n.start < seconds]


def _window(score: ScoreNotes, quarters: float, rng: random.Random) -> list[tuple[float, float, int, int]]:
    """Pick a bar-aligned stretch of ``quarters``, looping the score when it is too short."""
    length = max(score.bar_quarters, -(-score.length // score.bar_quarters) * score.bar_quarters)
    bars = int(length // score.bar_quarters)
    first = rng.randrange(bars) * score.bar_quarters if length > quarters else 0.0
    out: list[tuple[float, float, int, int]] = []
    loop = 0
    while not out or loop * length - first < quarters:
        for start, dur, pitch, part in score.notes:
            t = start + loop * length - first
            if 0 <= t < quarters:
                out.append((t, dur, pitch, part))
        loop += 1
        if loop > 1000:
            break
    return sorted(out)


def _pad(
    notes: list[tuple[float, float, int, int]], beat: float, shift: int, score: ScoreNotes, arrangement: Arrangement
) -> list[MidiNote]:
    """Hold the bar's pitch classes as a soft sustained chord in the middle register."""
    bars: dict[int, set[int]] = {}
    for start, _, pitch, _ in notes:
        pc = (change_mode(pitch, score.tonic, score.mode, arrangement.mode) + shift) % 12
        bars.setdefault(int(start // score.bar_quarters), set()).add(pc)
    velocity = _vel(arrangement.velocity[0] - 15)
    out = []
    for bar, pcs in bars.items():
        for pc in sorted(pcs)[:4]:
            bar_seconds = score.bar_quarters * beat
            out.append(MidiNote(bar * bar_seconds, bar_seconds * 1.02, PAD_CHANNEL, 48 + pc, velocity))
    return out


# Drum patterns on a grid of eighth notes per bar of four beats: (eighth index, GM drum note, accent).
_PATTERNS: dict[str, tuple[tuple[int, int, float], ...]] = {
    "pop": ((0, 36, 1.0), (2, 38, 0.9), (4, 36, 0.9), (6, 38, 0.9), *((i, 42, 0.6) for i in range(8))),
    "shaker": (*tuple((i, 70, 0.5 + 0.2 * (i % 2 == 0)) for i in range(8)), (2, 54, 0.6), (6, 54, 0.6)),
    "bouncy": ((0, 76, 0.9), (3, 77, 0.7), (4, 76, 0.9), (7, 56, 0.7), (2, 75, 0.6), (6, 75, 0.6)),
    "drive": (
        (0, 36, 1.0),
        (2, 36, 0.9),
        (4, 36, 1.0),
        (6, 36, 0.9),
        (2, 38, 1.0),
        (6, 38, 1.0),
        *((i, 42, 0.7) for i in range(8)),
    ),
    "heavy": (*((i, 36, 1.0) for i in range(8)), (2, 38, 1.0), (6, 38, 1.0), (0, 49, 0.9), (5, 45, 0.8), (7, 41, 0.8)),
    "rumble": ((0, 41, 0.8), (1, 41, 0.5), (5, 43, 0.6), (0, 57, 0.4)),
}


def percussion(
    pattern: str, seconds: float, beat: float, bar_quarters: float, loudness: int, rng: random.Random
) -> list[MidiNote]:
    """Repeat a drum pattern over the clip, with a crash every four bars for driving patterns."""
    eighth = beat / 2
    bar_seconds = bar_quarters * beat
    out: list[MidiNote] = []
    bar = 0
    while bar * bar_seconds < seconds:
        for index, drum, accent in _PATTERNS[pattern]:
            if index * 0.5 >= bar_quarters:
                continue
            if pattern == "rumble" and rng.random() < 0.5:
                continue
            start = bar * bar_seconds + index * eighth + rng.gauss(0, 0.004)
            out.append(MidiNote(max(0.0, start), eighth, DRUM_CHANNEL, drum, _vel(loudness * accent + rng.gauss(0, 6))))
        if pattern in ("drive", "heavy") and bar % 4 == 0:
            out.append(MidiNote(bar * bar_seconds, beat, DRUM_CHANNEL, 49, _vel(loudness)))
        bar += 1
    return out


def _midi(pitch: int) -> int:
    while pitch < 24:
        pitch += 12
    while pitch > 108:
        pitch -= 12
    return pitch


def _vel(value: float) -> int:
    return int(max(1, min(127, round(value))))
