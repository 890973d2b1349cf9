"""Encoder pooling: statistics pooling by default, older model directories still load."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ml.model.config import ModelConfig, speech_encoder_config
from ml.model.encoders import AudioEncoder


@pytest.mark.parametrize(("pooling", "width"), [("cls", 1), ("cls_stats", 3)])
def test_pooling_sets_the_feature_size(pooling, width):
    config = dataclasses.replace(speech_encoder_config(), pooling=pooling)
    encoder = AudioEncoder(config).eval()
    with torch.no_grad():
        features = encoder(torch.randn(2, 16000))
    assert features.shape == (2, width * config.d_model) == (2, encoder.out_dim)


def test_config_without_pooling_is_an_older_cls_model():
    data = ModelConfig().to_dict()
    assert data["speech"]["pooling"] == "cls_stats"
    for key in ("speech", "music"):
        del data[key]["pooling"]
    restored = ModelConfig.from_dict(data)
    assert restored.speech.pooling == restored.music.pooling == "cls"


def test_unknown_pooling_is_refused():
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        dataclasses.replace(speech_encoder_config(), pooling="max")
