"""Plan a corpus: which clip gets which voice, sentence, score, prosody and arrangement.

Planning is done up front from the seed alone, so rendering order and process count cannot change
the corpus. Rendering happens in :mod:`corpus.build`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.core.domain.emotions import MUSIC_LABELS, SPEECH_LABELS
from corpus import effects, sentences
from corpus.moods import draw_arrangement
from corpus.music import GENERATED_PREFIX, MusicClip
from corpus.prosody import draw_prosody
from corpus.speech import SpeechEngine, Voice
from corpus.splits import assign_groups, hash_seed, partition
from corpus.utterances import Utterance
from ml.manifest import SPLITS, ManifestRow, make_row

# How often each engine speaks when it has voices in a split: espeak-ng brings many speakers,
# the others bring natural (recorded) voices.
ENGINE_WEIGHTS = {"espeak-ng": 0.4, "flite": 0.2, "festival": 0.2, "piper": 0.2}


@dataclass(frozen=True)
class SizeSpec:
    """How big a corpus is: clips per label in each split, music clip lengths, scores drawn."""

    speech_per_label: dict[str, int]
    music_per_label: dict[str, int]
    music_seconds: tuple[float, float]
    scores: int
    emotional_share: float = 0.25  # share of non-neutral utterances with emotionally worded text
    two_sentence_share: float = 0.25  # share of utterances that add a second (neutral) sentence


SIZES: dict[str, SizeSpec] = {
    # tiny: for quick determinism tests; small: tests and demos; full: training the bundled model.
    "tiny": SizeSpec({"train": 1, "valid": 1, "test": 1}, {"train": 1, "valid": 1, "test": 1}, (10.0, 10.5), 9),
    "small": SizeSpec({"train": 6, "valid": 3, "test": 3}, {"train": 3, "valid": 2, "test": 2}, (10.0, 12.0), 24),
    "full": SizeSpec(
        {"train": 600, "valid": 50, "test": 50}, {"train": 170, "valid": 40, "test": 40}, (10.0, 30.0), 600
    ),
}


def speech_voices(engines: Sequence[SpeechEngine]) -> list[tuple[SpeechEngine, Voice]]:
    """Every voice of the given engines."""
    return [(engine, voice) for engine in engines for voice in engine.voices()]


def speaker_splits(voices: Sequence[tuple[SpeechEngine, Voice]], seed: int) -> dict[str, str]:
    """Assign speakers to splits, stratified by kind (espeak-ng formant or recorded) and sex.

    Every stratum with enough speakers spans all splits. A stratum too small for that (the one
    recorded female voice, slt) goes to train: a kind of voice the model never hears in training
    is one it cannot handle on real recordings, and a test split cannot fix that.
    """
    strata: dict[str, set[str]] = {}
    for _, voice in voices:
        kind = "formant" if voice.speaker.startswith("espeak-ng/") else "recorded"
        strata.setdefault(f"{kind}/{voice.sex}", set()).add(voice.speaker)
    return assign_groups(strata, hash_seed(seed, "speakers"))


def plan_speech(engines: Sequence[SpeechEngine], spec: SizeSpec, seed: int) -> list[tuple[ManifestRow, Utterance]]:
    """Plan every speech clip: split, label, voice, sentence, prosody and recording situation."""
    voices = speech_voices(engines)
    if not voices:
        raise RuntimeError("no speech engine is available: install espeak-ng, flite, festival or piper")
    speaker_split = speaker_splits(voices, seed)
    total = sum(spec.speech_per_label.values()) * len(SPEECH_LABELS)
    neutral = partition(sentences.sample_neutral_sentences(max(total, 30), seed), hash_seed(seed, "neutral"))
    worded = {
        label: partition(sentences.emotional_sentences(label), hash_seed(seed, label))
        for label in SPEECH_LABELS
        if sentences.emotional_sentences(label)
    }
    rng = random.Random(hash_seed(seed, "speech"))
    planned: list[tuple[ManifestRow, Utterance]] = []
    for split in SPLITS:
        by_engine: dict[str, list[tuple[SpeechEngine, Voice]]] = {}
        for engine, voice in voices:
            if speaker_split[voice.speaker] == split:
                by_engine.setdefault(engine.name, []).append((engine, voice))
        if not by_engine:
            raise RuntimeError(f"no voice left for the {split} split; available voices: {len(voices)}")
        names = sorted(by_engine)
        weights = [ENGINE_WEIGHTS.get(n, 0.2) for n in names]
        neutral_texts = _cycle(neutral[split], rng)
        worded_texts = {label: _cycle(parts[split], rng) for label, parts in worded.items()}
        for label in SPEECH_LABELS:
            for k in range(spec.speech_per_label[split]):
                engine, voice = rng.choice(by_engine[rng.choices(names, weights)[0]])
                emotional = label in worded_texts and rng.random() < spec.emotional_share
                text = next(worded_texts[label] if emotional else neutral_texts)
                if rng.random() < spec.two_sentence_share:
                    text += " " + next(neutral_texts)
                utterance = Utterance(
                    engine, voice, text, draw_prosody(label, rng), effects.draw_acoustics(rng), rng.getrandbits(31)
                )
                row = make_row(
                    f"speech-{split}-{label}-{k:05d}",
                    "speech",
                    split,
                    label,
                    group=voice.speaker,
                    source=f"{engine.name}:{voice.name}",
                    transcript=text,
                )
                planned.append((row, utterance))
    return planned


def plan_music(
    scores: Sequence[str], soundfonts: Sequence[Path], spec: SizeSpec, seed: int
) -> list[tuple[ManifestRow, MusicClip]]:
    """Plan every music clip: split, mood, source score, arrangement, length and soundfont."""
    strata: dict[str, list[str]] = {}
    for score in scores:
        strata.setdefault(score.split("/", 1)[0], []).append(score)
    score_split = assign_groups(strata, hash_seed(seed, "scores"))
    rng = random.Random(hash_seed(seed, "music"))
    planned: list[tuple[ManifestRow, MusicClip]] = []
    for split in SPLITS:
        pool = sorted(s for s, where in score_split.items() if where == split)
        if not pool:
            raise RuntimeError(f"no score left for the {split} split; draw more than {len(scores)} scores")
        next_score = _cycle(pool, rng)
        for label in MUSIC_LABELS:
            for k in range(spec.music_per_label[split]):
                score = next(next_score)
                soundfont = soundfonts[0] if len(soundfonts) == 1 or rng.random() < 0.7 else rng.choice(soundfonts[1:])
                clip = MusicClip(
                    score,
                    draw_arrangement(label, rng),
                    round(rng.uniform(*spec.music_seconds), 2),
                    soundfont,
                    rng.getrandbits(31),
                )
                origin = "songs" if score.startswith(GENERATED_PREFIX) else "music21"
                row = make_row(
                    f"music-{split}-{label}-{k:05d}",
                    "music",
                    split,
                    label,
                    group=score,
                    source=f"{origin}+fluidsynth:{soundfont.stem}",
                )
                planned.append((row, clip))
    return planned


def _cycle(items: Sequence[str], rng: random.Random) -> Iterator[str]:
    """Yield the items in a shuffled order, reshuffling after each pass."""
    items = list(items)
    while True:
        rng.shuffle(items)
        yield from items
