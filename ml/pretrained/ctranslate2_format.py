"""Reader for CTranslate2's binary ``model.bin`` (the weights of a converted model).

The layout, as CTranslate2's ``specs/model_spec.py`` writes it (little-endian)::

    uint32  binary version (4, 5 or 6 here: the dtype byte below is a type code since 4)
    string  spec name, e.g. "WhisperSpec"
    uint32  spec revision
    uint32  variable count
    per variable, in alphabetical order of names:
        string  name, e.g. "encoder/conv1/weight"
        uint8   rank, then rank x uint32 dims
        uint8   dtype code (order of CTranslate2's DataType enum, see ``DTYPE_CODES``)
        uint32  byte count, then the raw bytes (C order)
    uint32  alias count
    per alias: string alias, string name of the variable it stands for

A string is a ``uint16`` length that counts a terminating NUL, then the bytes and the NUL.
A rank-0 variable is a scalar attribute of the model (e.g. ``encoder/num_heads``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import torch

# Index = CTranslate2 type code (its DataType enum, include/ctranslate2/types.h).
DTYPE_CODES: tuple[tuple[str, torch.dtype], ...] = (
    ("float32", torch.float32),
    ("int8", torch.int8),
    ("int16", torch.int16),
    ("int32", torch.int32),
    ("float16", torch.float16),
    ("bfloat16", torch.bfloat16),
)
SUPPORTED_BINARY_VERSIONS = (4, 5, 6)
MAX_RANK = 8  # no CTranslate2 spec goes near this; a larger rank means a foreign or shifted file


@dataclass
class CTranslate2Model:
    """Variables of one ``model.bin``.

    ``tensors``: every variable of rank >= 1 by name; floating-point ones are float32 (they are
    stored as float16, bfloat16 or float32), integer ones keep their integer dtype (e.g. int8
    weights of a quantised model, next to their ``*_scale`` variables). Aliases point at the same
    tensor object as the variable they name.
    ``scalars``: rank-0 variables (model attributes such as ``encoder/num_heads``) as Python numbers.
    ``stored_dtypes``: the dtype name each variable had in the file ("float16", ...).
    """

    path: Path
    binary_version: int
    spec_name: str
    spec_revision: int
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    scalars: dict[str, int | float] = field(default_factory=dict)
    stored_dtypes: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


class _Reader:
    """Little-endian reads from a binary file that raise ValueError naming the file at its end."""

    def __init__(self, stream: BinaryIO, path: Path, size: int):
        self.stream = stream
        self.path = path
        self.size = size

    def bytes(self, count: int, what: str) -> bytes:
        data = self.stream.read(count)
        if len(data) != count:
            raise ValueError(
                f"{self.path}: truncated CTranslate2 model file: wanted {count} bytes for {what} "
                f"at offset {self.stream.tell() - len(data)}, the file has {self.size} bytes"
            )
        return data

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.bytes(struct.calcsize("<" + fmt), what))

    def string(self, what: str) -> str:
        (length,) = self.unpack("H", what)
        raw = self.bytes(length, what)
        if length == 0 or raw[-1] != 0:
            raise ValueError(f"{self.path}: not a CTranslate2 model file: {what} is not a NUL-terminated string")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"{self.path}: not a CTranslate2 model file: {what} is not UTF-8") from error

    def skip(self, count: int, what: str) -> None:
        target = self.stream.tell() + count
        if target > self.size:
            raise ValueError(
                f"{self.path}: truncated CTranslate2 model file: {what} ends at byte {target}, "
                f"the file has {self.size} bytes"
            )
        self.stream.seek(target)


def read_ctranslate2_model(path: str | Path, keep: Callable[[str], bool] | None = None) -> CTranslate2Model:
    """Read the variables of a CTranslate2 ``model.bin`` (a file, or a folder holding one).

    ``keep(name)`` selects the variables to load (default: all); the bytes of the others are
    skipped, not read, so loading part of a large model costs only that part. Aliases are kept
    when the variable they name is kept. Raises ValueError naming the file when it is missing,
    truncated, of an unsupported binary version, or not a CTranslate2 model at all.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        raise ValueError(f"{path}: no CTranslate2 model file there")
    size = path.stat().st_size
    with path.open("rb") as stream:
        reader = _Reader(stream, path, size)
        (binary_version,) = reader.unpack("I", "the binary version")
        if binary_version not in SUPPORTED_BINARY_VERSIONS:
            raise ValueError(
                f"{path}: not a CTranslate2 model file this reader supports: binary version "
                f"{binary_version} (supported: {', '.join(map(str, SUPPORTED_BINARY_VERSIONS))})"
            )
        spec_name = reader.string("the spec name")
        (spec_revision,) = reader.unpack("I", "the spec revision")
        model = CTranslate2Model(path, binary_version, spec_name, spec_revision)
        (count,) = reader.unpack("I", "the variable count")
        for index in range(count):
            _read_variable(reader, model, index, keep)
        (alias_count,) = reader.unpack("I", "the alias count")
        for index in range(alias_count):
            alias = reader.string(f"alias {index}")
            target = reader.string(f"the variable alias {alias!r} names")
            if target in model.tensors:
                model.tensors[alias] = model.tensors[target]
            elif target in model.scalars:
                model.scalars[alias] = model.scalars[target]
            elif keep is None or keep(target):
                raise ValueError(f"{path}: alias {alias!r} names {target!r}, which is not a variable of the file")
            else:
                continue
            model.aliases[alias] = target
            model.stored_dtypes[alias] = model.stored_dtypes[target]
        if stream.tell() != size:
            raise ValueError(f"{path}: {size - stream.tell()} unexpected bytes after the last alias")
    return model


def _read_variable(reader: _Reader, model: CTranslate2Model, index: int, keep: Callable[[str], bool] | None) -> None:
    """Read (or skip) variable number ``index`` into ``model``."""
    name = reader.string(f"the name of variable {index}")
    (rank,) = reader.unpack("B", f"the rank of {name!r}")
    if rank > MAX_RANK:
        raise ValueError(f"{reader.path}: not a CTranslate2 model file: variable {name!r} has rank {rank}")
    shape = reader.unpack(f"{rank}I", f"the shape of {name!r}")
    (code,) = reader.unpack("B", f"the dtype of {name!r}")
    if code >= len(DTYPE_CODES):
        raise ValueError(f"{reader.path}: variable {name!r} has unknown dtype code {code}")
    dtype_name, dtype = DTYPE_CODES[code]
    (num_bytes,) = reader.unpack("I", f"the byte count of {name!r}")
    expected = dtype.itemsize
    for dim in shape:
        expected *= dim
    if num_bytes != expected:
        raise ValueError(
            f"{reader.path}: variable {name!r} of shape {tuple(shape)} and dtype {dtype_name} "
            f"should take {expected} bytes, the file says {num_bytes}"
        )
    if keep is not None and not keep(name):
        reader.skip(num_bytes, f"the data of {name!r}")
        return
    # bytearray: a writable buffer, so torch.frombuffer does not warn and the tensor owns it.
    raw = bytearray(reader.bytes(num_bytes, f"the data of {name!r}"))
    values = torch.frombuffer(raw, dtype=dtype) if num_bytes else torch.empty(0, dtype=dtype)
    if dtype.is_floating_point:
        values = values.to(torch.float32)
    model.stored_dtypes[name] = dtype_name
    if rank == 0:
        model.scalars[name] = values.item()
    else:
        model.tensors[name] = values.reshape(shape)
