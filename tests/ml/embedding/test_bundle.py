import hashlib
import json

import numpy as np
import pytest

from backend.core.audio import SilentAudioError
from backend.core.domain.emotions import ALL_LABELS, MUSIC_LABELS, SPEECH_LABELS
from ml.embedding.bundle import MODEL_FILES, load_model, write_untrained_model
from tests.ml.conftest import chord


def test_untrained_model_dir_is_complete(untrained_dir):
    assert {p.name for p in untrained_dir.iterdir()} >= set(MODEL_FILES)
    config = json.loads((untrained_dir / "config.json").read_text())
    digest = hashlib.sha256((untrained_dir / "model.safetensors").read_bytes()).hexdigest()
    assert config["version"] == f"untrained-{digest[:8]}"
    labels = json.loads((untrained_dir / "labels.json").read_text())
    assert labels["sad"] == {"valence": 0.225, "arousal": 0.333}
    prototypes = json.loads((untrained_dir / "prototypes.json").read_text())
    assert set(prototypes) == set(MUSIC_LABELS)
    for vector in prototypes.values():
        assert len(vector) == 64
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert config["version"] in (untrained_dir / "MODEL_CARD.md").read_text()


def test_seed_decides_the_weights(tmp_path, untrained_dir):
    again = load_model(write_untrained_model(tmp_path / "same", seed=0))
    other = load_model(write_untrained_model(tmp_path / "other", seed=1))
    assert again.version == load_model(untrained_dir).version
    assert other.version != again.version


def _check_analysis(analysis, allowed):
    assert len(analysis.vector) == 64
    assert np.linalg.norm(analysis.vector) == pytest.approx(1.0, abs=1e-5)
    assert set(analysis.probabilities) == set(ALL_LABELS)
    assert sum(analysis.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert analysis.label in allowed
    assert all(analysis.probabilities[label] == 0.0 for label in ALL_LABELS if label not in allowed)
    assert 0.0 <= analysis.valence <= 1.0 and 0.0 <= analysis.arousal <= 1.0


def test_track_embedding_is_deterministic_across_loads(untrained, untrained_dir):
    track = chord(23.0, 44100, channels=2)
    first = untrained.embed_music(track, 44100)
    second = load_model(untrained_dir).embed_music(track, 44100)
    assert first.vector == second.vector
    assert first.extra["parts"] == 3  # crops at 0 s, 10 s and the last 10 s
    _check_analysis(first, MUSIC_LABELS)


@pytest.mark.parametrize(
    ("seconds", "rate", "channels"),
    [(0.05, 8000, 1), (1.5, 11025, 2), (12.0, 48000, 6), (4.0, 22050, 1)],
)
def test_any_rate_channels_and_length(untrained, seconds, rate, channels):
    clip = chord(seconds, rate, channels)
    _check_analysis(untrained.embed_music(clip, rate), MUSIC_LABELS)
    _check_analysis(untrained.embed_speech(clip, rate), SPEECH_LABELS)


def test_batch_matches_single_tracks(untrained):
    clips = [(chord(3.0, 16000, seed=1), 16000), (chord(15.0, 44100, 2, seed=2), 44100)]
    batch = untrained.embed_music_batch(clips)
    for (samples, rate), analysis in zip(clips, batch, strict=True):
        assert np.allclose(untrained.embed_music(samples, rate).vector, analysis.vector, atol=1e-5)
    assert untrained.embed_music_batch([]) == []


def test_clear_errors(untrained, tmp_path):
    with pytest.raises(SilentAudioError, match="silent"):
        untrained.embed_music(np.zeros(22050, dtype=np.float32), 22050)
    with pytest.raises(ValueError, match=r"shape \(frames,\)"):
        untrained.embed_speech(np.zeros((2, 2, 2), dtype=np.float32), 16000)
    with pytest.raises(ValueError, match="-5"):
        untrained.embed_speech(chord(1.0, 16000), -5)
    with pytest.raises(ValueError, match="non-finite"):
        untrained.embed_speech(np.full(1600, np.nan, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match="not a model directory"):
        load_model(tmp_path)
    with pytest.raises(ValueError, match="'tpu'"):
        load_model(tmp_path, device="tpu")


def test_bundled_model_loads_and_is_documented():
    from backend.core.config import DEFAULT_MODEL_DIR

    model = load_model(DEFAULT_MODEL_DIR)
    digest = hashlib.sha256((DEFAULT_MODEL_DIR / "model.safetensors").read_bytes()).hexdigest()
    assert model.version.endswith(digest[:8])
    assert sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir()) < 30 * 1024 * 1024
    card = (DEFAULT_MODEL_DIR / "MODEL_CARD.md").read_text()
    assert model.version in card and "| test |" in card and "s2m train --encoders pretrained --corpus" in card
    # The card reports the real-audio benchmark, per label, with the command that measured it.
    assert "## Real-audio benchmark" in card and "s2m evaluate --model workers/bundled_model --corpus" in card
    assert "| speech label | queries | MRR | P@5 | nDCG@5 |" in card and "| music top-1 accuracy |" in card
    assert (model.config.speech_backbone, model.config.music_backbone) == ("whisper", "musicnn")
    prototypes = json.loads((DEFAULT_MODEL_DIR / "prototypes.json").read_text())
    assert set(prototypes) == set(MUSIC_LABELS)
    _check_analysis(model.embed_music(chord(11.0, 44100, channels=2), 44100), MUSIC_LABELS)
