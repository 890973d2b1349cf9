"""Music clips: real scores from music21's corpus, arranged toward a mood, rendered by fluidsynth."""

from __future__ import annotations

import functools
import random
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from corpus.arrange import DRUM_CHANNEL, PAD_CHANNEL, MidiNote, ScoreNotes, arrange, part_channel
from corpus.effects import set_level
from corpus.moods import Arrangement
from corpus.songs import generate_song

MUSIC_RATE = 22_050
MUSIC_DBFS = -20.0  # RMS level music clips are normalised to
SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/TimGM6mb.sf2"))
# music21 corpus collections used, with the share of scores drawn from each. Multi-tune ABC
# books (essenFolksong, oneills1850) are left out: music21 parses the whole book for one tune.
COLLECTIONS: dict[str, float] = {
    "ryansMammoth": 0.3,
    "bach": 0.25,
    "palestrina": 0.13,
    "monteverdi": 0.08,
    "trecento": 0.06,
    "beethoven": 0.03,
    "mozart": 0.03,
    "haydn": 0.02,
    "schumann_robert": 0.015,
    "schumann_clara": 0.01,
    "josquin": 0.01,
    "joplin": 0.005,
    "chopin": 0.005,
    "handel": 0.005,
    "corelli": 0.005,
    "schubert": 0.005,
    "verdi": 0.005,
    "weber": 0.005,
    "cpebach": 0.005,
    "beach": 0.005,
}
GENERATED_PREFIX = "generated/song-"  # scores made by corpus.songs, not music21
GENERATED_SHARE = 0.15
_SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc")


def missing_renderer() -> str | None:
    """Say what is missing to render music, or None when fluidsynth and a soundfont are there."""
    if shutil.which("fluidsynth") is None:
        return "music: program 'fluidsynth' not found on PATH (run scripts/setup.sh)"
    if not any(p.exists() for p in SOUNDFONTS):
        return f"music: no General MIDI soundfont at {', '.join(map(str, SOUNDFONTS))} (run scripts/setup.sh)"
    return None


def available_soundfonts() -> list[Path]:
    """The soundfonts present on this machine."""
    return [p for p in SOUNDFONTS if p.exists()]


def score_catalogue(count: int, seed: int) -> list[str]:
    """Draw ``count`` score ids: music21 corpus files ("collection/file") spread over collections,
    and a share of generated songs."""
    import music21
    from music21 import corpus

    root = Path(music21.__file__).parent / "corpus"
    by_collection: dict[str, list[str]] = {}
    for path in corpus.getCorePaths():
        rel = Path(path).relative_to(root).as_posix()
        collection = rel.split("/", 1)[0]
        if collection in COLLECTIONS and path.suffix in _SCORE_SUFFIXES:
            by_collection.setdefault(collection, []).append(rel)
    rng = random.Random(f"scores:{seed}")
    chosen: list[str] = []
    total_share = sum(COLLECTIONS[c] for c in by_collection)
    for collection in sorted(by_collection):
        pool = sorted(by_collection[collection])
        rng.shuffle(pool)
        want = max(1, round(count * COLLECTIONS[collection] / total_share))
        chosen += pool[:want]
    generated = round(count * GENERATED_SHARE)
    rng.shuffle(chosen)
    chosen = chosen[: count - generated] + [f"{GENERATED_PREFIX}{n:05d}" for n in rng.sample(range(100_000), generated)]
    rng.shuffle(chosen)
    return chosen


@functools.lru_cache(maxsize=64)
def load_score(score_id: str) -> ScoreNotes:
    """Parse a music21 corpus score (or generate a "generated/song-N" one) into notes, key and bar."""
    if score_id.startswith(GENERATED_PREFIX):
        return generate_song(int(score_id.removeprefix(GENERATED_PREFIX)))
    from music21 import corpus, meter, stream

    with warnings.catch_warnings():  # music21 warns about odd measures in old encodings
        warnings.simplefilter("ignore")
        # forceSource: music21's shared pickle cache is not safe for parallel render workers (one
        # reads a half-written .p.gz: "incomplete or truncated stream").
        parsed = corpus.parse(score_id, forceSource=True)
    if isinstance(parsed, stream.Opus):
        parsed = parsed.scores[0]
    parts = list(parsed.parts) or [parsed]
    notes = []
    for index, part in enumerate(parts):
        for element in part.flatten().notes:
            length = float(element.quarterLength)
            if length <= 0:
                continue
            notes.extend((float(element.offset), length, p.midi, index) for p in element.pitches)
    if not notes:
        raise ValueError(f"score {score_id!r} has no notes")
    key = parsed.analyze("key")
    signatures = parsed.recurse().getElementsByClass(meter.TimeSignature)
    bar = float(signatures[0].barDuration.quarterLength) if signatures else 4.0
    return ScoreNotes(
        tuple(sorted(notes)),
        key.tonic.pitchClass,
        key.mode if key.mode in ("major", "minor") else "major",
        bar if bar > 0 else 4.0,
        len(parts),
    )


