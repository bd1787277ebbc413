"""The one engine behind `npp compress`, the app's Compare and Curves tabs and `npp evaluate`:
a method prepares the photo, a real codec writes the file, the file is decoded and the method's
receiver step restores it. Bits are those of the written file, divided by the ORIGINAL photo's
pixels, so methods that send fewer pixels (downscale, resize) are charged fairly."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from npp.codecs import Codec
from npp.methods.base import Method, Prepared
from npp.methods.cache import EncodeCache, encode_key, pixels_hash


@dataclass
class Coded:
    """One photo through one method and codec at one QP."""

    method: str
    codec: str
    qp: int
    #: the real file's bytes (what `npp compress` writes)
    data: bytes
    #: the original photo's size: bpp is counted against it
    width: int
    height: int
    #: what the codec got (NPP's output, the blurred or resized image); None when the file
    #: came from the cache and the caller did not pass the prepared image
    sent: Optional[np.ndarray]
    #: what the receiver uses: decoded and restored to the original size
    decoded: np.ndarray
    encode_ms: float
    cached: bool = False

    @property
    def nbytes(self) -> int:
        return len(self.data)

    @property
    def bits(self) -> int:
        return 8 * len(self.data)

    @property
    def bpp(self) -> float:
        """Bits per pixel of the original photo: 8 * file bytes / (W * H)."""
        return 8.0 * len(self.data) / (self.width * self.height)


def code(method: Method, codec: Codec, rgb: np.ndarray, qp: int, prepared: Optional[Prepared] = None,
         cache: Optional[EncodeCache] = None, rgb_hash: Optional[str] = None) -> Coded:
    """Run `rgb` through `method` and `codec` at `qp`. `prepared` is the method's output when
    the caller already has it (NPP batched elsewhere); `cache` keeps the written files by
    everything that determines them, so a repeated point decodes without encoding."""
    h, w = rgb.shape[:2]
    key = None
    data = None
    if cache is not None:
        key = encode_key(rgb_hash or pixels_hash(rgb), codec.name, qp, codec.options(), method.key)
        data = cache.get(key, codec.extension)
    cached = data is not None
    ms = 0.0
    if data is None:
        prepared = prepared or method.prepare(rgb, qp)
        enc = codec.encode(prepared.rgb, qp, prepared.qp_offsets)
        data, ms = enc.data, enc.encode_ms
        if cache is not None:
            cache.put(key, codec.extension, data)
    decoded = method.restore(codec.decode(data), rgb.shape)
    sent = prepared.rgb if prepared is not None else None
    return Coded(method.name, codec.name, int(qp), data, w, h, sent, decoded, ms, cached)
