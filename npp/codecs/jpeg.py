"""JPEG through Pillow's bundled libjpeg-turbo (optimised Huffman tables, 4:2:0).

JPEG has no QP; `qp_to_quality` matches step sizes (HEVC's Qstep doubles every 6 QP and
JPEG quality 50's base table is about QP 28) so that curves over QP line up with BPG's.
A raw `quality` option bypasses the mapping."""
from __future__ import annotations

import argparse
import io
from typing import Dict, Optional

import numpy as np
from PIL import Image

from npp.codecs.base import Codec, register_codec
from npp.errors import NppError


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
        if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
            raise NppError("truncated JPEG file (no end-of-image marker)")
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
        except Exception as exc:
            raise NppError(f"corrupt JPEG file ({exc})") from None

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return data[:3] == b"\xff\xd8\xff"
