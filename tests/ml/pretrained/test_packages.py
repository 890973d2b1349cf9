"""Pretrained weights load from installed packages only: no network, no TensorFlow, no musicnn import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ml.pretrained.musicnn_bundle import load_musicnn
from ml.pretrained.packages import musicnn_package_dir, whisper_model_dir
from ml.pretrained.whisper_bundle import load_whisper_encoder

ROOT = Path(__file__).resolve().parents[3]


def test_network_is_really_refused_here(no_network):
    import socket

    with pytest.raises(OSError, match="network access attempted"):
        socket.create_connection(("pypi.org", 443), timeout=1)


def test_whisper_encoder_loads_offline(no_network):
    encoder = load_whisper_encoder()
    assert not encoder.training and encoder.config.layers == 4
    with torch.inference_mode():
        assert encoder(torch.zeros(1, 80, 100)).last_hidden_state.shape == (1, 50, 384)


@pytest.mark.parametrize("name", ["MSD_musicnn", "MTT_musicnn"])
def test_musicnn_loads_offline(no_network, name):
    model = load_musicnn(name)
    assert not model.training and len(model.config.tags) == 50


def test_package_folders_hold_the_weights():
    assert (whisper_model_dir() / "model.bin").stat().st_size > 70_000_000
    for name in ("MSD_musicnn", "MTT_musicnn"):
        assert (musicnn_package_dir() / name / ".index").is_file()
        assert (musicnn_package_dir() / name / ".data-00000-of-00001").is_file()


def test_loading_imports_neither_musicnn_nor_tensorflow():
    """In a fresh interpreter: musicnn's package is found, not imported (its extractor imports TensorFlow)."""
    code = (
        "import sys\n"
        "from ml.pretrained.musicnn_bundle import load_musicnn\n"
        "from ml.pretrained.whisper_bundle import load_whisper_encoder\n"
        "load_musicnn('MSD_musicnn'); load_whisper_encoder(layers=2)\n"
        "roots = ('musicnn', 'tensorflow', 'ctranslate2', 'librosa')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in roots))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    assert result.stdout.strip() == "[]"


def test_folders_without_weights_are_named(tmp_path):
    with pytest.raises(ValueError, match="no TensorFlow checkpoint index"):
        load_musicnn("MSD_musicnn", package_dir=tmp_path)
    with pytest.raises(ValueError, match="no CTranslate2 model file"):
        load_whisper_encoder(model_dir=tmp_path)
