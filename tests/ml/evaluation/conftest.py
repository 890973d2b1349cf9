"""Synthesised audio trees shared by the evaluation tests (the untrained model_dir is tests/conftest.py's)."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .synth import MUSIC_RATE, SPEECH_RATE, tone, write_tree


@pytest.fixture
def query_tree(tmp_path) -> Path:
    root = write_tree(tmp_path / "queries", ["angry", "happy", "neutral", "sad"], 2, SPEECH_RATE, 1.5)
    (root / "happy" / "happy_0.txt").write_text("What a wonderful surprise, thank you!\n")
    # Any format soundfile reads: a stereo FLAC query.
    stereo = np.stack([tone(1.5, 44100, 300, 99), tone(1.5, 44100, 450, 98)], axis=1)
    sf.write(root / "sad" / "sad_stereo.flac", stereo, 44100)
    return root


@pytest.fixture
def catalogue_tree(tmp_path) -> Path:
    return write_tree(tmp_path / "catalogue", ["angry", "calm", "happy", "sad", "tender"], 2, MUSIC_RATE, 3.0)
