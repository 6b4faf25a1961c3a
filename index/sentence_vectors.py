"""Sentence vectors as both stores keep them: 4 bits a component, two to a byte, with a float16 scale per
sentence. A unit vector loses about 0.01 of cosine; a sentence takes 2 + dimension / 2 bytes."""

from __future__ import annotations

import numpy as np

LEVELS = 15  # codes 0..15 stand for -scale..+scale


def row_bytes(dimension: int) -> int:
    """What one sentence's vector takes: its scale, then its codes."""
    return 2 + (dimension + 1) // 2


def pack(matrix: np.ndarray) -> bytes:
    """Sentence vectors (rows): per row a float16 scale, then the packed codes."""
    matrix = np.asarray(matrix, dtype=np.float32)
    scales = np.maximum(np.abs(matrix).max(axis=1, keepdims=True), 1e-6)
    codes = np.rint((matrix / scales + 1) * LEVELS / 2).astype(np.uint8)
    if codes.shape[1] % 2:
        codes = np.pad(codes, ((0, 0), (0, 1)))
    packed = (codes[:, 0::2] << 4) | codes[:, 1::2]
    return b"".join(
        scale.astype(np.float16).tobytes() + row.tobytes() for scale, row in zip(scales, packed, strict=True)
    )


def unpack(blob: bytes, dimension: int) -> np.ndarray:
    """The float32 sentence vectors of `pack`."""
    width = row_bytes(dimension)
    rows = np.frombuffer(blob, dtype=np.uint8).reshape(-1, width)
    scales = rows[:, :2].copy().view(np.float16).astype(np.float32)
    codes = np.empty((len(rows), 2 * (width - 2)), dtype=np.float32)
    codes[:, 0::2], codes[:, 1::2] = rows[:, 2:] >> 4, rows[:, 2:] & 0x0F
    return (codes[:, :dimension] * 2 / LEVELS - 1) * scales
