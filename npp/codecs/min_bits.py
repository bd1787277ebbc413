"""The fewest bits a picture of a given size can be coded in, per format: a header claiming a
picture its file cannot possibly hold is corrupt, and is refused before anything is allocated
or decoded (a 6 kB JPEG claiming 6000x6000, a BPG of a few hundred bytes claiming 4096x4096).

Each bound counts units the format must code and a cost every unit pays, whatever its content:

- JPEG (Huffman-coded: baseline, extended, progressive): every 8x8 block of every component
  carries a Huffman-coded DC difference (in the first DC scan of a progressive file), and a
  Huffman code is at least 1 bit long. So the entropy-coded data holds at least one bit per block.
- HEVC intra, as in BPG: every coding unit carries its luma intra prediction mode, whose last
  part (mpm_idx, or the 5-bit rem_intra_luma_pred_mode) is bypass-coded, and a bypass bin costs
  exactly one bit of CABAC output (a PCM unit costs far more). Coding units are at most one CTB;
  at the right and bottom edges the quadtree is split without signalling until every unit lies
  inside the picture, so edge CTBs hold several units each.

VVC has no useful bound, so none is applied: a VVC intra coding unit may be coded with
context-coded bins only (planar mode, no residual; unlike HEVC there is no bypass-coded part),
and VVC's arithmetic coder gives the less probable value at least 4/510 of the range, so such a
bin costs as little as log2(510/506) = 0.0114 bit. With a CTU's end-of-slice flag (a
terminating bin, at least 0.0057 bit) a CTU needs only about 1/59 bit: a 40 MP picture fits in
fewer bytes than the SPS and PPS that declare its size. FFmpeg's VVC decoder, which checks far
more than FFmpeg's HEVC decoder, refuses every forged size tried
(tests/test_reliability_corrupt.py), and sizes beyond the image limit are refused before it runs.
"""
from __future__ import annotations

import math

from npp.errors import NppError


def jpeg_min_bits(width: int, height: int, sampling: list[tuple[int, int]]) -> int:
    """Blocks in a Huffman-coded JPEG of `width` x `height` with these (H, V) sampling factors
    per component: one bit each at least."""
    hmax = max(h for h, _ in sampling)
    vmax = max(v for _, v in sampling)
    blocks = 0
    for h, v in sampling:
        cw, ch = math.ceil(width * h / hmax), math.ceil(height * v / vmax)
        blocks += math.ceil(cw / 8) * math.ceil(ch / 8)
    return blocks


def _edge_units(w: int, h: int, size: int, min_cb: int) -> int:
    """Coding units the quadtree must make of a `size` block of which only w x h lies inside."""
    if (w >= size and h >= size) or size <= min_cb:
        return 1
    half = size // 2
    return sum(_edge_units(w - dx, h - dy, half, min_cb)
               for dy in (0, half) for dx in (0, half) if dx < w and dy < h)


def hevc_min_bits(width: int, height: int, ctb: int, min_cb: int) -> int:
    """Coding units of an HEVC intra picture (sizes in luma samples, `width` and `height`
    multiples of `min_cb`): one bit each at least."""
    nx, rx = divmod(width, ctb)
    ny, ry = divmod(height, ctb)
    units = nx * ny
    if rx:
        units += ny * _edge_units(rx, ctb, ctb, min_cb)
    if ry:
        units += nx * _edge_units(ctb, ry, ctb, min_cb)
    if rx and ry:
        units += _edge_units(rx, ry, ctb, min_cb)
    return units


def check_holds(what: str, width: int, height: int, min_bits: int, nbytes: int) -> None:
    """NppError when `nbytes` of coded data cannot hold the `min_bits` a `width` x `height`
    picture needs."""
    if min_bits > 8 * nbytes:
        raise NppError(f"corrupt {what}: its header claims {width}x{height}, which needs at least "
                       f"{math.ceil(min_bits / 8):,} bytes of picture data, and it has {nbytes:,}")
