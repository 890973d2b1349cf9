"""Reader for TensorFlow checkpoints in the tensor-bundle format (TF 1.x ``Saver`` / TF 2 ``tf.train``).

A checkpoint with prefix P is ``P.index`` plus data shards ``P.data-00000-of-0000N``:

* ``P.index`` is a LevelDB table (SSTable). Its last 48 bytes are the footer: the block handles
  (varint offset, varint size) of the metaindex and index blocks, zero padding to 40 bytes, and
  the magic number. The index block maps separator keys to the handles of the data blocks. Each
  block is followed by a compression byte (0: none) and the masked CRC-32C of block + that byte.
  A block holds prefix-compressed entries (varint shared key length, varint unshared length,
  varint value length, unshared key bytes, value), then uint32 restart offsets and their count.
* The entry with the empty key is a ``BundleHeaderProto`` (num_shards = 1, endianness = 2);
  every other key is a tensor name whose value is a ``BundleEntryProto`` (dtype = 1, shape = 2,
  shard_id = 3, offset = 4, size = 5, crc32c = 6 (masked, fixed32), slices = 7), as in
  TensorFlow's ``tensor_bundle.proto``. Those few protobuf fields are decoded by hand here.
* The tensor's bytes are ``size`` bytes at ``offset`` of shard ``shard_id``, little-endian, C order.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ml.pretrained.crc32c import crc32c, unmask

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
BLOCK_TRAILER_BYTES = 5

# TensorFlow DataType enum values (types.proto) -> torch dtype. Strings and the rest are not read.
TF_DTYPES: dict[int, tuple[str, torch.dtype]] = {
    1: ("float32", torch.float32),
    2: ("float64", torch.float64),
    3: ("int32", torch.int32),
    4: ("uint8", torch.uint8),
    5: ("int16", torch.int16),
    6: ("int8", torch.int8),
    9: ("int64", torch.int64),
    10: ("bool", torch.bool),
    14: ("bfloat16", torch.bfloat16),
    19: ("float16", torch.float16),
}


@dataclass
class BundleEntry:
    """Where one tensor lives in the data shards (a decoded ``BundleEntryProto``)."""

    dtype: int  # TensorFlow DataType enum value
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int  # bytes
    crc32c: int  # masked CRC-32C of the tensor's bytes, as stored
    sliced: bool  # a partitioned variable, stored as slices under other keys


@dataclass
class TFCheckpoint:
    """Tensors of one checkpoint: floating-point ones as float32, integer/bool ones in their own dtype.

    ``entries`` describes every tensor of the bundle, including those ``keep`` did not select.
    """

    prefix: str
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    entries: dict[str, BundleEntry] = field(default_factory=dict)
    stored_dtypes: dict[str, str] = field(default_factory=dict)


def checkpoint_prefix(path: str | Path) -> str:
    """The prefix of a checkpoint given its prefix, its ``.index`` file, or a folder whose prefix is empty."""
    text = str(path)
    if text.endswith(".index"):
        return text[: -len(".index")]
    if Path(text).is_dir():
        return str(Path(text)) + "/"
    return text


def read_tf_checkpoint(
    path: str | Path, keep: Callable[[str], bool] | None = None, verify_checksums: bool = True
) -> TFCheckpoint:
    """Read the tensors of a TensorFlow checkpoint (see ``checkpoint_prefix`` for ``path``).

    ``keep(name)`` selects the tensors to read (default: all); ``verify_checksums`` checks the
    CRC-32C of every index block and every tensor read. Raises ValueError naming the file when
    it is missing, truncated, compressed, corrupt, or not a tensor bundle.
    """
    prefix = checkpoint_prefix(path)
    index_path = Path(prefix + ".index")
    if not index_path.is_file():
        raise ValueError(f"{index_path}: no TensorFlow checkpoint index there")
    table = index_path.read_bytes()
    checkpoint = TFCheckpoint(prefix)
    header: dict[int, int] | None = None
    for key, value in _table_entries(table, index_path, verify_checksums):
        if key == b"":
            header = _decode_header(value, index_path)
            continue
        name = key.decode("utf-8", errors="replace")
        checkpoint.entries[name] = _decode_entry(value, index_path, name)
    if header is None:
        raise ValueError(f"{index_path}: not a TensorFlow tensor bundle: it has no header entry")
    if header.get(2, 0) != 0:
        raise ValueError(f"{index_path}: a big-endian checkpoint; only little-endian ones are supported")
    num_shards = header.get(1, 1)
    shards: dict[int, bytes] = {}
    for name, entry in checkpoint.entries.items():
        if keep is not None and not keep(name):
            continue
        if entry.sliced:
            raise ValueError(
                f"{index_path}: tensor {name!r} is partitioned into slices, which this reader does not read"
            )
        if entry.dtype not in TF_DTYPES:
            raise ValueError(
                f"{index_path}: tensor {name!r} has TensorFlow dtype {entry.dtype}, which this reader does not read"
            )
        if not 0 <= entry.shard_id < num_shards:
            raise ValueError(f"{index_path}: tensor {name!r} names shard {entry.shard_id} of {num_shards}")
        if entry.shard_id not in shards:
            shard_path = Path(f"{prefix}.data-{entry.shard_id:05d}-of-{num_shards:05d}")
            if not shard_path.is_file():
                raise ValueError(f"{shard_path}: missing data shard of checkpoint {index_path}")
            shards[entry.shard_id] = shard_path.read_bytes()
        checkpoint.tensors[name] = _tensor(entry, shards[entry.shard_id], prefix, num_shards, name, verify_checksums)
        checkpoint.stored_dtypes[name] = TF_DTYPES[entry.dtype][0]
    return checkpoint


def _tensor(entry: BundleEntry, shard: bytes, prefix: str, num_shards: int, name: str, verify: bool) -> torch.Tensor:
    shard_name = f"{prefix}.data-{entry.shard_id:05d}-of-{num_shards:05d}"
    dtype_name, dtype = TF_DTYPES[entry.dtype]
    count = 1
    for dim in entry.shape:
        count *= dim
    if entry.size != count * dtype.itemsize:
        raise ValueError(
            f"{shard_name}: tensor {name!r} of shape {entry.shape} ({dtype_name}) cannot take {entry.size} bytes"
        )
    if entry.offset + entry.size > len(shard):
        raise ValueError(
            f"{shard_name}: truncated: tensor {name!r} ends at byte {entry.offset + entry.size}, "
            f"the shard has {len(shard)} bytes"
        )
    raw = bytearray(shard[entry.offset : entry.offset + entry.size])
    if verify and crc32c(raw) != unmask(entry.crc32c):
        raise ValueError(f"{shard_name}: checksum mismatch for tensor {name!r}: the file is corrupt")
    values = torch.frombuffer(raw, dtype=dtype) if entry.size else torch.empty(0, dtype=dtype)
    if dtype.is_floating_point:
        values = values.to(torch.float32)
    return values.reshape(entry.shape)


# --- LevelDB table -------------------------------------------------------------------------------


def _varint(data: bytes, position: int, path: Path, what: str) -> tuple[int, int]:
    """Decode a base-128 varint at ``position``; return (value, next position)."""
    value = 0
    shift = 0
    while True:
        if position >= len(data):
            raise ValueError(f"{path}: truncated varint in {what}")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise ValueError(f"{path}: varint longer than 64 bits in {what}")


def _block_handle(data: bytes, position: int, path: Path, what: str) -> tuple[tuple[int, int], int]:
    offset, position = _varint(data, position, path, what)
    size, position = _varint(data, position, path, what)
    return (offset, size), position


def _block(table: bytes, handle: tuple[int, int], path: Path, verify: bool, what: str) -> bytes:
    """The contents of the block at ``handle``, its trailer checked."""
    offset, size = handle
    end = offset + size + BLOCK_TRAILER_BYTES
    if end > len(table) - FOOTER_BYTES:
        raise ValueError(f"{path}: truncated or corrupt table: {what} ends at byte {end}, the file has {len(table)}")
    contents = table[offset : offset + size]
    compression = table[offset + size]
    if verify:
        (stored,) = struct.unpack_from("<I", table, offset + size + 1)
        if crc32c(table[offset : offset + size + 1]) != unmask(stored):
            raise ValueError(f"{path}: checksum mismatch in {what}: the file is corrupt")
    if compression != 0:
        raise ValueError(f"{path}: {what} is compressed (type {compression}); only uncompressed tables are supported")
    return contents


def _block_entries(block: bytes, path: Path, what: str) -> Iterator[tuple[bytes, bytes]]:
    """Decode the prefix-compressed (key, value) entries of one block."""
    if len(block) < 4:
        raise ValueError(f"{path}: {what} is too short to be a table block")
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    entries_end = len(block) - 4 - 4 * restarts
    if restarts < 1 or entries_end < 0:
        raise ValueError(f"{path}: {what} has a bad restart count {restarts}")
    restart_offsets = set(struct.unpack_from(f"<{restarts}I", block, entries_end))
    position = 0
    key = b""
    while position < entries_end:
        at_restart = position in restart_offsets
        shared, position = _varint(block, position, path, what)
        unshared, position = _varint(block, position, path, what)
        value_length, position = _varint(block, position, path, what)
        if shared > len(key) or (at_restart and shared) or position + unshared + value_length > entries_end:
            raise ValueError(f"{path}: corrupt entry in {what}")
        key = key[:shared] + block[position : position + unshared]
        position += unshared
        yield key, block[position : position + value_length]
        position += value_length


def _table_entries(table: bytes, path: Path, verify: bool) -> Iterator[tuple[bytes, bytes]]:
    """Every (key, value) of a LevelDB table, in key order."""
    if len(table) < FOOTER_BYTES:
        raise ValueError(f"{path}: not a TensorFlow checkpoint index: {len(table)} bytes, shorter than a table footer")
    footer = table[-FOOTER_BYTES:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_BYTES - 8)
    if magic != TABLE_MAGIC:
        raise ValueError(f"{path}: not a TensorFlow checkpoint index (no LevelDB table magic at its end; truncated?)")
    _metaindex, position = _block_handle(footer, 0, path, "the footer")
    index_handle, _ = _block_handle(footer, position, path, "the footer")
    index_block = _block(table, index_handle, path, verify, "the index block")
    for number, (_separator, handle_bytes) in enumerate(_block_entries(index_block, path, "the index block")):
        handle, _ = _block_handle(handle_bytes, 0, path, "the index block")
        what = f"data block {number}"
        yield from _block_entries(_block(table, handle, path, verify, what), path, what)


# --- protobuf messages ---------------------------------------------------------------------------


def _fields(message: bytes, path: Path, what: str) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: varints and fixed ints as int, the rest as bytes."""
    position = 0
    while position < len(message):
        tag, position = _varint(message, position, path, what)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, position = _varint(message, position, path, what)
        elif wire_type == 1:
            (value,) = struct.unpack_from("<Q", message, position) if position + 8 <= len(message) else (None,)
            position += 8
        elif wire_type == 2:
            length, position = _varint(message, position, path, what)
            value = message[position : position + length]
            position += length
        elif wire_type == 5:
            (value,) = struct.unpack_from("<I", message, position) if position + 4 <= len(message) else (None,)
            position += 4
        else:
            raise ValueError(f"{path}: {what} is not a protobuf message (wire type {wire_type})")
        if position > len(message) or value is None:
            raise ValueError(f"{path}: truncated protobuf field {number} in {what}")
        yield number, value


def _decode_header(message: bytes, path: Path) -> dict[int, int]:
    return {number: value for number, value in _fields(message, path, "the bundle header") if isinstance(value, int)}


def _decode_entry(message: bytes, path: Path, name: str) -> BundleEntry:
    what = f"the entry of {name!r}"
    values: dict[int, int] = {}
    shape: list[int] = []
    sliced = False
    for number, value in _fields(message, path, what):
        if number == 2 and isinstance(value, bytes):  # TensorShapeProto
            for shape_field, dim in _fields(value, path, what):
                if shape_field == 2 and isinstance(dim, bytes):  # TensorShapeProto.Dim
                    sizes = [size for field_number, size in _fields(dim, path, what) if field_number == 1]
                    shape.append(int(sizes[0]) if sizes else 0)
                elif shape_field == 3 and dim:  # unknown_rank
                    raise ValueError(f"{path}: {what} has an unknown rank")
        elif number == 7:
            sliced = True
        elif isinstance(value, int):
            values[number] = value
    return BundleEntry(
        dtype=values.get(1, 0),
        shape=tuple(shape),
        shard_id=values.get(3, 0),
        offset=values.get(4, 0),
        size=values.get(5, 0),
        crc32c=values.get(6, 0),
        sliced=sliced,
    )
