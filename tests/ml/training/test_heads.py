"""Frozen pretrained encoders with trained heads: the model directory, the features, heads-only training."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from ml.embedding.bundle import build_network, load_model, save_model_dir
from ml.evaluation import metrics
from ml.model.config import ModelConfig, PretrainedConfig
from ml.pretrained import MusicnnFrontend, WhisperFrontend, load_musicnn, load_whisper_encoder, split_patches
from s2m.cli import main
from tests.ml.conftest import chord

PRETRAINED = ModelConfig(name="frozen", speech_backbone="whisper", music_backbone="musicnn")


@pytest.fixture(scope="module")
def frozen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    network = build_network(PRETRAINED).eval()
    folder = tmp_path_factory.mktemp("frozen") / "model"
    save_model_dir(folder, network, {"calm": [1.0] + [0.0] * 63}, "# card {version}\n")
    return folder


def test_model_dir_holds_only_the_trained_heads(frozen_dir: Path):
    weights = load_file(str(frozen_dir / "model.safetensors"))
    assert weights and not [k for k in weights if k.startswith(("speech_encoder.", "music_encoder."))]
    assert {k.split(".")[0] for k in weights} == {"speech_head", "music_head", "classifier", "va_head"}
    assert (frozen_dir / "model.safetensors").stat().st_size < 3_000_000
    config = json.loads((frozen_dir / "config.json").read_text())
    assert (config["speech_backbone"], config["music_backbone"]) == ("whisper", "musicnn")
    assert config["pretrained"] == {
        "sample_rate": 16000,
        "whisper_layer": 2,
        "musicnn_models": ["MSD_musicnn"],
        "musicnn_patch_hop_seconds": 12.0,
        "musicnn_outputs": ["logits", "penultimate"],
        "music_statistics": "mean_std",
    }


def test_weights_that_do_not_fit_are_refused(frozen_dir: Path, tmp_path: Path):
    network = build_network(PRETRAINED)
    state = load_file(str(frozen_dir / "model.safetensors"))
    state.pop("classifier.weight")
    with pytest.raises(ValueError, match=re.escape("missing ['classifier.weight']")):
        network.load_trained_state_dict(state)
    state = load_file(str(frozen_dir / "model.safetensors")) | {"extra.weight": torch.zeros(1)}
    with pytest.raises(ValueError, match=re.escape("unexpected ['extra.weight']")):
        network.load_trained_state_dict(state)


def test_speech_features_are_whisper_layer_statistics(frozen_dir: Path):
    model = load_model(frozen_dir)
    samples = chord(4.0, 16000, seed=3)
    wave = model.speech_input(samples, 16000)
    features = model.network.speech_encoder(wave)
    encoder = load_whisper_encoder(layers=2)
    hidden = encoder(WhisperFrontend()(wave), num_layers=2).hidden_states[2][0]  # (t, 384)
    expected = torch.cat([hidden.mean(0), hidden.std(0, unbiased=False)])
    torch.testing.assert_close(features[0], expected, atol=1e-4, rtol=1e-4)
    # The query vector is the heads' projection of exactly these features.
    analysis = model.embed_speech(samples, 16000)
    again = model.analyse_speech_features(features)
    np.testing.assert_allclose(analysis.vector, again.vector, atol=1e-5)
    assert abs(np.linalg.norm(analysis.vector) - 1) < 1e-5


def test_music_features_pool_musicnn_patches_over_the_whole_track(frozen_dir: Path):
    model = load_model(frozen_dir)
    samples = chord(40.0, 22050, channels=2, seed=5)
    wave = model.music_track_input(samples, 22050)
    assert wave.shape == (1, 40 * 16000)  # the whole track, at 16 kHz, mono
    features = model.network.music_encoder(wave)[0]
    tagger = load_musicnn("MSD_musicnn")
    patches = split_patches(MusicnnFrontend()(wave)[0], 187, 750)  # 3 s patches every 12 s
    assert patches.shape[0] == 4
    out = tagger(patches)
    parts = torch.cat([out.logits, out.penultimate], dim=1)
    expected = torch.cat([parts.mean(0), parts.std(0, unbiased=False)])
    torch.testing.assert_close(features, expected, atol=1e-4, rtol=1e-4)
    # Batches give what single tracks give; a short track is repeated into one patch.
    short = chord(2.0, 44100, seed=6)
    single = [model.embed_music(samples, 22050), model.embed_music(short, 44100)]
    batch = model.embed_music_batch([(samples, 22050), (short, 44100)])
    for one, many in zip(single, batch, strict=True):
        np.testing.assert_allclose(one.vector, many.vector, atol=1e-5)
        assert one.label in PRETRAINED.music_labels


def test_pretrained_config_checks_its_values():
    with pytest.raises(ValueError, match=re.escape("whisper_layer must be in 1..4")):
        PretrainedConfig(whisper_layer=5)
    with pytest.raises(ValueError, match="unknown music backbone 'wavenet'"):
        ModelConfig(music_backbone="wavenet")
    assert ModelConfig.from_dict(PRETRAINED.to_dict()) == PRETRAINED


def test_heads_train_on_two_corpora_reuse_cached_features_and_rank(small_corpus, tmp_path: Path):
    root, rows = small_corpus
    cache = tmp_path / "features"
    args = ["train", "--encoders", "pretrained", "--corpus", str(root), "--feature-cache", str(cache)]
    args += ["--epochs", "2", "--steps-per-epoch", "15", "--batch-size", "24", "--music-batch-size", "12"]
    runner = CliRunner()
    first = runner.invoke(main, [*args, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert len(list(cache.glob("*.pt"))) == 1
    second = runner.invoke(main, [*args, "--out", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    version = json.loads((tmp_path / "a" / "config.json").read_text())["version"]
    assert json.loads((tmp_path / "b" / "config.json").read_text())["version"] == version  # same seed, same model
    card = (tmp_path / "a" / "MODEL_CARD.md").read_text()
    assert "Whisper tiny.en" in card and "musicnn" in card and "--encoders pretrained" in card
    assert str(tmp_path) not in card
    # Through the inference path, train-split speech ranks train-split music better than chance.
    model = load_model(tmp_path / "a")
    speech = [r for r in rows if r.modality == "speech" and r.split == "train"]
    music = [r for r in rows if r.modality == "music" and r.split == "train"]
    from backend.core.audio import decode_audio

    queries = [
        model.embed_speech(decode_audio(root / r.path).samples, decode_audio(root / r.path).sample_rate) for r in speech
    ]
    tracks = [
        model.embed_music(decode_audio(root / r.path).samples, decode_audio(root / r.path).sample_rate) for r in music
    ]
    rankings = metrics.rank_by_cosine(np.array([q.vector for q in queries]), np.array([t.vector for t in tracks]))
    report = metrics.score_rankings([r.label for r in speech], [r.label for r in music], rankings)
    chance = metrics.chance_scores([r.label for r in speech], [r.label for r in music])
    assert report.overall["ndcg_at_5"] > chance["ndcg_at_5"] + 0.05


def test_several_corpora_need_pretrained_encoders(small_corpus, tmp_path: Path):
    root, _ = small_corpus
    result = CliRunner().invoke(main, ["train", "--corpus", str(root), "--corpus", str(root), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "only with --encoders pretrained" in result.output
