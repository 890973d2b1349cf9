"""musicnn port against the original implementation's outputs (tests/ml/fixtures/make_references.py).

References: musicnn 0.1.0's own TF1 graph (``musicnn/models.py``, ``define_model``) restored from
the packaged checkpoints and run by TensorFlow 2.21 (tf.compat.v1, tf-keras) on log-mel patches
computed by librosa 0.11 (``feature.melspectrogram``, reflect padding, float32: the extractor's
float16 cast is not reproduced), patches cut as the extractor cuts them. Tolerances: log-mel
(values up to ~6) within 1e-4; taggram within 1e-5; penultimate, mean_pool and max_pool within
2e-5 of their largest reference value (max_pool reaches ~60). Measured: about 1e-5 (log-mel),
1.5e-6 (taggram) and under 1.4e-5 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.pretrained.musicnn import Musicnn, MusicnnConfig, MusicnnFrontend, split_patches
from ml.pretrained.musicnn_bundle import load_musicnn, musicnn_tags
from tests.ml import signals
from tests.ml.pretrained.compare import assert_close, summary

CLIPS = ("music_3s", "music_10s", "music_10s_hop100", "music_loud_4s", "music_short_1_3s")
MODELS = ("MSD_musicnn", "MTT_musicnn")
OUTPUTS = ("taggram", "penultimate", "mean_pool", "max_pool")
LOG_MEL_TOLERANCE = 1e-4
TAGGRAM_TOLERANCE = 1e-5
RELATIVE_TOLERANCE = 2e-5


@pytest.fixture(scope="module")
def frontend() -> MusicnnFrontend:
    return MusicnnFrontend()


def test_mel_filters_match_librosa(frontend, musicnn_reference):
    assert_close(frontend.mel_filters.T, musicnn_reference["mel_filters"], max_abs=1e-6, what="mel filters")


@pytest.mark.parametrize("clip", CLIPS)
def test_generated_inputs_are_the_reference_inputs(clip, musicnn_clips, musicnn_reference):
    np.testing.assert_allclose(
        signals.fingerprint(musicnn_clips[clip]), musicnn_reference[f"{clip}__fingerprint"], rtol=1e-9
    )


@pytest.mark.parametrize("clip", CLIPS)
def test_frontend_matches_librosa(clip, frontend, musicnn_clips, musicnn_reference):
    wave = torch.from_numpy(musicnn_clips[clip])[None]
    with torch.inference_mode():
        log_mel = frontend(wave)[0].numpy()  # (frames, 96)
    assert log_mel.shape == (wave.shape[1] // 256 + 1, 96)
    if f"{clip}__log_mel__whole" in musicnn_reference:
        assert_close(
            log_mel, musicnn_reference[f"{clip}__log_mel__whole"], max_abs=LOG_MEL_TOLERANCE, what=f"{clip} log-mel"
        )
        return
    for key, values in summary(log_mel, time_axis=0).items():
        expected = musicnn_reference[f"{clip}__log_mel__{key}"]
        assert_close(values, expected, max_abs=LOG_MEL_TOLERANCE, what=f"{clip} log-mel {key}")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("clip", CLIPS)
def test_outputs_match_tensorflow(clip, model, frontend, musicnn_models, musicnn_clips, musicnn_reference):
    with torch.inference_mode():
        log_mel = frontend(torch.from_numpy(musicnn_clips[clip])[None])[0]
        patches = split_patches(log_mel, hop_frames=int(musicnn_reference[f"{clip}__hop"]))
        output = musicnn_models[model](patches)
    for name in OUTPUTS:
        expected = musicnn_reference[f"{clip}__{model}__{name}"]
        tolerance = TAGGRAM_TOLERANCE if name == "taggram" else RELATIVE_TOLERANCE * float(np.abs(expected).max())
        assert_close(getattr(output, name), expected, max_abs=tolerance, what=f"{model} {clip} {name}")


def test_penultimate_features_are_per_patch(frontend, musicnn_models, musicnn_clips):
    """musicnn's extractor returns the first patch's penultimate features for every patch; the port does not."""
    with torch.inference_mode():
        patches = split_patches(frontend(torch.from_numpy(musicnn_clips["music_10s"])[None])[0])
        output = musicnn_models["MSD_musicnn"](patches)
        one_by_one = [musicnn_models["MSD_musicnn"](patch[None]).penultimate[0] for patch in patches]
    assert patches.shape[0] == 3
    assert not torch.allclose(output.penultimate[0], output.penultimate[1], atol=1e-2)
    for row, single in zip(output.penultimate, one_by_one, strict=True):
        assert_close(row, single, max_abs=1e-4, what="penultimate of a patch in a batch")


def test_loud_input_stays_finite(frontend, musicnn_models):
    """Input far above full scale (int16-range samples): mel power past float16's 65504.

    musicnn's extractor casts the mel spectrogram to float16, which turns such values into inf.
    """
    wave = torch.from_numpy(signals.music(4.0, seed=5, loud=True))[None] * 300.0
    with torch.inference_mode():
        log_mel = frontend(wave)[0]
        output = musicnn_models["MTT_musicnn"](split_patches(log_mel))
    assert float((10**log_mel - 1).max()) / 10000 > 65504  # the mel power float16 cannot hold
    assert torch.isfinite(log_mel).all() and torch.isfinite(output.penultimate).all()


def test_split_patches_follows_the_extractor():
    log_mel = torch.arange(626 * 96, dtype=torch.float32).reshape(626, 96)
    patches = split_patches(log_mel, hop_frames=100)
    assert patches.shape == (5, 187, 96)
    for index, start in enumerate(range(0, 626 - 187 + 1, 100)):
        assert torch.equal(patches[index], log_mel[start : start + 187])
    assert split_patches(log_mel).shape == (3, 187, 96)  # 3 s hop; the last 65 frames are left out


def test_short_clip_is_repeated_to_one_patch():
    log_mel = torch.randn(82, 96)
    (patch,) = split_patches(log_mel)
    assert patch.shape == (187, 96)
    assert (
        torch.equal(patch[:82], log_mel)
        and torch.equal(patch[82:164], log_mel)
        and torch.equal(patch[164:], log_mel[:23])
    )
    assert split_patches(log_mel[:1]).shape == (1, 187, 96)


@pytest.mark.parametrize(
    ("frames", "hop", "message"),
    [(0, 187, "empty"), (100, 0, "hop_frames must be >= 1")],
)
def test_split_patches_refuses_bad_arguments(frames, hop, message):
    with pytest.raises(ValueError, match=message):
        split_patches(torch.zeros(frames, 96), hop_frames=hop)


def test_tags_come_from_the_package_configuration(musicnn_models):
    msd = musicnn_tags("MSD_musicnn")
    mtt = musicnn_tags("MTT_musicnn")
    assert len(msd) == len(mtt) == 50 and len(set(msd)) == 50
    assert {"happy", "sad", "Mellow", "chill", "party", "beautiful", "sexy", "catchy", "easy listening"} <= set(msd)
    assert {"slow", "fast", "soft", "loud", "quiet", "classical"} <= set(mtt)
    assert musicnn_models["MSD_musicnn"].config.tags == msd and musicnn_models["MTT_musicnn"].config.tags == mtt


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown musicnn model 'MSD_vgg'"):
        load_musicnn("MSD_vgg")


@pytest.mark.parametrize("shape", [(1, 187, 80), (187, 96), (1, 0, 96)])
def test_model_refuses_bad_patches(musicnn_models, shape):
    with pytest.raises(ValueError, match="patches"):
        musicnn_models["MSD_musicnn"](torch.zeros(shape))


def test_frontend_refuses_bad_input(frontend):
    with pytest.raises(ValueError, match="more than 256 samples"):
        frontend(torch.zeros(1, 256))
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        frontend(torch.zeros(16000))


def test_untrained_model_builds_from_its_config():
    config = MusicnnConfig(tags=("a", "b"))
    assert (config.frontend_channels, config.midend_channels) == (561, 753)
    output = Musicnn(config).eval()(torch.randn(2, 187, 96))
    assert output.taggram.shape == (2, 2) and output.penultimate.shape == (2, 200) and output.max_pool.shape == (2, 753)
    with pytest.raises(ValueError, match="at least one tag"):
        MusicnnConfig(tags=())


def test_pooling_before_the_norm_gives_the_literal_graph_order(musicnn_models):
    """Eval mode pools the raw conv output first (negated filters where gamma < 0).

    Same values as the TF graph's literal conv -> ReLU -> norm -> max over bins.
    """
    model = musicnn_models["MSD_musicnn"]
    x = model.input_norm(torch.randn(2, 187, 96, generator=torch.Generator().manual_seed(0)).unsqueeze(1) * 2 + 1)
    with torch.inference_mode():
        for branch in [*model.timbral, *model.temporal]:
            assert bool((branch.norm.weight < 0).any()) and bool((branch.norm.weight > 0).any())
            literal = branch.norm(
                torch.relu(branch.conv(torch.nn.functional.pad(x, (0, 0, *branch.time_padding))))
            ).amax(dim=3)
            assert_close(branch(x), literal, max_abs=1e-5 * float(literal.abs().max()), what="pooled-first branch")


def test_patches_per_pass_does_not_change_outputs(musicnn_models):
    model = musicnn_models["MTT_musicnn"]
    patches = torch.randn(5, 187, 96, generator=torch.Generator().manual_seed(1)) + 2
    with torch.inference_mode():
        chunked = model(patches)  # passes of 2, 2, 1
        model.patches_per_pass = 5
        try:
            whole = model(patches)
        finally:
            model.patches_per_pass = 2
    for name in OUTPUTS:
        assert_close(getattr(chunked, name), getattr(whole, name), max_abs=1e-4, what=name)
