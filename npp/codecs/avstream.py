"""PyAV plumbing: which FFmpeg codecs it has, and YCbCr planes in and out of libx265 and
FFmpeg's HEVC and VVC decoders.

Decoding refuses half-decodable input. A complete HEVC/VVC slice ends with its own
end-of-slice flag, so the decoded picture cannot depend on bytes after the end of the stream;
a truncated slice is read on into whatever follows. Decoding the stream once as it is and once
followed by 0xFF filler therefore gives two different pictures when the data ran out early.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Tuple

import numpy as np

from npp.errors import NppError
from npp.image import MAX_PIXELS

if TYPE_CHECKING:
    import av

#: PyAV pixel formats the project reads, with (bit depth, chroma)
PIX_FMTS = {
    "yuv420p": (8, "420"), "yuvj420p": (8, "420"), "yuv444p": (8, "444"), "yuvj444p": (8, "444"),
    "gray": (8, "gray"), "yuv420p10le": (10, "420"), "yuv444p10le": (10, "444"), "gray10le": (10, "gray"),
}
_FILLER = b"\xff" * 32


def pyav_has(*codecs: str) -> tuple[bool, str]:
    """(ok, reason): whether PyAV is installed with these FFmpeg codecs."""
    try:
        import av
    except ImportError as exc:
        return False, f"PyAV is not installed ({exc})"
    missing = [c for c in codecs if c not in av.codecs_available]
    if missing:
        return False, f"this PyAV build lacks {', '.join(missing)} (av==18.1.0 has them)"
    return True, ""


def planes_to_frame(planes: Tuple[np.ndarray, ...], pix_fmt: str) -> "av.VideoFrame":
    """A PyAV VideoFrame holding `planes` (uint8 or uint16 arrays, luma first)."""
    import av

    h, w = planes[0].shape
    frame = av.VideoFrame(w, h, pix_fmt)
    dtype = np.uint16 if PIX_FMTS[pix_fmt][0] > 8 else np.uint8
    for plane, src in zip(frame.planes, planes):
        item = np.dtype(dtype).itemsize
        buf = np.zeros((plane.height, plane.line_size // item), dtype=dtype)
        buf[: src.shape[0], : src.shape[1]] = src
        plane.update(buf.tobytes())
    return frame


def frame_to_planes(frame: "av.VideoFrame") -> Tuple[List[np.ndarray], int, str]:
    """(planes, bit depth, chroma) of a decoded PyAV VideoFrame."""
    fmt = frame.format.name
    if fmt not in PIX_FMTS:
        raise NppError(f"decoded picture has an unsupported pixel format {fmt}")
    depth, chroma = PIX_FMTS[fmt]
    dtype = np.uint16 if depth > 8 else np.uint8
    planes = []
    for plane in frame.planes:
        a = np.frombuffer(plane, dtype=dtype).reshape(plane.height, -1)[:, : plane.width]
        planes.append(a.copy())
    return planes, depth, chroma


def _decode_once(decoder: str, stream: bytes) -> "av.VideoFrame":
    import av

    ctx = av.CodecContext.create(decoder, "r")
    ctx.thread_count = 1
    # refuse pictures beyond the project's image limit (plus coding padding) before allocating
    ctx.options = {"err_detect": "explode", "max_pixels": str(int(MAX_PIXELS * 1.05))}
    try:
        frames = list(ctx.decode(av.Packet(stream))) + list(ctx.decode(None))
    except av.error.FFmpegError as exc:
        raise NppError(f"corrupt bitstream ({exc.strerror or exc})") from None
    if len(frames) != 1:
        raise NppError(f"corrupt or truncated bitstream ({len(frames)} pictures decoded, expected 1)")
    return frames[0]


def decode_picture(decoder: str, stream: bytes) -> Tuple[List[np.ndarray], int, str]:
    """Decode the one picture of an Annex-B stream with FFmpeg's `decoder` ("hevc", "vvc");
    NppError if it is corrupt or truncated."""
    planes, depth, chroma = frame_to_planes(_decode_once(decoder, stream))
    again, _, _ = frame_to_planes(_decode_once(decoder, stream + _FILLER))
    if any(not np.array_equal(a, b) for a, b in zip(planes, again)):
        raise NppError("truncated bitstream (the picture data ends before the picture does)")
    return planes, depth, chroma
