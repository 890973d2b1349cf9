"""Short training runs on the small generated corpus; the resulting model dirs must load and rank."""

from __future__ import annotations

import json
import subprocess
import sys
from math import comb
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.core.domain.emotions import MUSIC_LABELS, is_match
from ml.embedding.bundle import load_model
from ml.model.config import AudioEncoderConfig, FrontendConfig
from ml.training.card import training_command
from ml.training.trainer import TrainConfig, Trainer, train_model
from tests.ml.conftest import chord

REPO_ROOT = Path(__file__).resolve().parents[3]
# A narrow network and two tiny steps: enough to check the pipeline of each method.
SMALL_ENCODER = {"channels": (8, 16, 16), "d_model": 32, "n_layers": 1, "n_heads": 2}
TINY = {
    "steps_per_epoch": 2,
    "batch_size": 4,
    "music_batch_size": 4,
    "warmup_steps": 1,
    "speech": AudioEncoderConfig(FrontendConfig(16000, 512, 160, 64), **SMALL_ENCODER),
    "music": AudioEncoderConfig(FrontendConfig(22050, 1024, 512, 128), **SMALL_ENCODER),
}


@pytest.fixture(scope="session")
def corpus(small_corpus) -> Path:
    return small_corpus[0]


def chance_mrr(query_labels, catalogue_labels) -> float:
    """Expected MRR of a uniformly random ranking."""
    n = len(catalogue_labels)
    total = 0.0
    for query in query_labels:
        r = sum(is_match(query, label) for label in catalogue_labels)
        total += sum(comb(n - k, r - 1) / comb(n, r) / k for k in range(1, n - r + 2))
    return total / len(query_labels)


def test_loss_falls_and_train_retrieval_beats_chance(corpus):
    config = TrainConfig(
        epochs=4,
        steps_per_epoch=15,
        batch_size=16,
        music_batch_size=8,
        warmup_steps=2,
        learning_rate=3e-3,
        augment=False,
        speech_seconds=(1.5, 2.5),
    )
    trainer = Trainer(corpus, config, {"speech": TINY["speech"], "music": TINY["music"]}, progress=False)
    result = trainer.fit()
    method_loss = [h["triplet"] + h["emosim"] for h in result["history"]]
    assert min(method_loss[1:]) < method_loss[0]
    report = trainer.evaluate("train")
    speech, music = trainer.clips["speech", "train"], trainer.clips["music", "train"]
    chance = chance_mrr([c.label for c in speech], [c.label for c in music])
    assert report.overall["mrr"] > chance + 0.15


def test_cli_training_is_deterministic_and_loadable(corpus, tmp_path):
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}
    command = [
        sys.executable,
        "-m",
        "s2m.cli",
        "train",
        "--corpus",
        str(corpus),
        "--out",
        str(tmp_path / "cli"),
        "--seed",
        "3",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "4",
        "--music-batch-size",
        "4",
        "--threads",
        "1",
        "--nearest-positive",
        "--learning-rate",
        "0.001",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "epoch 1/1" in done.stderr  # tqdm progress bar
    again = train_model(
        corpus,
        tmp_path / "api",
        seed=3,
        epochs=1,
        progress=False,
        steps_per_epoch=2,
        batch_size=4,
        music_batch_size=4,
        nearest_positive=True,
        learning_rate=0.001,
    )
    first, second = load_model(tmp_path / "cli"), load_model(again)
    assert first.version == second.version and first.version.startswith("s2m-emosim-audio-")
    prototypes = json.loads((again / "prototypes.json").read_text())
    assert set(prototypes) == set(MUSIC_LABELS)
    card = (again / "MODEL_CARD.md").read_text()
    assert first.version in card and "--seed 3" in card and "| test |" in card
    assert "--nearest-positive" in card and "most similar matching music mood" in card
    track = chord(12.0, 44100, channels=2)
    assert first.embed_music(track, 44100).vector == second.embed_music(track, 44100).vector


def test_classify_baseline_on_transcripts(corpus, tmp_path):
    model = load_model(
        train_model(corpus, tmp_path / "m", method="classify", modality="text", epochs=1, progress=False, **TINY)
    )
    assert model.config.method == "classify"
    track = model.embed_music(chord(5.0, 22050), 22050)
    probs = np.array([track.probabilities[label] for label in model.labels])
    assert np.allclose(track.vector[: len(probs)], np.sqrt(probs), atol=1e-5)
    query = model.embed_speech(chord(2.0, 16000), 16000, transcript="Leave me alone, I am furious.")
    assert sorted(query.vector, reverse=True)[:2] == [1.0, 0.0]  # one-hot on the matching music label
    with pytest.raises(ValueError, match="transcript is required"):
        model.embed_speech(chord(2.0, 16000), 16000, transcript="  ")


def test_fusion_regress_model_uses_the_transcript(corpus, tmp_path):
    model = load_model(
        train_model(
            corpus,
            tmp_path / "m",
            method="regress",
            modality="fusion",
            epochs=1,
            progress=False,
            word_branch=True,
            **TINY,
        )
    )
    assert model.config.word_branch and hasattr(model.network, "word_head")
    speech = chord(2.0, 16000)
    with_text = model.embed_speech(speech, 16000, transcript="I am so happy today")
    without = model.embed_speech(speech, 16000)
    assert with_text.valence != without.valence
    assert np.linalg.norm(with_text.vector) == pytest.approx(1.0, abs=1e-5)


def test_local_wav2vec2_backbone(corpus, tmp_path):
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    tiny = Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16, 16),
        conv_kernel=(10, 8, 4),
        conv_stride=(10, 8, 4),
        num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2,
    )
    torch.manual_seed(0)
    Wav2Vec2Model(tiny).save_pretrained(tmp_path / "w2v")
    out = train_model(corpus, tmp_path / "m", epochs=1, progress=False, wav2vec2_dir=str(tmp_path / "w2v"), **TINY)
    model = load_model(out)
    assert model.config.speech_backbone == "wav2vec2"
    assert model.config.wav2vec2["hidden_size"] == 32
    analysis = model.embed_speech(chord(1.0, 44100, channels=2), 44100)
    assert np.linalg.norm(analysis.vector) == pytest.approx(1.0, abs=1e-5)


