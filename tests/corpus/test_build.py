"""The generated corpus: layout, manifest, disjoint splits, complete labels, decodable audio, determinism."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from pathlib import Path

import pytest

from backend.core.audio import check_clip, decode_audio
from backend.core.domain.emotions import EMOTIONS, MUSIC_LABELS, SPEECH_LABELS
from corpus.build import CorpusError, build_corpus, plan_corpus, render_planned
from corpus.speech import EspeakEngine, FliteEngine
from ml.manifest import COLUMNS, SPLITS, read_manifest
from tests.corpus.conftest import SMALL_SEED

LABELS = {"speech": set(SPEECH_LABELS), "music": set(MUSIC_LABELS)}


def test_layout_matches_manifest(small_corpus):
    root, rows = small_corpus
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*.wav")}
    assert on_disk == {r.path for r in rows}
    for row in rows:
        assert row.path == f"{row.modality}/{row.split}/{row.label}/{Path(row.path).name}"
    assert not (root / ".work").exists()


def test_data_card_counts_match_the_manifest(small_corpus):
    root, rows = small_corpus
    card = (root / "CORPUS.md").read_text()
    for modality, labels in LABELS.items():
        for label in labels:
            cells = [sum(1 for r in rows if (r.modality, r.label, r.split) == (modality, label, s)) for s in SPLITS]
            assert f"| {label} | {' | '.join(map(str, cells))} | {sum(cells)} |" in card
    assert "## Known limits" in card and "espeak-ng" in card


def test_manifest_columns_and_values(small_corpus):
    root, rows = small_corpus
    header = (root / "manifest.csv").read_text().splitlines()[0]
    assert (
        header.split(",")
        == list(COLUMNS)
        == ["path", "modality", "split", "label", "valence", "arousal", "group", "source", "transcript"]
    )
    for row in rows:
        assert row.label in LABELS[row.modality]
        assert (row.valence, row.arousal) == (EMOTIONS[row.label].valence, EMOTIONS[row.label].arousal)
        assert row.group and row.source
        assert bool(row.transcript) == (row.modality == "speech")


@pytest.mark.parametrize("modality", ["speech", "music"])
def test_every_label_in_every_split(small_corpus, modality):
    _, rows = small_corpus
    for split in SPLITS:
        assert {r.label for r in rows if r.modality == modality and r.split == split} == LABELS[modality]


@pytest.mark.parametrize("modality", ["speech", "music"])
def test_splits_disjoint_by_group(small_corpus, modality):
    _, rows = small_corpus
    splits_of_group = defaultdict(set)
    for row in rows:
        if row.modality == modality:
            splits_of_group[row.group].add(row.split)
    assert all(len(s) == 1 for s in splits_of_group.values()), splits_of_group
    assert {next(iter(s)) for s in splits_of_group.values()} == set(SPLITS)


def test_splits_disjoint_by_sentence(small_corpus):
    _, rows = small_corpus
    splits_of_sentence = defaultdict(set)
    for row in rows:
        for sentence in re.findall(r"[^.!?]+[.!?]", row.transcript):
            splits_of_sentence[sentence.strip()].add(row.split)
    assert splits_of_sentence
    shared = {s: sp for s, sp in splits_of_sentence.items() if len(sp) > 1}
    assert not shared


def test_speech_comes_from_several_engines(small_corpus):
    _, rows = small_corpus
    engines = {r.source.split(":")[0] for r in rows if r.modality == "speech"}
    assert {"espeak-ng", "flite", "festival"} <= engines


def test_audio_decodes_at_corpus_rates(small_corpus):
    root, rows = small_corpus
    for row in rows:
        audio = decode_audio(root / row.path)
        assert audio.channels == 1 and audio.samples.ndim == 1
        if row.modality == "speech":
            assert audio.sample_rate == 16_000
            check_clip(audio, min_seconds=0.5, max_seconds=20)
        else:
            assert audio.sample_rate == 22_050
            check_clip(audio, min_seconds=10, max_seconds=30)


def test_same_seed_same_manifest_and_audio(small_corpus, tmp_path):
    root, rows = small_corpus
    plan = plan_corpus("small", SMALL_SEED)
    assert sorted((r for r, _ in plan.jobs), key=lambda r: r.path) == rows
    # Re-render one clip per speech engine and two music clips: the bytes must be identical.
    per_engine = {}
    for row, item in plan.jobs:
        if row.modality == "speech":
            per_engine.setdefault(row.source.split(":")[0], (row, item))
    picks = [*per_engine.values(), *[job for job in plan.jobs if job[0].modality == "music"][:2]]
    for row, item in picks:
        again = render_planned(tmp_path, row, item)
        assert again.read_bytes() == (root / row.path).read_bytes(), row.path


def test_other_seed_other_corpus(small_corpus):
    _, rows = small_corpus
    other = sorted((r for r, _ in plan_corpus("small", SMALL_SEED + 1).jobs), key=lambda r: r.path)
    assert [r.path for r in other] == [r.path for r in rows]
    assert [(r.group, r.transcript) for r in other] != [(r.group, r.transcript) for r in rows]


def test_missing_engine_is_reported_and_build_goes_on(tmp_path, caplog):
    engines = [EspeakEngine(), FliteEngine(executable="flite-not-installed-here")]
    with caplog.at_level(logging.WARNING):
        manifest = build_corpus(tmp_path / "c", size="tiny", seed=1, engines=engines, progress=False)
    rows = read_manifest(manifest)
    assert "flite-not-installed-here" in caplog.text
    assert "flite-not-installed-here" in (tmp_path / "c" / "CORPUS.md").read_text()
    speech = [r for r in rows if r.modality == "speech"]
    assert {r.source.split(":")[0] for r in speech} == {"espeak-ng"}
    assert {r.label for r in speech} == set(SPEECH_LABELS)
    assert {r.label for r in rows if r.modality == "music"} == set(MUSIC_LABELS)


def test_refuses_non_empty_output_and_unknown_size(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(CorpusError, match="not empty"):
        build_corpus(tmp_path, size="tiny")
    with pytest.raises(CorpusError, match="unknown size 'huge'"):
        build_corpus(tmp_path / "new", size="huge")
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "new").exists()


def test_no_engine_at_all_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="no speech engine"):
        build_corpus(tmp_path / "c", size="tiny", engines=[EspeakEngine(executable="no-such-espeak")])
