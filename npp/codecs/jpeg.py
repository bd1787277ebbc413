"""JPEG through Pillow's bundled libjpeg-turbo (optimised Huffman tables, 4:2:0).

JPEG has no QP; `qp_to_quality` matches step sizes (HEVC's Qstep doubles every 6 QP and
JPEG quality 50's base table is about QP 28) so that curves over QP line up with BPG's.
A raw `quality` option bypasses the mapping.

Decoding refuses what libjpeg would quietly patch up. libjpeg fills a scan that ends early
with zero bits and only warns (which Pillow ignores), so a JPEG cut short with an end-of-image
marker appended decodes to flat grey rows. Before Pillow decodes the pixels, the file's marker
structure is walked (`read_layout`), a header claiming more blocks than the scans could hold is
refused (`npp.codecs.min_bits`), and FFmpeg's mjpeg decoder, which reports errors
(err_detect=explode), decodes the image twice, as it is and with filler bits where its scan
data ends: a picture that needs more data than the file has differs between the two (the rule
`npp.codecs.avstream` applies to HEVC and VVC)."""
from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

from npp.codecs.avstream import decode_variants, pyav_has, same_picture
from npp.codecs.base import Codec, register_codec
from npp.codecs.min_bits import check_holds, jpeg_min_bits
from npp.errors import NppError
from npp.image import MAX_PIXELS

#: start-of-frame markers of the Huffman-coded JPEG processes libjpeg and FFmpeg both decode
HUFFMAN_SOF = {0xC0: "baseline", 0xC1: "extended sequential", 0xC2: "progressive"}
#: the other start-of-frame markers (lossless, hierarchical, arithmetic-coded)
OTHER_SOF = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
SOS, EOI, SOI = 0xDA, 0xD9, 0xD8
RST = range(0xD0, 0xD8)
#: stuffed 0xFF bytes (0xFF 0x00): 256 one-bits inside the last scan's entropy-coded data
SCAN_FILLER = b"\xff\x00" * 32


@dataclass(frozen=True)
class JpegLayout:
    """What the marker structure of a JPEG says, before any pixel is decoded."""

    width: int
    height: int
    #: (H, V) sampling factors per component
    sampling: List[Tuple[int, int]]
    #: bytes of entropy-coded data in all scans
    scan_bytes: int
    #: offset of the end-of-image marker that ends the image (data after it is not this image's)
    end: int


def _scan_end(data: bytes, pos: int) -> int:
    """Offset of the marker that ends the entropy-coded data starting at `pos`."""
    while True:
        i = data.find(b"\xff", pos)
        if i < 0 or i + 1 >= len(data):
            raise NppError("truncated JPEG file (no end-of-image marker)")
        nxt = data[i + 1]
        if nxt == 0 or nxt in RST:  # stuffed byte or restart marker: still entropy-coded data
            pos = i + 2
        elif nxt == 0xFF:  # fill byte before a marker
            pos = i + 1
        else:
            return i


def _frame_header(marker: int, seg: bytes) -> Tuple[int, int, List[Tuple[int, int]]]:
    if marker in OTHER_SOF:
        raise NppError(f"unsupported JPEG process (marker 0x{marker:02X}): only Huffman-coded "
                       f"{', '.join(HUFFMAN_SOF.values())} JPEG is decoded")
    if len(seg) < 6 or len(seg) != 6 + 3 * seg[5] or seg[5] == 0:
        raise NppError("corrupt JPEG file (malformed frame header)")
    height, width = int.from_bytes(seg[1:3], "big"), int.from_bytes(seg[3:5], "big")
    sampling = [(seg[7 + 3 * k] >> 4, seg[7 + 3 * k] & 15) for k in range(seg[5])]
    if width == 0 or height == 0 or any(not (1 <= h <= 4 and 1 <= v <= 4) for h, v in sampling):
        raise NppError("corrupt JPEG file (impossible frame header)")
    return width, height, sampling


