"""Pure corpus logic: split assignment, prosody rules, mood arrangements, sentences, effects."""

from __future__ import annotations

import functools
import operator
import random
import statistics

import numpy as np
import pytest
import soundfile as sf

from backend.core.domain.emotions import MUSIC_LABELS, SPEECH_LABELS
from corpus import effects, sentences
from corpus.arrange import DRUM_CHANNEL, PAD_CHANNEL, ScoreNotes, arrange, change_mode
from corpus.moods import STYLES, draw_arrangement
from corpus.music import score_catalogue
from corpus.plan import speaker_splits
from corpus.prosody import RULES, Prosody, draw_prosody
from corpus.songs import generate_song
from corpus.speech import default_engines
from corpus.splits import assign_groups, partition, split_counts
from ml.manifest import SPLITS, make_row, read_manifest, write_manifest


def test_partition_is_disjoint_complete_and_seeded():
    items = [f"s{i}" for i in range(100)] + ["s1"]
    parts = partition(items, seed=3)
    assert sorted(functools.reduce(operator.iadd, parts.values(), [])) == sorted(set(items))
    assert [len(parts[s]) for s in SPLITS] == [70, 15, 15]
    assert partition(items, seed=3) == parts
    assert partition(items, seed=4) != parts


def test_split_counts_fill_every_split_or_refuse():
    assert split_counts(3) == {"train": 1, "valid": 1, "test": 1}
    with pytest.raises(ValueError, match="at least 3"):
        split_counts(2)


def test_assign_groups_spreads_each_stratum_and_pools_small_ones():
    strata = {"big": [f"b{i}" for i in range(10)], "one": ["x"], "two": ["y", "z"]}
    assignment = assign_groups(strata, seed=0)
    assert set(assignment) == set(functools.reduce(operator.iadd, strata.values(), []))
    assert {assignment[g] for g in strata["big"]} == set(SPLITS)
    assert {assignment[g] for g in ("x", "y", "z")} == set(SPLITS)  # pooled, then partitioned
    assert assign_groups({"tiny": ["a", "b"]}, seed=0) == {"a": "train", "b": "train"}


def test_speaker_splits_put_both_sexes_in_every_split_and_the_lone_recorded_woman_in_train():
    voices = [voice for engine in default_engines() for voice in engine.voices()]  # no program needed
    split_of = speaker_splits([(None, v) for v in voices], seed=0)
    for kind in ("espeak-ng/", ""):
        for sex in ("female", "male"):
            stratum = {v.speaker for v in voices if v.sex == sex and v.speaker.startswith(kind) == bool(kind)}
            if len(stratum) >= len(SPLITS):
                assert {split_of[s] for s in stratum} == set(SPLITS), (kind, sex)
    assert split_of["slt"] == "train"
    assert {split_of[s] for s in ("kal", "ked", "awb", "rms", "joe")} == set(SPLITS)


def _draws(label, field, n=400):
    rng = random.Random(label)
    return [getattr(draw_prosody(label, rng), field) for _ in range(n)]


def test_prosody_rules_separate_labels_on_average():
    pitch = {label: statistics.mean(_draws(label, "pitch_semitones")) for label in SPEECH_LABELS}
    rate = {label: statistics.mean(_draws(label, "rate")) for label in SPEECH_LABELS}
    loud = {label: statistics.mean(_draws(label, "loudness_db")) for label in SPEECH_LABELS}
    assert pitch["sad"] < pitch["neutral"] < pitch["happy"] < pitch["surprised"]
    assert rate["sad"] < rate["calm"] < rate["neutral"] < rate["angry"]
    assert loud["sad"] < loud["neutral"] < loud["angry"]
    assert statistics.mean(_draws("angry", "tension")) > 0.5 > statistics.mean(_draws("happy", "tension"))
    assert (
        statistics.mean(_draws("surprised", "final_bend_cents"))
        > 0
        > statistics.mean(_draws("sad", "final_bend_cents"))
    )


