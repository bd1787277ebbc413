"""BPG: HEVC intra (x265 through PyAV) in the project's own BPG container, set up as bpgenc 0.9.8.

bpgenc's defaults, reproduced: BT.601 full-range YCbCr computed as bpgenc does, 4:2:0 with
centred chroma (or 4:4:4), the picture padded to a multiple of 8 by edge replication, x265 preset
by level (`-m 8` = veryslow), tune ssim, one intra frame, constant QP with bpgenc's meaning
(x265's ipratio then codes the I slice 3 lower), AMP and rectangular partitions on, no info SEI.
Decoding uses FFmpeg's HEVC decoder and libbpg's chroma interpolation and colour matrix.
"""
from __future__ import annotations

import argparse
import fractions
from typing import Dict

import numpy as np

from npp.codecs import bpgfile, colour
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


def x265_encode(planes: colour.Planes, chroma: str, qp: int, level: int) -> bytes:
    """The Annex-B stream x265 makes of padded 8-bit planes with bpgenc's settings."""
    import av

    h, w = planes[0].shape
    pix_fmt = "yuv420p" if chroma == "420" else "yuv444p"
    ctx = av.CodecContext.create("libx265", "w")
    ctx.width, ctx.height, ctx.pix_fmt = w, h, pix_fmt
    ctx.time_base = fractions.Fraction(1, 25)
    ctx.framerate = fractions.Fraction(25, 1)
    params = f"qp={qp}:ipratio=1.4:keyint=1:info=0:amp=1:rect=1:hash=0:log-level=none"
    if level == 9 and min(h, w) < 32:
        # x265 4 shrinks the CTU to 16 for such pictures but keeps placebo's TU depth 4, which
        # it then rejects; 3 is the deepest a 16x16 CTU allows (bpgenc's 2015 x265 had no issue)
        params += ":tu-intra-depth=3:tu-inter-depth=3"
    ctx.options = {"preset": X265_PRESETS[level], "tune": "ssim", "x265-params": params}
    frame = planes_to_frame(tuple(p.astype(np.uint8) for p in planes), pix_fmt)
    try:
        packets = list(ctx.encode(frame)) + list(ctx.encode(None))
    except av.error.FFmpegError as exc:
        raise NppError(f"x265 failed: {exc}") from None
    return b"".join(bytes(p) for p in packets)


@register_codec("bpg")
class BpgCodec(Codec):
    extension = ".bpg"

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
        h, w = rgb.shape[:2]
        if min(h, w) < MIN_SIDE:
            raise NppError(f"BPG needs images of at least {MIN_SIDE}x{MIN_SIDE} pixels, got {w}x{h}")
        planes = colour.rgb_to_planes(rgb, self.chroma, 8)
        planes = colour.pad_planes(planes, bpgfile.CB_PAD, self.chroma)
        stream = x265_encode(planes, self.chroma, qp, self.level)
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
