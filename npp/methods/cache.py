"""A resumable cache of codec files on disk, so an interrupted or repeated evaluation
only encodes what is missing. An entry is the exact file the codec wrote, keyed by the
image's pixels, the codec, its QP and options, and the method (whose key includes any
weights it runs)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Mapping, Optional

import numpy as np

from npp.fsutil import atomic_write_bytes


def pixels_hash(rgb: np.ndarray) -> str:
    """SHA-256 of an image's shape and pixels (the same photo re-saved losslessly hits)."""
    h = hashlib.sha256(repr(tuple(rgb.shape)).encode())
    h.update(np.ascontiguousarray(rgb).data)
    return h.hexdigest()


def encode_key(image_hash: str, codec: str, qp: int, options: Mapping[str, object], method: str) -> str:
    """The cache key of one encode: everything that changes the written bytes."""
    spec = {"image": image_hash, "codec": codec, "qp": int(qp), "options": dict(options), "method": method}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


class EncodeCache:
    """Codec files under `root/<k[:2]>/<key><ext>`, written atomically (a killed run never
    leaves a partial entry). Safe for several processes: the same key always has the same
    bytes, and the last rename wins."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str, ext: str) -> Path:
        return self.root / key[:2] / f"{key}{ext}"

    def get(self, key: str, ext: str) -> Optional[bytes]:
        try:
            return self.path(key, ext).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, ext: str, data: bytes) -> None:
        atomic_write_bytes(self.path(key, ext), data)
