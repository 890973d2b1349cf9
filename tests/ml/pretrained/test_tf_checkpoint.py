"""TensorFlow tensor-bundle reader: every variable of the packaged musicnn checkpoints, broken files."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from ml.pretrained.crc32c import crc32c, unmask
from ml.pretrained.musicnn import MusicnnConfig
from ml.pretrained.packages import musicnn_package_dir
from ml.pretrained.tf_checkpoint import read_tf_checkpoint

MODELS = ("MSD_musicnn", "MTT_musicnn")


def _bitwise_crc32c(data: bytes) -> int:
    """The textbook bit-at-a-time CRC-32C, independent of the table-driven one under test."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"123456789", 0xE3069283),
        (bytes(32), 0x8A9136AA),  # RFC 3720 B.4 test vectors
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (b"", 0),
    ],
)
def test_crc32c_known_values(data, expected):
    assert crc32c(data) == expected


def test_crc32c_of_long_inputs_matches_the_bitwise_definition():
    data = np.random.default_rng(1).integers(0, 256, 70_001, dtype=np.uint8).tobytes()  # the chunked path
    assert crc32c(data) == _bitwise_crc32c(data)


def test_unmask_inverts_leveldb_masking():
    for crc in (0, 1, 0xE3069283, 0xFFFFFFFF):
        assert unmask(_mask(crc)) == crc


def expected_model_shapes(config: MusicnnConfig) -> dict[str, tuple[int, ...]]:
    """The variables build_musicnn creates, by TF layer name, derived from the architecture."""
    shapes: dict[str, tuple[int, ...]] = {}
    convs = [
        (frames, bins, 1, config.timbral_filters)
        for frames, bins in zip([config.timbral_frames] * 2, config.timbral_bins, strict=True)
    ]
    convs += [(frames, 1, 1, config.temporal_filters) for frames in config.temporal_frames]
    convs += [(config.midend_frames, config.frontend_channels, 1, config.midend_filters)]
    convs += [(config.midend_frames, config.midend_filters, 1, config.midend_filters)] * 2
    norms = [1, *(kernel[-1] for kernel in convs), 2 * config.midend_channels, config.backend_units]
    for index, kernel in enumerate(convs):
        layer = "conv2d" if index == 0 else f"conv2d_{index}"
        shapes[f"{layer}/kernel"], shapes[f"{layer}/bias"] = kernel, (kernel[-1],)
    for index, width in enumerate(norms):
        layer = "batch_normalization" if index == 0 else f"batch_normalization_{index}"
        for name in ("gamma", "beta", "moving_mean", "moving_variance"):
            shapes[f"{layer}/{name}"] = (width,)
    dense = [(2 * config.midend_channels, config.backend_units), (config.backend_units, len(config.tags))]
    for index, kernel in enumerate(dense):
        layer = "dense" if index == 0 else f"dense_{index}"
        shapes[f"{layer}/kernel"], shapes[f"{layer}/bias"] = kernel, (kernel[-1],)
    shapes["beta1_power"] = shapes["beta2_power"] = ()
    return shapes


@pytest.mark.parametrize("model", MODELS)
def test_reads_every_variable_of_the_packaged_checkpoint(model):
    checkpoint = read_tf_checkpoint(musicnn_package_dir() / model)  # every tensor checksum-verified
    assert set(checkpoint.tensors) == set(checkpoint.entries) and len(checkpoint.tensors) == 150
    expected = expected_model_shapes(MusicnnConfig(tags=("tag",) * 50))
    model_variables = {name: tuple(t.shape) for name, t in checkpoint.tensors.items() if "/Adam" not in name}
    assert model_variables == expected
    # Adam keeps two slots per trainable variable (gamma, beta, kernel, bias), shaped like it.
    trainable = [name for name in expected if name.rsplit("/", 1)[-1] in ("gamma", "beta", "kernel", "bias")]
    slots = {name for name in checkpoint.tensors if "/Adam" in name}
    assert slots == {f"{name}/Adam{suffix}" for name in trainable for suffix in ("", "_1")}
    for name in trainable:
        assert checkpoint.tensors[f"{name}/Adam"].shape == checkpoint.tensors[name].shape
    assert set(checkpoint.stored_dtypes.values()) == {"float32"}
    variances = [t for name, t in checkpoint.tensors.items() if name.endswith("moving_variance")]
    assert all(bool((v > 0).all()) for v in variances)