def test_prosody_classes_overlap():
    assert max(_draws("sad", "pitch_semitones")) > min(_draws("neutral", "pitch_semitones"))
    assert max(_draws("neutral", "rate")) > min(_draws("happy", "rate"))


def test_prosody_covers_speech_labels_and_rejects_others():
    assert set(RULES) == set(SPEECH_LABELS)
    with pytest.raises(ValueError, match="'scary'"):
        draw_prosody("scary", random.Random(0))


def test_mood_styles_cover_music_labels_and_draw_from_their_pools():
    assert set(STYLES) == set(MUSIC_LABELS)
    rng = random.Random(0)
    for mood, style in STYLES.items():
        for _ in range(20):
            arrangement = draw_arrangement(mood, rng)
            assert set(arrangement.programs) <= set(style.programs)
            assert style.bpm[0] <= arrangement.bpm <= style.bpm[1]
            assert arrangement.mode == style.mode
    assert STYLES["sad"].bpm[1] < STYLES["exciting"].bpm[0]
    with pytest.raises(ValueError, match="'neutral'"):
        draw_arrangement("neutral", rng)


def test_change_mode_moves_third_sixth_seventh():
    c_major_scale = [60, 62, 64, 65, 67, 69, 71]
    assert [change_mode(p, 0, "major", "minor") for p in c_major_scale] == [60, 62, 63, 65, 67, 68, 70]
    assert [change_mode(p, 9, "minor", "major") for p in (57, 60, 65, 67)] == [57, 61, 66, 68]
    assert change_mode(64, 0, "major", None) == 64


def test_arrange_fits_the_clip_and_adds_drums_or_pads():
    score = ScoreNotes(tuple((float(i), 1.0, 60 + i % 12, i % 2) for i in range(16)), 0, "major", 4.0, 2)
    rng = random.Random(1)
    exciting = arrange(score, draw_arrangement("exciting", rng), 10.0, rng)
    assert exciting and all(0 <= n.start < 10.0 and n.start + n.length <= 10.31 for n in exciting)
    assert any(n.channel == DRUM_CHANNEL for n in exciting)  # short score looped and drummed
    assert max(n.start for n in exciting) > 8.0
    calm = next(a for a in (draw_arrangement("calm", rng) for _ in range(50)) if a.pad_program is not None)
    assert any(n.channel == PAD_CHANNEL for n in arrange(score, calm, 10.0, rng))


def test_sentences_are_distinct_and_mostly_neutral():
    neutral = sentences.sample_neutral_sentences(2000, seed=0)
    assert len(neutral) == len(set(neutral)) == 2000
    assert sentences.sample_neutral_sentences(2000, seed=0) == neutral
    for label in SPEECH_LABELS:
        worded = sentences.emotional_sentences(label)
        assert (label == "neutral") == (not worded)
        assert not set(worded) & set(neutral)


def test_sox_chain_resamples_first_and_applies_only_what_the_engine_did_not():
    prosody = draw_prosody("angry", random.Random(2))
    acoustics = effects.draw_acoustics(random.Random(2))
    done = effects.sox_effects(prosody, acoustics, 3.0, pitch_done=True, rate_done=True, rng=random.Random(0))
    left = effects.sox_effects(prosody, acoustics, 3.0, pitch_done=False, rate_done=False, rng=random.Random(0))
    assert done[:7] == ["gain", "-8", "rate", "-h", "16k", "channels", "1"]
    assert "tempo" not in done and "pitch" not in done
    assert "tempo" in left and "pitch" in left


