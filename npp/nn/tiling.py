"""Running a fully convolutional network on an image in overlapping tiles, so that its memory
stays bounded whatever the image's size, with no seams.

A tile's input reaches `halo` pixels beyond its core (or to the image's edge); when `halo` covers
the network's receptive field, the core comes out exactly as it would from the whole image.
Tiles start on a 16-pixel grid, so a network with four stride-2 stages (NPP's U-Net) sees each
tile's pixels at the same positions of its grid as in the whole image, and outputs at 1/16 of
the image's size (NPP's per-block QP offsets) are cut at block boundaries."""
from __future__ import annotations

import math
from typing import Callable, Iterator, Optional, Sequence, Tuple

import numpy as np

#: tiles start on multiples of this (NPP pads to, and downsamples by, 16)
GRID = 16

Window = Tuple[slice, slice]


def tile_spans(n: int, core: int, halo: int) -> Iterator[Tuple[int, int, int, int]]:
    """Along one axis of `n` pixels, (in_start, in_end, out_start, out_end) of each tile: cores
    of equal length (at most `core`, rounded up to the grid) cover the axis, and each tile's
    input reaches `halo` (a multiple of the grid) beyond its core, or to the image's edge."""
    count = math.ceil(n / core)
    step = -(-math.ceil(n / count) // GRID) * GRID
    for start in range(0, n, step):
        end = min(n, start + step)
        yield max(0, start - halo), min(n, end + halo), start, end


def tiled(fn: Callable[[Window], Sequence[Optional[np.ndarray]]], height: int, width: int, halo: int,
          tile_pixels: int, scales: Sequence[int] = (1,)) -> Tuple[Optional[np.ndarray], ...]:
    """The outputs of `fn` over the whole `height` x `width` image, computed on tiles of at most
    `tile_pixels` input pixels, margins included (in one piece when the image is that small, or
    when the margins leave no room for a core). `fn((rows, cols))` returns its outputs for that
    window of the image: output k at 1/`scales[k]` of the window's size (rounded up), or None."""
    if halo % GRID or any(GRID % s for s in scales):
        raise ValueError(f"halo {halo} and scales {scales} must divide into the {GRID}-pixel grid")
    core = (math.isqrt(tile_pixels) - 2 * halo) // GRID * GRID
    if height * width <= tile_pixels or core < GRID:
        return tuple(fn((slice(0, height), slice(0, width))))
    outs: list = [None] * len(scales)
    for y0, y1, oy0, oy1 in tile_spans(height, core, halo):
        for x0, x1, ox0, ox1 in tile_spans(width, core, halo):
            for k, (part, s) in enumerate(zip(fn((slice(y0, y1), slice(x0, x1))), scales)):
                if part is None:
                    continue
                if outs[k] is None:
                    outs[k] = np.empty((-(-height // s), -(-width // s)) + part.shape[2:], dtype=part.dtype)
                cy, cx = (oy0 - y0) // s, (ox0 - x0) // s
                ny, nx = -(-(oy1 - oy0) // s), -(-(ox1 - ox0) // s)
                outs[k][oy0 // s:oy0 // s + ny, ox0 // s:ox0 // s + nx] = part[cy:cy + ny, cx:cx + nx]
    return tuple(outs)