def test_keep_skips_unselected_tensors():
    checkpoint = read_tf_checkpoint(
        musicnn_package_dir() / "MSD_musicnn", keep=lambda name: name.startswith("dense_1/")
    )
    assert set(checkpoint.tensors) == {
        "dense_1/kernel",
        "dense_1/bias",
        "dense_1/kernel/Adam",
        "dense_1/kernel/Adam_1",
        "dense_1/bias/Adam",
        "dense_1/bias/Adam_1",
    }
    assert len(checkpoint.entries) == 150


@pytest.fixture
def copied_checkpoint(tmp_path) -> Path:
    """A writable copy of MSD_musicnn's checkpoint files, prefix ``<tmp>/ckpt/``."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in (".index", ".data-00000-of-00001"):
        shutil.copy(musicnn_package_dir() / "MSD_musicnn" / name, folder / name)
    return folder


def _change(path: Path, position: int, value: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] = value
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("keep_bytes", [0, 10, 47, 2000, -1])
def test_truncated_index_is_a_clear_error(copied_checkpoint, keep_bytes):
    index = copied_checkpoint / ".index"
    data = index.read_bytes()
    index.write_bytes(data[:keep_bytes] if keep_bytes >= 0 else data[:-1])
    with pytest.raises(ValueError, match=r"\.index"):
        read_tf_checkpoint(copied_checkpoint)


def test_corrupt_index_block_fails_its_checksum(copied_checkpoint):
    index = copied_checkpoint / ".index"
    _change(index, 20, index.read_bytes()[20] ^ 0x01)  # inside the first data block's keys
    with pytest.raises(ValueError, match="checksum mismatch in data block 0"):
        read_tf_checkpoint(copied_checkpoint)


def _first_data_block(index: bytes) -> tuple[int, int]:
    """(offset, size) of the table's first data block: footer -> index block -> its first handle."""
    footer = index[-48:]
    position = 0
    for _ in range(2):  # skip the metaindex handle
        _, position = _varint(footer, position)
    index_offset, _ = _varint(footer, position)
    _shared, position = _varint(index, index_offset)
    unshared, position = _varint(index, position)
    _value_length, position = _varint(index, position)
    offset, position = _varint(index, position + unshared)
    size, _ = _varint(index, position)
    return offset, size


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def test_compressed_block_is_refused(copied_checkpoint):
    index = copied_checkpoint / ".index"
    data = bytearray(index.read_bytes())
    offset, size = _first_data_block(bytes(data))
    data[offset + size] = 1  # compression type: snappy, with a valid checksum over it
    data[offset + size + 1 : offset + size + 5] = struct.pack(
        "<I", _mask(crc32c(bytes(data[offset : offset + size + 1])))
    )
    index.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="data block 0 is compressed"):
        read_tf_checkpoint(copied_checkpoint)


def test_corrupt_tensor_fails_its_checksum(copied_checkpoint):
    data = copied_checkpoint / ".data-00000-of-00001"
    entry = read_tf_checkpoint(copied_checkpoint, keep=lambda name: False).entries["dense/kernel"]
    _change(data, entry.offset + 17, data.read_bytes()[entry.offset + 17] ^ 0x40)
    with pytest.raises(ValueError, match="checksum mismatch for tensor 'dense/kernel'"):
        read_tf_checkpoint(copied_checkpoint)
    read_tf_checkpoint(copied_checkpoint, verify_checksums=False)  # the check is what caught it


def test_truncated_shard_is_a_clear_error(copied_checkpoint):
    data = copied_checkpoint / ".data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"data-00000-of-00001: truncated"):
        read_tf_checkpoint(copied_checkpoint)


def test_missing_shard_is_named(copied_checkpoint):
    (copied_checkpoint / ".data-00000-of-00001").unlink()
    with pytest.raises(ValueError, match="missing data shard"):
        read_tf_checkpoint(copied_checkpoint)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a checkpoint at all", np.random.default_rng(2).integers(0, 256, 4096, dtype=np.uint8).tobytes()],
)
def test_foreign_index_is_refused(tmp_path, content):
    (tmp_path / "model.index").write_bytes(content)
    with pytest.raises(ValueError, match=r"model\.index"):
        read_tf_checkpoint(tmp_path / "model")


def test_missing_index_is_named(tmp_path):
    with pytest.raises(ValueError, match="no TensorFlow checkpoint index"):
        read_tf_checkpoint(tmp_path / "model")
