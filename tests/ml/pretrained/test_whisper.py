"""Whisper port against the original implementations' outputs (tests/ml/fixtures/make_references.py).

References: transformers' WhisperFeatureExtractor (padding="longest": the real length) for the
log-mel, CTranslate2 4.8.5 (``models.Whisper(...).encode`` with compute_type float32, which
upcasts the same float16 weights) for the encoder output, librosa for the mel filters.
Tolerances: log-mel (values in [-1.5, 1.5]) within 1e-4; encoder output (values up to ~15)
within 2e-4 max-abs and cosine >= 0.99999 at every position. Measured: about 4e-5 and 3e-5.
CTranslate2 only exposes the final output; it depends on every layer, so matching it checks
each layer (hidden layer 2, which the emotion model pools, is checked to be the same tensor
in a truncated and the full encoder).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.pretrained.whisper import WhisperEncoder, WhisperEncoderConfig, WhisperFrontend, sinusoidal_position_encodings
from ml.pretrained.whisper_bundle import load_whisper_encoder
from tests.ml import signals
from tests.ml.pretrained.compare import assert_close, summary

CLIPS = ("chirp_1s", "espeak", "voiced_7_77s", "noise_30s")
MEL_TOLERANCE = 1e-4
ENCODER_TOLERANCE = 2e-4
MIN_COSINE = 0.99999


@pytest.fixture(scope="module")
def frontend() -> WhisperFrontend:
    return WhisperFrontend()


def test_mel_filters_match_librosa(frontend, whisper_reference):
    assert_close(frontend.mel_filters, whisper_reference["mel_filters"], max_abs=1e-6, what="mel filters")


@pytest.mark.parametrize("clip", CLIPS)
def test_generated_inputs_are_the_reference_inputs(clip, whisper_clips, whisper_reference):
    np.testing.assert_allclose(
        signals.fingerprint(whisper_clips[clip]), whisper_reference[f"{clip}__fingerprint"], rtol=1e-9
    )


@pytest.mark.parametrize("clip", CLIPS)
def test_frontend_matches_whisper_feature_extractor(clip, frontend, whisper_clips, whisper_reference):
    wave = torch.from_numpy(whisper_clips[clip])[None]
    with torch.inference_mode():
        mel = frontend(wave)[0].numpy()  # (80, frames)
    assert mel.shape == (80, wave.shape[1] // 160) == (80, int(whisper_reference[f"{clip}__frames"]))
    if f"{clip}__mel__whole" in whisper_reference:
        assert_close(mel, whisper_reference[f"{clip}__mel__whole"], max_abs=MEL_TOLERANCE, what=f"{clip} log-mel")
        return
    for key, values in summary(mel, time_axis=1).items():
        assert_close(
            values, whisper_reference[f"{clip}__mel__{key}"], max_abs=MEL_TOLERANCE, what=f"{clip} log-mel {key}"
        )


@pytest.mark.parametrize("clip", CLIPS)
def test_frontend_and_encoder_match_ctranslate2(clip, frontend, whisper_encoder, whisper_clips, whisper_reference):
    with torch.inference_mode():
        encoded = whisper_encoder(frontend(torch.from_numpy(whisper_clips[clip])[None])).last_hidden_state[0].numpy()
    if f"{clip}__encoded__whole" in whisper_reference:
        expected = whisper_reference[f"{clip}__encoded__whole"]
        assert_close(encoded, expected, max_abs=ENCODER_TOLERANCE, min_cosine=MIN_COSINE, what=f"{clip} encoder output")
        return
    positions = (int(whisper_reference[f"{clip}__frames"]) + 1) // 2
    assert encoded.shape == (positions, 384)
    for key, values in summary(encoded, time_axis=0).items():
        expected = whisper_reference[f"{clip}__encoded__{key}"]
        cosine = MIN_COSINE if key != "std" else None
        assert_close(values, expected, max_abs=ENCODER_TOLERANCE, min_cosine=cosine, what=f"{clip} encoder {key}")


def test_encoder_alone_matches_ctranslate2_on_the_reference_log_mel(whisper_encoder, whisper_reference):
    mel = torch.from_numpy(whisper_reference["chirp_1s__mel__whole"])[None]
    with torch.inference_mode():
        encoded = whisper_encoder(mel).last_hidden_state[0].numpy()
    expected = whisper_reference["chirp_1s__encoded__whole"]
    assert_close(encoded, expected, max_abs=ENCODER_TOLERANCE, min_cosine=MIN_COSINE, what="encoder output")


def test_truncated_encoder_keeps_only_what_it_runs(whisper_encoder):
    truncated = load_whisper_encoder(layers=2)
    assert truncated.config.layers == 2 and len(truncated.layers) == 2 and truncated.layer_norm is None
    assert not any(name.startswith(("layers.2", "layers.3", "layer_norm")) for name in truncated.state_dict())
    full_parameters = sum(p.numel() for p in whisper_encoder.parameters())
    per_layer = sum(p.numel() for p in whisper_encoder.layers[0].parameters())
    assert sum(p.numel() for p in truncated.parameters()) == full_parameters - 2 * per_layer - 2 * 384
    mel = WhisperFrontend()(torch.from_numpy(signals.voiced_tones(3.0, seed=9))[None])
    with torch.inference_mode():
        short = truncated(mel)
        stopped = whisper_encoder(mel, num_layers=2)
        full = whisper_encoder(mel)
    assert short.last_hidden_state is None and stopped.last_hidden_state is None
    assert len(short.hidden_states) == len(stopped.hidden_states) == 3 and len(full.hidden_states) == 5
    for index in range(3):
        assert torch.equal(short.hidden_states[index], full.hidden_states[index])
        assert torch.equal(stopped.hidden_states[index], full.hidden_states[index])
    assert full.last_hidden_state is not None and not torch.equal(full.last_hidden_state, full.hidden_states[4])


@pytest.mark.parametrize("frames", [1, 2, 3, 100, 777, 1001, 2999, 3000])
def test_encoder_takes_any_length_up_to_30_seconds(whisper_encoder, frames):
    mel = torch.randn(1, 80, frames, generator=torch.Generator().manual_seed(frames)) * 0.3
    with torch.inference_mode():
        output = whisper_encoder(mel)
    assert output.last_hidden_state.shape == (1, (frames + 1) // 2, 384)
    assert torch.isfinite(output.last_hidden_state).all()


@pytest.mark.parametrize("seconds", [1.0, 2.5, 12.345, 30.0])
def test_frontend_takes_1_to_30_seconds(frontend, seconds):
    wave = torch.from_numpy(signals.voiced_tones(seconds, seed=3))[None]
    assert frontend(wave).shape == (1, 80, wave.shape[1] // 160)


def test_a_batch_gives_each_clip_its_own_result(frontend, whisper_encoder):
    """Same-length clips batch exactly: the log-mel floor is per clip, as Whisper sees one clip."""
    clips = torch.stack(
        [torch.from_numpy(signals.voiced_tones(2.0, seed=5)), 0.01 * torch.from_numpy(signals.chirp(2.0))]
    )
    with torch.inference_mode():
        together = whisper_encoder(frontend(clips)).last_hidden_state
        alone = [whisper_encoder(frontend(clip[None])).last_hidden_state[0] for clip in clips]
    for row, single in zip(together, alone, strict=True):
        assert_close(row, single, max_abs=1e-4, min_cosine=MIN_COSINE, what="batched clip")


@pytest.mark.parametrize(
    ("shape", "message"),
    [((1, 480_001), "480000 samples"), ((1, 200), "201 to 480000"), ((480_00,), r"\(batch, samples\)")],
)
def test_frontend_refuses_bad_input(frontend, shape, message):
    with pytest.raises(ValueError, match=message):
        frontend(torch.zeros(shape))


@pytest.mark.parametrize(
    ("shape", "num_layers", "message"),
    [
        ((1, 80, 3001), None, "1 to 3000 frames, got 3001"),
        ((1, 64, 100), None, r"\(batch, 80, frames\)"),
        ((80, 100), None, r"\(batch, 80, frames\)"),
        ((1, 80, 100), 5, "num_layers must be in 0..4, got 5"),
    ],
)
def test_encoder_refuses_bad_input(whisper_encoder, shape, num_layers, message):
    with pytest.raises(ValueError, match=message):
        whisper_encoder(torch.zeros(shape), num_layers=num_layers)


@pytest.mark.parametrize("layers", [0, 5])
def test_loader_refuses_layer_counts_the_model_lacks(layers):
    with pytest.raises(ValueError, match=f"layers must be in 1..4 .*got {layers}"):
        load_whisper_encoder(layers=layers)


def test_config_refuses_bad_sizes():
    with pytest.raises(ValueError, match="width 384 does not divide into 5 heads"):
        WhisperEncoderConfig(heads=5)
    with pytest.raises(ValueError, match="layers must be >= 1"):
        WhisperEncoderConfig(layers=0)


def test_untrained_encoder_uses_whisper_sinusoids():
    encoder = WhisperEncoder(WhisperEncoderConfig(layers=1))
    assert torch.equal(encoder.position_encodings, sinusoidal_position_encodings(1500, 384))
    assert encoder.position_encodings[0, :192].abs().max() == 0 and encoder.position_encodings[0, 192:].min() == 1