def read_layout(data: bytes) -> JpegLayout:
    """Walk the markers of a JPEG up to the end-of-image marker that ends its last scan;
    NppError for anything truncated, malformed or not Huffman-coded."""
    if data[:2] != bytes([0xFF, SOI]):
        raise NppError("not a JPEG file")
    pos, frame, scan_bytes = 2, None, 0
    while True:
        if pos + 1 >= len(data):
            raise NppError("truncated JPEG file (no end-of-image marker)")
        if data[pos] != 0xFF:
            raise NppError(f"corrupt JPEG file (no marker at byte {pos})")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == EOI:
            if not scan_bytes:
                raise NppError("corrupt JPEG file (no image data)")
            width, height, sampling = frame
            return JpegLayout(width, height, sampling, scan_bytes, pos)
        if marker in RST or marker == 0x01:
            pos += 2
            continue
        if marker == SOI or pos + 4 > len(data):
            raise NppError("corrupt or truncated JPEG file (marker structure)")
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            raise NppError("truncated JPEG file (a marker segment runs past the end)")
        seg = data[pos + 4:pos + 2 + length]
        pos += 2 + length
        if marker in HUFFMAN_SOF or marker in OTHER_SOF:
            if frame is not None:
                raise NppError("corrupt JPEG file (two frame headers)")
            frame = _frame_header(marker, seg)
        elif marker == SOS:
            if frame is None:
                raise NppError("corrupt JPEG file (scan before the frame header)")
            end = _scan_end(data, pos)
            scan_bytes += end - pos
            pos = end


def qp_to_quality(qp: int) -> int:
    """QP 22/32/42 -> quality 75/31/10 (s = 2**((QP-28)/6); q = 50/s if s > 1 else 100 - 50 s)."""
    s = 2.0 ** ((qp - 28) / 6.0)
    q = 50.0 / s if s > 1 else 100.0 - 50.0 * s
    return int(min(100, max(1, round(q))))


@register_codec("jpeg")
class JpegCodec(Codec):
    extension = ".jpg"
    aliases = (".jpeg",)

    def __init__(self, quality: Optional[int] = None) -> None:
        if quality is not None and not 1 <= int(quality) <= 100:
            raise NppError(f"JPEG quality must be in 1..100, got {quality}")
        self.quality = None if quality is None else int(quality)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--quality", type=int, default=None, choices=range(1, 101), metavar="1..100",
                            help="jpeg: raw quality (overrides the QP mapping)")

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> Dict[str, object]:
        quality = getattr(args, "quality", None)
        return {} if quality is None else {"quality": quality}

    def options(self) -> dict:
        return {"quality": self.quality} if self.quality is not None else {}

    def encode_bytes(self, rgb: np.ndarray, qp: int) -> bytes:
        q = self.quality if self.quality is not None else qp_to_quality(qp)
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=q, optimize=True, subsampling="4:2:0")
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        if not self.sniff(data):
            raise NppError("not a JPEG file")
        layout = read_layout(data)
        if layout.width * layout.height > MAX_PIXELS:
            raise NppError(f"JPEG image is {layout.width}x{layout.height}, beyond the {MAX_PIXELS / 1e6:.0f} MP limit")
        check_holds("JPEG file", layout.width, layout.height,
                    jpeg_min_bits(layout.width, layout.height, layout.sampling), layout.scan_bytes)
        check_complete(data, layout)
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
        except Exception as exc:
            raise NppError(f"corrupt JPEG file ({exc})") from None

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return data[:3] == b"\xff\xd8\xff"


def check_complete(data: bytes, layout: JpegLayout) -> None:
    """NppError unless FFmpeg's mjpeg decoder decodes the image without error, and to the same
    picture with filler bits where its scan data ends (see the module docstring)."""
    ok, reason = pyav_has("mjpeg")
    if not ok:
        raise NppError(f"cannot check JPEG data here: {reason}")
    image = data[:layout.end + 2]  # anything after its end-of-image marker is not this image
    filled = image[:layout.end] + SCAN_FILLER + image[layout.end:]
    try:
        _, (plain, padded) = decode_variants("mjpeg", [image, filled])
    except NppError as exc:
        raise NppError(f"JPEG: {exc}") from None
    if not same_picture(plain, padded):
        raise NppError("JPEG: truncated bitstream (the picture data ends before the picture does)")