def test_bad_arguments_name_the_value(corpus, tmp_path):
    with pytest.raises(ValueError, match="'bogus'"):
        train_model(corpus, tmp_path / "m", method="bogus", progress=False)
    with pytest.raises(ValueError, match="'speech'"):
        train_model(corpus, tmp_path / "m", modality="speech", progress=False)
    with pytest.raises(ValueError, match="'learning_rat'"):
        train_model(corpus, tmp_path / "m", learning_rat=0.1, progress=False)
    with pytest.raises(ValueError, match=r"no manifest.csv"):
        train_model(tmp_path, tmp_path / "m", progress=False)
    with pytest.raises(ValueError, match="not a saved wav2vec2"):
        train_model(corpus, tmp_path / "m", wav2vec2_dir=str(tmp_path), progress=False)


def test_cli_reports_bad_input(tmp_path):
    from click.testing import CliRunner

    from s2m.cli import main

    result = CliRunner().invoke(main, ["train", "--corpus", str(tmp_path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "no manifest.csv" in result.output
    result = CliRunner().invoke(
        main, ["train", "--corpus", str(tmp_path), "--out", str(tmp_path / "m"), "--method", "nope"]
    )
    assert result.exit_code == 2 and "'nope'" in result.output


def test_card_command_spells_cli_options_as_flags():
    config = TrainConfig(seed=3, epochs=2, threads=2, augment=False, nearest_positive=True)
    command = training_command(
        Path("corpus"),
        Path("out"),
        config,
        {
            "threads": 2,
            "augment": False,
            "nearest_positive": True,
            "steps_per_epoch": 5,
            "learning_rate": 0.0005,
            "warmup_steps": 1,
        },
    )
    assert command == (
        "s2m train --corpus corpus --out out --method emosim --modality audio --seed 3 --epochs 2"
        " --no-augment --learning-rate 0.0005 --nearest-positive --steps-per-epoch 5 --threads 2"
        "  # plus train_model(warmup_steps=1)"
    )


def test_init_fine_tunes_an_existing_model(corpus, tmp_path):
    options = {"steps_per_epoch": 2, "batch_size": 4, "music_batch_size": 4, "progress": False}
    start = train_model(corpus, tmp_path / "start", seed=0, epochs=1, **options)
    tuned = train_model(corpus, tmp_path / "tuned", seed=1, epochs=1, init_dir=str(start), **options)
    start_model, tuned_model = load_model(start), load_model(tuned)
    assert tuned_model.version != start_model.version
    assert f"Started from the weights of {start_model.version}" in (tuned / "MODEL_CARD.md").read_text()
    with pytest.raises(ValueError, match="method emosim, modality audio; train it with --method emosim"):
        train_model(corpus, tmp_path / "wrong", method="triplet", epochs=1, init_dir=str(start), **options)
