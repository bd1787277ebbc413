"""BPG: HEVC intra (x265 through PyAV) in the project's own BPG container, set up as bpgenc 0.9.8.

bpgenc's defaults, reproduced: BT.601 full-range YCbCr computed as bpgenc does, 4:2:0 with
centred chroma (or 4:4:4), the picture padded to a multiple of 8 by edge replication, x265 preset
by level (`-m 8` = veryslow), tune ssim, one intra frame, constant QP with bpgenc's meaning
(x265's ipratio then codes the I slice 3 lower), AMP and rectangular partitions on, no info SEI.
Per-block QP offsets (`npp.codecs.qpmap`) move each 16x16 block's QP from that same I-slice QP.
Decoding uses FFmpeg's HEVC decoder and libbpg's chroma interpolation and colour matrix.
"""
from __future__ import annotations

import argparse
import fractions
import math
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from npp.codecs import bpgfile, colour, roi
from npp.codecs.avstream import decode_picture, planes_to_frame, pyav_has
from npp.codecs.base import Codec, register_codec
from npp.errors import NppError

#: bpgenc -m 1..9 picks x265_preset_names[level] (0 = ultrafast is not reachable from bpgenc)
X265_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")
PIXEL_FORMAT = {"420": 1, "444": 3}
#: FFmpeg's libx265 wrapper refuses pictures under 16x16, and BPG codes the picture padded only
#: to a multiple of 8 (genuine bpgenc crashes on such images)
MIN_SIDE = 9


#: x265 codes an I slice this far below a constant QP: 6 * log2(ipratio), ipratio 1.4 as bpgenc
IP_OFFSET = 6.0 * math.log2(1.4)
#: the route that honours per-block offsets (see `npp.codecs.roi`): x265 ignores them at a
#: constant QP, where it turns AQ off. CRF with qcomp=1 makes the frame QP the CRF value (for an
#: intra-only stream x265 then applies no ipratio, so the CRF is the I-slice QP itself); AQ has
#: to be on for the offsets to be read, at a strength so small that its own per-block offsets
#: (strength x (log2 block energy - 14.4), here < 0.02 QP) never move a rounded QP; cutree off
#: (it needs a lookahead, which keyint=1 disables; without it x265 turns AQ off at strength 0);
#: qg-size 16 lets every 16x16 block of the map have its own QP.
OFFSET_ROUTE = "qcomp=1:aq-mode=1:aq-strength=0.001:cutree=0:qg-size=16"
#: FFmpeg's libx265 wrapper reports the frame's average QP as quality x 118 (FF_QP2LAMBDA)
FF_QP2LAMBDA = 118


def intra_qp(qp: int) -> int:
    """The I-slice QP x265 gives constant QP `qp` (x265 rounds qp - IP_OFFSET half up, clips at 0)."""
    return max(0, int(qp - IP_OFFSET + 0.5))


@dataclass(frozen=True)
class X265Picture:
    """One intra picture from x265: its Annex-B stream and the average QP over its blocks that
    x265 reports (what tells a constant QP from an offset map's QPs)."""

    stream: bytes
    avg_qp: float


def x265_encode(planes: colour.Planes, chroma: str, qp: int, level: int,
                offsets: Optional[np.ndarray] = None) -> X265Picture:
    """The picture x265 makes of padded 8-bit planes with bpgenc's settings at constant QP `qp`,
    or, given `offsets` (one per 16x16 block of the planes, QP units), with every block's QP
    moved by its offset (rounded to whole steps) from the QP the constant-QP encode would use."""
    import av

    h, w = planes[0].shape
    pix_fmt = "yuv420p" if chroma == "420" else "yuv444p"
    ctx = av.CodecContext.create("libx265", "w")
    ctx.width, ctx.height, ctx.pix_fmt = w, h, pix_fmt
    ctx.time_base = fractions.Fraction(1, 25)
    ctx.framerate = fractions.Fraction(25, 1)
    rate = f"qp={qp}" if offsets is None else f"crf={intra_qp(qp)}:{OFFSET_ROUTE}"
    params = f"{rate}:ipratio=1.4:keyint=1:info=0:amp=1:rect=1:hash=0:log-level=none"
    if level == 9 and min(h, w) < 32:
        # x265 4 shrinks the CTU to 16 for such pictures but keeps placebo's TU depth 4, which
        # it then rejects; 3 is the deepest a 16x16 CTU allows (bpgenc's 2015 x265 had no issue)
        params += ":tu-intra-depth=3:tu-inter-depth=3"
    ctx.options = {"preset": X265_PRESETS[level], "tune": "ssim", "x265-params": params}
    frame = planes_to_frame(tuple(p.astype(np.uint8) for p in planes), pix_fmt)
    if offsets is not None:
        frame = roi.attach_regions(frame, roi.offset_regions(roi.whole_steps(offsets), w, h), pix_fmt)
    try:
        packets = list(ctx.encode(frame)) + list(ctx.encode(None))
    except av.error.FFmpegError as exc:
        raise NppError(f"x265 failed: {exc}") from None
    stats = bytes(packets[0].get_sidedata("quality_stats"))
    return X265Picture(b"".join(bytes(p) for p in packets), int.from_bytes(stats[:4], "little", signed=True) / FF_QP2LAMBDA)


