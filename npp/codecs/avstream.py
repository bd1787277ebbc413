"""PyAV plumbing: which FFmpeg codecs it has, and YCbCr planes in and out of libx265 and
FFmpeg's HEVC and VVC decoders.

Decoding refuses half-decodable input, by two rules every complete picture obeys:

- It cannot depend on bytes after the end of its data. A complete HEVC/VVC slice ends with its
  own end-of-slice flag and a complete JPEG scan with its last block; a truncated one is read on
  into whatever follows. Decoding the stream once as it is and once with 0xFF filler where its
  data ends gives two different pictures (or an error) when the data ran out early.
- It cannot depend on what its frame buffer held before: decoding writes every sample.
  FFmpeg's HEVC decoder outputs a picture even when the slice data stops (its end-of-slice flag
  set) before the last block, leaving the rest of the buffer as it was: a BPG whose header
  claims a larger picture than its data codes "decodes" that way. After each decode the
  buffer is overwritten with the complement of the first decode's bytes, and one more decode
  follows in the same context, which reuses that buffer (FFmpeg's buffer pool hands back a
  freed one): any sample it does not write differs from the first decode. A buffer that is not
  reused only makes this check weaker, never wrong.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

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
#: FFmpeg decoders that output a picture whose slices stop before its last block (see above)
_OUTPUTS_UNFINISHED = frozenset({"hevc"})


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


def _planes(frame: "av.VideoFrame") -> List[np.ndarray]:
    """Copies of a frame's sample planes (any planar pixel format)."""
    dtype = np.uint16 if max(c.bits for c in frame.format.components) > 8 else np.uint8
    return [np.frombuffer(p, dtype=np.uint8).view(dtype).reshape(p.height, -1)[:, : p.width].copy()
            for p in frame.planes]


class _Poison:
    """Overwrites each decoded frame's buffer, once copied, with the bitwise complement of the
    first frame's bytes: a sample that a later decode into a reused buffer leaves unwritten then
    differs from the first decode's."""

    def __init__(self) -> None:
        self.pattern: Optional[List[np.ndarray]] = None

    def __call__(self, frame: "av.VideoFrame") -> None:
        raws = [np.frombuffer(p, dtype=np.uint8) for p in frame.planes]
        if self.pattern is None:
            self.pattern = [np.invert(raw) for raw in raws]
        for raw, pattern in zip(raws, self.pattern):
            if raw.shape == pattern.shape:
                np.copyto(raw, pattern)


def _decode_each(ctx: "av.CodecContext", data: Optional[bytes],
                 poison: Optional[_Poison]) -> List[Tuple[str, List[np.ndarray]]]:
    """Send one packet (None: flush); (pixel format, planes) of each picture that comes out. The
    frames are released on return, so their buffers go back to FFmpeg's pool."""
    import av

    out = []
    for frame in ctx.decode(av.Packet(data) if data is not None else None):
        out.append((frame.format.name, _planes(frame)))
        if poison is not None:
            poison(frame)
    return out


def decode_variants(decoder: str, variants: Sequence[bytes],
                    poison: bool = False) -> Tuple[str, List[List[np.ndarray]]]:
    """(pixel format, planes of each variant's one picture): the variants decoded in order by one
    FFmpeg `decoder` context that reports every error (err_detect=explode); NppError if any fails
    or does not give exactly one picture. `poison`: overwrite each output buffer once copied
    (`_Poison`), so that a later variant's unwritten samples show."""
    import av

    ctx = av.CodecContext.create(decoder, "r")
    ctx.thread_count = 1
    # refuse pictures beyond the project's image limit (plus coding padding) before allocating
    ctx.options = {"err_detect": "explode", "max_pixels": str(int(MAX_PIXELS * 1.05))}
    spoil = _Poison() if poison else None
    out: List[Tuple[str, List[np.ndarray]]] = []
    try:
        for data in variants:
            out += _decode_each(ctx, data, spoil)
        out += _decode_each(ctx, None, spoil)
    except av.error.FFmpegError as exc:
        raise NppError(f"corrupt bitstream ({exc.strerror or exc})") from None
    if len(out) != len(variants):
        raise NppError(f"corrupt or truncated bitstream ({len(out)} pictures decoded from "
                       f"{len(variants)} copies, expected one each)")
    return out[0][0], [planes for _, planes in out]


def same_picture(a: List[np.ndarray], b: List[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def decode_picture(decoder: str, stream: bytes) -> Tuple[List[np.ndarray], int, str]:
    """Decode the one picture of an Annex-B stream with FFmpeg's `decoder` ("hevc", "vvc");
    NppError if it is corrupt, truncated or stops before its last block (module docstring)."""
    unfinished = decoder in _OUTPUTS_UNFINISHED
    variants = [stream, stream + _FILLER] + ([stream] if unfinished else [])
    fmt, pictures = decode_variants(decoder, variants, poison=unfinished)
    if fmt not in PIX_FMTS:
        raise NppError(f"decoded picture has an unsupported pixel format {fmt}")
    # an unfinished picture also differs with the filler (in the samples left unwritten): test it first
    if unfinished and not same_picture(pictures[0], pictures[2]):
        raise NppError("corrupt bitstream (the picture data stops before the picture's last block)")
    if not same_picture(pictures[0], pictures[1]):
        raise NppError("truncated bitstream (the picture data ends before the picture does)")
    depth, chroma = PIX_FMTS[fmt]
    return pictures[0], depth, chroma
