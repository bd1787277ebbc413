"""RGB <-> YCbCr as libbpg does it: BT.601 full range, 4:2:0 with chroma centred between luma
samples (BPG pixel format 1, JPEG siting) or 4:4:4, at 8 or 10 bits.

The arithmetic follows the BPG reference implementation (fixed-point colour matrices, bpgenc's
10-tap half-phase decimation filter, libbpg's 7-tap interpolation filter), so that what x265 or
vvenc receives here is what bpgenc would give them, and what we show is what bpgdec would show.
ffmpeg's own conversion is unsuitable: limited range with MPEG-2 chroma siting.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

Planes = Tuple[np.ndarray, np.ndarray, np.ndarray]

KR, KB = 0.299, 0.114
# bpgenc's decimation filter for chroma half way between two luma samples (sum 128), taps for
# source offsets -4..5 around the pair (2i, 2i+1).
_DECIMATE = np.array([2, -4, -8, 17, 57, 57, 17, -8, -4, 2], dtype=np.int64)
# libbpg's interpolation filter (sum 64): even outputs over source offsets -3..3; odd outputs
# use the mirror image.
_INTERP_EVEN = np.array([2, -6, 18, 57, -10, 4, -1], dtype=np.int64)
_INTERP_ODD = _INTERP_EVEN[::-1].copy()
#: rows converted at a time, to bound the 64-bit temporaries on large images
_ROWS = 256


def _check_depth(bit_depth: int) -> None:
    if bit_depth not in (8, 10):
        raise ValueError(f"bit depth must be 8 or 10, got {bit_depth}")


def rgb_to_ycbcr(rgb: np.ndarray, bit_depth: int = 8) -> Planes:
    """Full-resolution Y, Cb, Cr (uint16, 0..2**bit_depth-1) of an HxWx3 uint8 image."""
    _check_depth(bit_depth)
    shift = 31 - bit_depth
    mult = ((1 << bit_depth) - 1) * float(1 << shift) / 255.0
    rows = (
        (KR, 1 - KR - KB, KB),
        (-0.5 * KR / (1 - KB), -0.5 * (1 - KR - KB) / (1 - KB), 0.5),
        (0.5, -0.5 * (1 - KR - KB) / (1 - KR), -0.5 * KB / (1 - KR)),
    )
    m = np.array([[int(np.rint(c * mult)) for c in row] for row in rows], dtype=np.int64)
    rnd = 1 << (shift - 1)
    top = (1 << bit_depth) - 1
    centre = 1 << (bit_depth - 1)
    out = [np.empty(rgb.shape[:2], dtype=np.uint16) for _ in range(3)]
    for r0 in range(0, rgb.shape[0], _ROWS):
        block = rgb[r0:r0 + _ROWS].astype(np.int64)
        for i in range(3):
            v = (block @ m[i] + rnd) >> shift
            out[i][r0:r0 + _ROWS] = np.clip(v + (centre if i else 0), 0, top)
    return out[0], out[1], out[2]


def ycbcr_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """HxWx3 uint8 RGB from full-resolution Y, Cb, Cr planes (libbpg's fixed-point matrix)."""
    _check_depth(bit_depth)
    shift = 30 - 8
    mult = 255.0 * (1 << shift) / ((1 << bit_depth) - 1)
    one = int(np.rint(mult))
    r_cr = int(np.rint(2 * (1 - KR) * mult))
    g_cb = int(np.rint(2 * KB * (1 - KB) / (1 - KB - KR) * mult))
    g_cr = int(np.rint(2 * KR * (1 - KR) / (1 - KB - KR) * mult))
    b_cb = int(np.rint(2 * (1 - KB) * mult))
    centre = 1 << (bit_depth - 1)
    rnd = 1 << (shift - 1)
    rgb = np.empty(y.shape + (3,), dtype=np.uint8)
    for r0 in range(0, y.shape[0], _ROWS):
        rows = slice(r0, r0 + _ROWS)
        yv = y[rows].astype(np.int64) * one + rnd
        cbv = cb[rows].astype(np.int64) - centre
        crv = cr[rows].astype(np.int64) - centre
        rgb[rows, :, 0] = np.clip((yv + r_cr * crv) >> shift, 0, 255)
        rgb[rows, :, 1] = np.clip((yv - g_cb * cbv - g_cr * crv) >> shift, 0, 255)
        rgb[rows, :, 2] = np.clip((yv + b_cb * cbv) >> shift, 0, 255)
    return rgb


def _decimate_axis(a: np.ndarray, axis: int) -> np.ndarray:
    """Unnormalised half-phase decimation by 2 along `axis` (edges replicated)."""
    a = np.moveaxis(a, axis, 0)
    n2 = (a.shape[0] + 1) // 2
    p = np.pad(a, [(4, 6)] + [(0, 0)] * (a.ndim - 1), mode="edge")
    acc = np.zeros((n2,) + a.shape[1:], dtype=np.int32)
    for k, c in enumerate(_DECIMATE):
        acc += int(c) * p[k:k + 2 * n2:2]
    return np.moveaxis(acc, 0, axis)


def downsample_chroma(c: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """A 4:4:4 chroma plane to 4:2:0 (ceil(H/2) x ceil(W/2)), chroma centred (bpgenc's filter)."""
    _check_depth(bit_depth)
    h_shift = bit_depth - 7
    horiz = (_decimate_axis(c.astype(np.int32), 1) + (1 << (h_shift - 1))) >> h_shift
    v_shift = 21 - bit_depth
    both = (_decimate_axis(horiz, 0) + (1 << (v_shift - 1))) >> v_shift
    return np.clip(both, 0, (1 << bit_depth) - 1).astype(np.uint16)


def _interp_axis(a: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Unnormalised interpolation by 2 along `axis` to length n (edges replicated)."""
    a = np.moveaxis(a, axis, 0)
    n2 = (n + 1) // 2
    p = np.pad(a[:n2], [(3, 3)] + [(0, 0)] * (a.ndim - 1), mode="edge")
    out = np.zeros((2 * n2,) + a.shape[1:], dtype=np.int32)
    for k in range(7):
        win = p[k:k + n2]
        out[0::2] += int(_INTERP_EVEN[k]) * win
        out[1::2] += int(_INTERP_ODD[k]) * win
    return np.moveaxis(out[:n], 0, axis)


def upsample_chroma(c: np.ndarray, width: int, height: int, bit_depth: int = 8) -> np.ndarray:
    """A 4:2:0 chroma plane back to height x width (libbpg's interpolation, centred chroma)."""
    _check_depth(bit_depth)
    v_shift = bit_depth - 8
    vert = _interp_axis(c.astype(np.int32), height, 0)
    if v_shift:
        vert = (vert + (1 << (v_shift - 1))) >> v_shift
    h_shift = 20 - bit_depth
    both = (_interp_axis(vert, width, 1) + (1 << (h_shift - 1))) >> h_shift
    return np.clip(both, 0, (1 << bit_depth) - 1).astype(np.uint16)


def rgb_to_planes(rgb: np.ndarray, chroma: str = "420", bit_depth: int = 8) -> Planes:
    """The Y, Cb, Cr planes a codec encodes (chroma "420" or "444")."""
    y, cb, cr = rgb_to_ycbcr(rgb, bit_depth)
    if chroma == "444":
        return y, cb, cr
    if chroma != "420":
        raise ValueError(f"chroma must be '420' or '444', got {chroma!r}")
    return y, downsample_chroma(cb, bit_depth), downsample_chroma(cr, bit_depth)


def planes_to_rgb(planes: Planes, width: int, height: int, chroma: str = "420",
                  bit_depth: int = 8) -> np.ndarray:
    """RGB of decoded planes, cropped to width x height (planes may be padded)."""
    y, cb, cr = planes
    y = y[:height, :width]
    if chroma == "444":
        cb, cr = cb[:height, :width], cr[:height, :width]
    else:
        cb = upsample_chroma(cb[: (height + 1) // 2, : (width + 1) // 2], width, height, bit_depth)
        cr = upsample_chroma(cr[: (height + 1) // 2, : (width + 1) // 2], width, height, bit_depth)
    return ycbcr_to_rgb(y, cb, cr, bit_depth)


def pad_planes(planes: Planes, multiple: int, chroma: str = "420") -> Planes:
    """Replicate the right and bottom samples so the luma size is a multiple of `multiple`."""
    y = planes[0]
    h = -(-y.shape[0] // multiple) * multiple
    w = -(-y.shape[1] // multiple) * multiple
    sub = 2 if chroma == "420" else 1
    out = []
    for i, p in enumerate(planes):
        th, tw = (h, w) if i == 0 else (h // sub, w // sub)
        out.append(np.pad(p, ((0, th - p.shape[0]), (0, tw - p.shape[1])), mode="edge"))
    return out[0], out[1], out[2]