@register_codec("bpg")
class BpgCodec(Codec):
    extension = ".bpg"
    supports_qp_offsets = True

    def __init__(self, level: int = 8, chroma: str = "420") -> None:
        try:
            ok = not isinstance(level, bool) and int(level) == level and 1 <= int(level) <= 9
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise NppError(f"BPG level must be an integer in 1..9 (bpgenc -m), got {level}")
        if str(chroma) not in PIXEL_FORMAT:
            raise NppError(f"BPG chroma must be 420 or 444, got {chroma}")
        self.level = int(level)
        self.chroma = str(chroma)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--level", type=int, default=8, choices=range(1, 10), metavar="1..9",
                            help="bpg: bpgenc -m level (x265 preset ultrafast..placebo; default 8 = veryslow)")
        parser.add_argument("--chroma", default="420", choices=list(PIXEL_FORMAT), help="bpg: chroma format")

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> Dict[str, object]:
        return {"level": args.level, "chroma": args.chroma}

    def options(self) -> Dict[str, object]:
        return {"level": self.level, "chroma": self.chroma}

    def availability(self) -> tuple[bool, str]:
        return pyav_has("libx265", "hevc")

    def encode_bytes(self, rgb: np.ndarray, qp: int) -> bytes:
        return self._encode(rgb, qp, None)

    def encode_bytes_with_offsets(self, rgb: np.ndarray, qp: int, offsets: np.ndarray) -> bytes:
        """Offsets are rounded to whole QP steps; a map that rounds to zero gives the plain file."""
        return self._encode(rgb, qp, offsets if roi.whole_steps(offsets).any() else None)

    def _encode(self, rgb: np.ndarray, qp: int, offsets: Optional[np.ndarray]) -> bytes:
        h, w = rgb.shape[:2]
        if min(h, w) < MIN_SIDE:
            raise NppError(f"BPG needs images of at least {MIN_SIDE}x{MIN_SIDE} pixels, got {w}x{h}")
        planes = colour.rgb_to_planes(rgb, self.chroma, 8)
        planes = colour.pad_planes(planes, bpgfile.CB_PAD, self.chroma)
        stream = x265_encode(planes, self.chroma, qp, self.level, offsets).stream
        header = bpgfile.BpgHeader(width=w, height=h, pixel_format=PIXEL_FORMAT[self.chroma])
        return bpgfile.write_bpg(stream, header)

    def decode(self, data: bytes) -> np.ndarray:
        ok, reason = pyav_has("hevc")
        if not ok:
            raise NppError(f"cannot decode BPG here: {reason}")
        header, stream = bpgfile.read_bpg(data)
        if header.pixel_format not in (0, 1, 3):
            raise NppError(f"BPG pixel format {header.chroma} is not supported (4:2:0, 4:4:4 and gray are)")
        if header.color_space != 0 or header.limited_range:
            raise NppError(f"BPG colour space {bpgfile.COLOUR_SPACES[header.color_space]}"
                           f"{' limited range' if header.limited_range else ''} is not supported")
        try:
            planes, depth, chroma = decode_picture("hevc", stream)
        except NppError as exc:
            raise NppError(f"BPG: {exc}") from None
        expect = {0: "gray", 1: "420", 3: "444"}[header.pixel_format]
        if chroma != expect or depth != header.bit_depth:
            raise NppError("corrupt BPG file (picture format differs from its header)")
        if planes[0].shape[0] < header.height or planes[0].shape[1] < header.width:
            raise NppError("corrupt BPG file (picture smaller than its header says)")
        if chroma == "gray":
            centre = np.full_like(planes[0], 1 << (depth - 1))
            planes, chroma = [planes[0], centre, centre], "444"
        return colour.planes_to_rgb(tuple(planes), header.width, header.height, chroma, depth)

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return data[:4] == bpgfile.MAGIC
