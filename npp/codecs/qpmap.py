"""Spatially varying QP: per-block offsets added to a picture's QP, so a sender can spend bits
where the vision model looks and save them elsewhere.

An offset map has one float per 16x16 block of the picture the codec gets (rows x columns =
ceil(H/16) x ceil(W/16)), in QP units: +6 halves the quantiser's precision in that block, -6
doubles it. A map of zeros means the plain codec at the frame's QP (the same file)."""
from __future__ import annotations

import math

import numpy as np

from npp.errors import NppError

BLOCK = 16
#: offsets beyond this many QP steps are refused (x265 clips at +-51 anyway)
MAX_OFFSET = 24.0


def map_shape(height: int, width: int) -> tuple:
    """(rows, columns) of an offset map for a picture of this size."""
    return math.ceil(height / BLOCK), math.ceil(width / BLOCK)


def check_offsets(offsets: np.ndarray, height: int, width: int) -> np.ndarray:
    """`offsets` as a float32 map of the right shape with finite values within +-MAX_OFFSET."""
    a = np.asarray(offsets, dtype=np.float32)
    if a.shape != map_shape(height, width):
        raise NppError(f"QP offsets: expected a {map_shape(height, width)} map (one per {BLOCK}x{BLOCK} block "
                       f"of a {width}x{height} picture), got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.abs(a).max(initial=0.0) > MAX_OFFSET:
        raise NppError(f"QP offsets must be finite and within +-{MAX_OFFSET:g}")
    return a


def expand(coarse: np.ndarray, block: int, height: int, width: int) -> np.ndarray:
    """A map with one value per `block`x`block` region (a multiple of 16) as a 16x16-block map."""
    if block % BLOCK:
        raise ValueError(f"block must be a multiple of {BLOCK}, got {block}")
    k = block // BLOCK
    rows, cols = map_shape(height, width)
    out = np.repeat(np.repeat(np.asarray(coarse, dtype=np.float32), k, axis=0), k, axis=1)
    return np.ascontiguousarray(out[:rows, :cols])
