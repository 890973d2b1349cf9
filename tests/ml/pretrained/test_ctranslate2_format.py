"""CTranslate2 model.bin reader: the packaged Whisper tiny.en file, a hand-built file, broken files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.pretrained.ctranslate2_format import read_ctranslate2_model
from ml.pretrained.packages import whisper_model_dir

ENCODER_LAYER_SHAPES = {
    "self_attention/layer_norm/gamma": (384,),
    "self_attention/layer_norm/beta": (384,),
    "self_attention/linear_0/weight": (1152, 384),
    "self_attention/linear_0/bias": (1152,),
    "self_attention/linear_1/weight": (384, 384),
    "self_attention/linear_1/bias": (384,),
    "ffn/layer_norm/gamma": (384,),
    "ffn/layer_norm/beta": (384,),
    "ffn/linear_0/weight": (1536, 384),
    "ffn/linear_0/bias": (1536,),
    "ffn/linear_1/weight": (384, 1536),
    "ffn/linear_1/bias": (384,),
}


@pytest.fixture(scope="module")
def packaged():
    return read_ctranslate2_model(whisper_model_dir())


def test_packaged_whisper_has_all_148_variables(packaged):
    assert (packaged.binary_version, packaged.spec_name, packaged.spec_revision) == (6, "WhisperSpec", 3)
    stored = set(packaged.tensors) | set(packaged.scalars)
    assert len(stored - set(packaged.aliases)) == 148
    assert packaged.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert packaged.tensors["decoder/projection/weight"] is packaged.tensors["decoder/embeddings/weight"]


def test_packaged_whisper_encoder_shapes_and_dtypes(packaged):
    expected = {
        "encoder/conv1/weight": (384, 80, 3),
        "encoder/conv1/bias": (384,),
        "encoder/conv2/weight": (384, 384, 3),
        "encoder/conv2/bias": (384,),
        "encoder/position_encodings/encodings": (1500, 384),
        "encoder/layer_norm/gamma": (384,),
        "encoder/layer_norm/beta": (384,),
    }
    for layer in range(4):
        expected.update({f"encoder/layer_{layer}/{name}": shape for name, shape in ENCODER_LAYER_SHAPES.items()})
    encoder = {name: tuple(t.shape) for name, t in packaged.tensors.items() if name.startswith("encoder/")}
    assert encoder == expected
    assert packaged.scalars["encoder/num_heads"] == 6
    assert {packaged.stored_dtypes[name] for name in expected} == {"float16"}
    assert all(packaged.tensors[name].dtype == torch.float32 for name in expected)
    # Without position encodings, the encoder has the 7.6 M parameters Whisper tiny's has.
    parameters = sum(packaged.tensors[name].numel() for name in expected if "position" not in name)
    assert 7.5e6 < parameters < 7.7e6
    # fp16 -> fp32 is exact: every value is still representable in float16.
    weight = packaged.tensors["encoder/conv1/weight"]
    assert torch.equal(weight.half().float(), weight)


def test_stored_position_encodings_are_whisper_sinusoids(packaged):
    from ml.pretrained.whisper import sinusoidal_position_encodings

    stored = packaged.tensors["encoder/position_encodings/encodings"]
    assert torch.allclose(stored, sinusoidal_position_encodings(1500, 384).half().float(), atol=1e-3)


def test_keep_reads_only_the_selected_variables():
    model = read_ctranslate2_model(whisper_model_dir(), keep=lambda name: name.startswith("encoder/layer_0/"))
    assert set(model.tensors) == {f"encoder/layer_0/{name}" for name in ENCODER_LAYER_SHAPES}
    assert model.scalars == {} and model.aliases == {}


# --- a hand-built file, written by this test in the format CTranslate2's model_spec.py writes ---


def _string(text: str) -> bytes:
    raw = text.encode("utf-8") + b"\0"
    return struct.pack("<H", len(raw)) + raw


def _variable(name: str, array: np.ndarray, code: int) -> bytes:
    data = array.tobytes()
    return (
        _string(name)
        + struct.pack("<B", array.ndim)
        + struct.pack(f"<{array.ndim}I", *array.shape)
        + struct.pack("<BI", code, len(data))
        + data
    )


def _bfloat16_bytes(values: np.ndarray) -> np.ndarray:
    """bfloat16 = the top half of float32 (the values below are exact in bfloat16)."""
    return (values.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)


WEIGHT = np.arange(6, dtype=np.float16).reshape(2, 3) / 4
BIAS = np.array([0.5, -1.25, 3.0], dtype=np.float32)
SMALL_INTS = np.array([-3, 0, 7, 127], dtype=np.int8)
HALVES = np.array([1.5, -2.0], dtype=np.float32)


def write_small_model(path: Path) -> Path:
    body = struct.pack("<I", 6) + _string("TestSpec") + struct.pack("<I", 2)
    variables = [
        _variable("a/bias", BIAS, 0),
        _variable("a/weight", WEIGHT, 4),
        _variable("b/halves", _bfloat16_bytes(HALVES), 5),
        _variable("b/num_heads", np.array(6, dtype=np.int16), 2),
        _variable("c/ints", SMALL_INTS, 1),
    ]
    body += struct.pack("<I", len(variables)) + b"".join(variables)
    body += struct.pack("<I", 1) + _string("d/weight") + _string("a/weight")
    path.write_bytes(body)
    return path


def test_reads_a_hand_built_file(tmp_path):
    model = read_ctranslate2_model(write_small_model(tmp_path / "model.bin"))
    assert (model.binary_version, model.spec_name, model.spec_revision) == (6, "TestSpec", 2)
    assert torch.equal(model.tensors["a/weight"], torch.from_numpy(WEIGHT.astype(np.float32)))
    assert torch.equal(model.tensors["a/bias"], torch.from_numpy(BIAS))
    assert torch.equal(model.tensors["b/halves"], torch.from_numpy(HALVES))
    assert model.tensors["c/ints"].dtype == torch.int8
    assert model.tensors["c/ints"].tolist() == SMALL_INTS.tolist()
    assert model.scalars == {"b/num_heads": 6}
    assert model.tensors["d/weight"] is model.tensors["a/weight"]
    assert model.stored_dtypes == {
        "a/bias": "float32",
        "a/weight": "float16",
        "b/halves": "bfloat16",
        "b/num_heads": "int16",
        "c/ints": "int8",
        "d/weight": "float16",
    }


def test_every_truncation_is_a_clear_error(tmp_path):
    whole = write_small_model(tmp_path / "whole.bin").read_bytes()
    cut = tmp_path / "cut.bin"
    for length in range(len(whole)):
        cut.write_bytes(whole[:length])
        with pytest.raises(ValueError, match=r"cut\.bin"):
            read_ctranslate2_model(cut)


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.5, 0.999])
def test_truncated_packaged_file_is_a_clear_error(tmp_path, fraction):
    source = whisper_model_dir() / "model.bin"
    size = source.stat().st_size
    cut = tmp_path / "model.bin"
    with source.open("rb") as stream:
        cut.write_bytes(stream.read(int(size * fraction)))
    with pytest.raises(ValueError, match=r"model\.bin"):
        read_ctranslate2_model(tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        b"PK\x03\x04" + bytes(200),  # a zip file
        b'{"architectures": ["WhisperForConditionalGeneration"]}',  # a JSON config
        np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        struct.pack("<I", 6) + struct.pack("<H", 4) + b"abcd",  # a name without its NUL
    ],
)
def test_foreign_files_are_refused(tmp_path, content):
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"model\.bin"):
        read_ctranslate2_model(path)


def test_trailing_bytes_are_refused(tmp_path):
    path = write_small_model(tmp_path / "model.bin")
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ValueError, match="unexpected bytes"):
        read_ctranslate2_model(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="no CTranslate2 model file"):
        read_ctranslate2_model(tmp_path / "nowhere")
