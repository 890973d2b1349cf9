"""CRC-32C (Castagnoli), the checksum of LevelDB blocks and TensorFlow checkpoint tensors.

No CRC-32C implementation ships with Python (``zlib.crc32`` is the IEEE polynomial), so this
is a table-driven one. Large inputs are split into equal chunks whose CRCs numpy computes side by
side; the chunk CRCs are then chained with the CRC's linearity: running the register over a chunk
equals shifting the register through as many zero bytes (a fixed 32 x 32 bit-matrix) XOR the
chunk's CRC from a zero register. That makes a 10 MB checkpoint take a fraction of a second.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_POLYNOMIAL = 0x82F63B78  # Castagnoli, bit-reversed
_MASK_DELTA = 0xA282EAD8  # LevelDB / TensorFlow "masked" CRCs add this after a rotation
_CHUNK = 1024  # bytes per parallel chunk
_PARALLEL_FROM = 64 * 1024  # shorter inputs: a plain byte loop is as fast


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLYNOMIAL if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()
_TABLE_NP = np.array(_TABLE, dtype=np.uint32)


def _advance(register: int, data: bytes | memoryview) -> int:
    """Run the raw CRC register over ``data`` (no initial or final inversion)."""
    table = _TABLE
    for byte in data:
        register = table[(register ^ byte) & 0xFF] ^ (register >> 8)
    return register


@lru_cache(maxsize=4)
def _zero_shift_columns(length: int) -> tuple[int, ...]:
    """Column i: where register bit i ends up after ``length`` zero bytes (the shift is linear)."""
    registers = np.left_shift(np.uint32(1), np.arange(32, dtype=np.uint32))
    for _ in range(length):
        registers = _TABLE_NP[registers & 0xFF] ^ (registers >> 8)
    return tuple(int(r) for r in registers)


def _shift_through_zeros(register: int, columns: tuple[int, ...]) -> int:
    shifted = 0
    bit = 0
    while register:
        if register & 1:
            shifted ^= columns[bit]
        register >>= 1
        bit += 1
    return shifted


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC-32C of ``data`` (``crc32c(b"123456789") == 0xE3069283``)."""
    view = memoryview(data).cast("B")
    register = 0xFFFFFFFF
    chunks = len(view) // _CHUNK if len(view) >= _PARALLEL_FROM else 0
    if chunks:
        block = np.frombuffer(view[: chunks * _CHUNK], dtype=np.uint8).reshape(chunks, _CHUNK)
        chunk_crcs = np.zeros(chunks, dtype=np.uint32)  # each chunk's raw CRC from a zero register
        for column in block.T:
            chunk_crcs = _TABLE_NP[(chunk_crcs ^ column) & 0xFF] ^ (chunk_crcs >> 8)
        columns = _zero_shift_columns(_CHUNK)
        for chunk_crc in chunk_crcs.tolist():
            register = _shift_through_zeros(register, columns) ^ chunk_crc
    register = _advance(register, view[chunks * _CHUNK :])
    return register ^ 0xFFFFFFFF


def unmask(masked: int) -> int:
    """Undo LevelDB's CRC masking (stored CRCs are masked so CRCs of CRCs stay well distributed)."""
    rotated = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rotated >> 17) | (rotated << 15)) & 0xFFFFFFFF
