"""Per-block QP offsets into x265 through FFmpeg's regions of interest.

PyAV cannot hand x265 its `quantOffsets` array directly, but FFmpeg's libx265 wrapper builds
that array from a frame's REGIONS_OF_INTEREST side data, and FFmpeg's `addroi` filter puts such
side data on a frame. What the wrapper does (libavcodec/libx265.c, `libx265_encode_set_roi`):
one float per 16x16 block of the frame (8x8 only when x265's qg-size is 8), zero where no
region lies; each region covers the blocks it touches (start rounded down, end rounded up);
its `qoffset`, a fraction in [-1, 1], is multiplied by the QP range (51 at 8 bits) to give QP
units; where regions overlap the first one listed wins; nothing is passed unless the wrapper's
parameters have AQ enabled. x265 then adds these offsets to its own AQ offsets per 16x16 block,
averages them over each coding unit of at least qg-size and rounds the unit's QP half up.

So an offset of k QP is a region with qoffset k/51. Offsets are rounded to whole QP steps here
(HEVC codes an integer QP per block anyway) so equal neighbours merge into few rectangles: each
region is one filter in the graph and FFmpeg copies the region list once per filter."""
from __future__ import annotations

import fractions
from typing import List, Tuple

import numpy as np

from npp.codecs.qpmap import BLOCK
from npp.errors import NppError

#: FFmpeg scales qoffset by 51 + 6 * (bit depth - 8); BPG is coded at 8 bits here
QP_RANGE_8BIT = 51
#: more regions than this take seconds to attach (FFmpeg copies the list once per filter)
MAX_REGIONS = 16384

#: (x, y, w, h, k): a rectangle of the frame in pixels and its offset in whole QP steps
Region = Tuple[int, int, int, int, int]


def whole_steps(offsets: np.ndarray) -> np.ndarray:
    """Offsets rounded half up to whole QP steps (as x265 rounds a block's QP), as int32."""
    return np.floor(np.asarray(offsets, dtype=np.float64) + 0.5).astype(np.int32)


def offset_regions(steps: np.ndarray, width: int, height: int) -> List[Region]:
    """Non-overlapping rectangles covering the non-zero blocks of a whole-step offset map for a
    `width` x `height` frame: runs of equal offsets along each block row, extended downwards
    while the next row has the same run."""
    open_runs: dict = {}  # (first column, end column, k) -> [x, y, w, h, k] still growing
    regions: List[list] = []
    for r, row in enumerate(np.asarray(steps)):
        runs = set()
        c = 0
        while c < len(row):
            e = c + 1
            while e < len(row) and row[e] == row[c]:
                e += 1
            if row[c]:
                runs.add((c, e, int(row[c])))
            c = e
        grown = {}
        for run in runs:
            if run in open_runs:
                rect = open_runs[run]
            else:
                rect = [run[0] * BLOCK, r * BLOCK, (run[1] - run[0]) * BLOCK, 0, run[2]]
                regions.append(rect)
            rect[3] += BLOCK
            grown[run] = rect
        open_runs = grown
    out = []
    for x, y, w, h, k in regions:
        out.append((x, y, min(w, width - x), min(h, height - y), k))
    if len(out) > MAX_REGIONS:
        raise NppError(f"QP offsets: the map splits into {len(out)} regions of equal offset "
                       f"(at most {MAX_REGIONS}); use a smoother or coarser map")
    return out


def attach_regions(frame, regions: List[Region], pix_fmt: str):
    """`frame` (a PyAV VideoFrame) with REGIONS_OF_INTEREST side data for `regions`, made by a
    filter graph buffer -> addroi (one per region) -> buffersink."""
    import av

    graph = av.filter.Graph()
    last = graph.add_buffer(width=frame.width, height=frame.height, format=pix_fmt,
                            time_base=fractions.Fraction(1, 25))
    for x, y, w, h, k in regions:
        node = graph.add("addroi", f"x={x}:y={y}:w={w}:h={h}:qoffset={k}/{QP_RANGE_8BIT}")
        last.link_to(node)
        last = node
    sink = graph.add("buffersink")
    last.link_to(sink)
    graph.configure()
    graph.push(frame)
    return graph.pull()