def _spoken_with_effort(tmp_path, loudness_db: float) -> np.ndarray:
    """A harmonic 'voice' through the sox chain with only the vocal effort changed."""
    rate = 16_000
    t = np.arange(rate) / rate
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 40)).astype(np.float32)
    src = tmp_path / f"src{loudness_db}.wav"
    dst = tmp_path / f"dst{loudness_db}.wav"
    sf.write(src, 0.1 * voice, rate)
    prosody = Prosody(0.0, 1.0, 1.0, loudness_db, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    acoustics = effects.Acoustics(None, 40.0, 7900.0, (1000.0, 1.0, 0.0), "white", 60.0)
    chain = effects.sox_effects(prosody, acoustics, 1.0, pitch_done=True, rate_done=True, rng=random.Random(0))
    effects.run_sox(src, dst, chain)
    out, _ = sf.read(dst, dtype="float32")
    return out / np.sqrt(np.mean(out**2))


def test_vocal_effort_survives_loudness_normalisation(tmp_path):
    def high_band_share(wave: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(wave)) ** 2
        freqs = np.fft.rfftfreq(len(wave), 1 / 16_000)
        return float(power[freqs > 2000].sum() / power.sum())

    shares = [high_band_share(_spoken_with_effort(tmp_path, db)) for db in (-7.0, 0.0, 7.0)]
    assert shares[0] < shares[1] < shares[2]
    assert shares[2] > 2 * shares[0]


def test_trim_silence_cuts_margins_only():
    rate = 16_000
    tone = np.sin(np.arange(rate) * 0.1).astype(np.float32)
    padded = np.concatenate([np.zeros(rate // 2, np.float32), tone, np.zeros(rate, np.float32)])
    trimmed = effects.trim_silence(padded, rate)
    assert rate <= len(trimmed) <= rate + 4 * 320
    assert len(effects.trim_silence(np.zeros(rate, np.float32), rate)) == rate


def test_stretch_pauses_lengthens_gaps_only():
    rate = 16_000
    tone = np.sin(np.arange(rate // 2) * 0.1).astype(np.float32)
    signal = np.concatenate([tone, np.zeros(rate // 5, np.float32), tone])
    longer = effects.stretch_pauses(signal, rate, 2.0)
    assert len(signal) + rate // 10 <= len(longer) <= len(signal) + rate // 5 + 640
    assert len(effects.stretch_pauses(tone, rate, 2.0)) == len(tone)


@pytest.mark.parametrize("kind", effects.NOISE_KINDS)
def test_noise_is_added_at_the_asked_snr(kind):
    rng = np.random.default_rng(0)
    clean = np.sin(np.arange(16_000) * 0.05).astype(np.float32)
    noisy = effects.add_noise(clean, 16_000, kind, 10.0, rng)
    snr = 10 * np.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2))
    assert snr == pytest.approx(10.0, abs=0.1)


def test_set_level_hits_the_target_and_never_clips():
    quiet = (0.01 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32)
    out = effects.set_level(quiet, -20.0)
    assert 20 * np.log10(np.sqrt(np.mean(out**2))) == pytest.approx(-20.0, abs=0.01)
    assert np.max(np.abs(effects.set_level(quiet, 0.0))) <= 0.98


def test_manifest_round_trip(tmp_path):
    rows = [
        make_row("b", "music", "test", "scary", "bach/x.mxl", "music21+fluidsynth:FluidR3_GM"),
        make_row("a", "speech", "train", "sad", "kal", "flite:kal", 'He said, "fine".'),
    ]
    path = write_manifest(rows, tmp_path / "manifest.csv")
    assert read_manifest(path) == sorted(rows, key=lambda r: r.path)
    (tmp_path / "bad.csv").write_text("path,label\nx,sad\n")
    with pytest.raises(ValueError, match="columns"):
        read_manifest(tmp_path / "bad.csv")


def test_generated_songs_are_reproducible_three_part_scores():
    song = generate_song(42)
    assert song == generate_song(42) and song != generate_song(43)
    assert song.parts == 3 and {part for *_, part in song.notes} == {0, 1, 2}
    assert song.length == pytest.approx(64.0)
    melody = [pitch for _, _, pitch, part in song.notes if part == 0]
    bass = [pitch for _, _, pitch, part in song.notes if part == 2]
    assert max(bass) < min(melody)


def test_score_catalogue_mixes_collections_and_generated_songs():
    scores = score_catalogue(100, seed=0)
    assert len(scores) == len(set(scores)) == 100
    collections = {s.split("/")[0] for s in scores}
    assert {"bach", "ryansMammoth", "palestrina", "generated"} <= collections
    assert score_catalogue(100, seed=0) == scores