def write_midi(notes: list[MidiNote], arrangement: Arrangement, parts: int, path: Path) -> None:
    """Write the notes as a type-0 MIDI file with the arrangement's instruments and reverb."""
    ticks = 480
    tempo = mido.bpm2tempo(arrangement.bpm)
    events: list[tuple[int, int, mido.Message]] = []
    channels = {part_channel(p): arrangement.programs[p % len(arrangement.programs)] for p in range(parts)}
    if arrangement.pad_program is not None:
        channels[PAD_CHANNEL] = arrangement.pad_program
    for channel, program in sorted(channels.items()):
        events.append((0, 0, mido.Message("program_change", channel=channel, program=program)))
        events.append((0, 0, mido.Message("control_change", channel=channel, control=91, value=arrangement.reverb)))
        events.append((0, 0, mido.Message("control_change", channel=channel, control=7, value=100)))
    events.append(
        (0, 0, mido.Message("control_change", channel=DRUM_CHANNEL, control=91, value=arrangement.reverb // 2))
    )

    def tick(seconds: float) -> int:
        return max(0, round(mido.second2tick(seconds, ticks, tempo)))

    for note in notes:
        events.append(
            (
                tick(note.start),
                1,
                mido.Message("note_on", channel=note.channel, note=note.pitch, velocity=note.velocity),
            )
        )
        events.append(
            (tick(note.start + note.length), 0, mido.Message("note_off", channel=note.channel, note=note.pitch))
        )
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    now = 0
    for at, _, message in events:
        track.append(message.copy(time=at - now))
        now = at
    midi = mido.MidiFile(type=0, ticks_per_beat=ticks)
    midi.tracks.append(track)
    midi.save(str(path))


def render_midi(midi_path: Path, soundfont: Path, wav_path: Path) -> np.ndarray:
    """Render MIDI with fluidsynth at 22.05 kHz and return the mono mix."""
    args = [
        "fluidsynth",
        "-n",
        "-i",
        "-q",
        "-g",
        "0.6",
        "-r",
        str(MUSIC_RATE),
        "-o",
        "synth.cpu-cores=1",
        "-o",
        "synth.dynamic-sample-loading=1",  # load only the instruments used: 2-3x faster
        "-F",
        str(wav_path),
        str(soundfont),
        str(midi_path),
    ]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not wav_path.exists():
        raise RuntimeError(f"fluidsynth failed on {midi_path}: {done.stderr.strip()[:300]}")
    audio, rate = sf.read(wav_path, dtype="float32", always_2d=True)
    if rate != MUSIC_RATE:
        raise RuntimeError(f"fluidsynth wrote {rate} Hz, expected {MUSIC_RATE}")
    return audio.mean(axis=1)


@dataclass(frozen=True)
class MusicClip:
    """Everything needed to render one music clip."""

    score_id: str
    arrangement: Arrangement
    seconds: float
    soundfont: Path
    seed: int


def render_clip(clip: MusicClip, work_dir: Path) -> np.ndarray:
    """Arrange, write MIDI, render, trim to length with a fade-out and normalise the level."""
    score = load_score(clip.score_id)
    notes = arrange(score, clip.arrangement, clip.seconds, random.Random(clip.seed))
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        midi_path, wav_path = Path(tmp) / "clip.mid", Path(tmp) / "clip.wav"
        write_midi(notes, clip.arrangement, score.parts, midi_path)
        audio = render_midi(midi_path, clip.soundfont, wav_path)
    length = int(clip.seconds * MUSIC_RATE)
    audio = np.pad(audio, (0, max(0, length - len(audio))))[:length]
    fade = min(length, int(1.0 * MUSIC_RATE))
    audio[length - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    # Catalogues are loudness-normalised, so loudness must not give the mood away.
    return set_level(audio, MUSIC_DBFS + random.Random(clip.seed).uniform(-2.0, 2.0))
