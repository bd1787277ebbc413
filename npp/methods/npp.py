"""`npp` / `npp[weights=PATH]`: the neural pre-processor (the shipped weights, or a file from
`npp train`) filters the photo for the codec's QP. What else it does is recorded in its weights:
an NPP trained at the classifier's scale (`input_side`) first resizes the photo to it, and the
receiver upscales back; one with a saliency input asks the sender's classifier where it looks;
one with a QP-map head also sends per-block QP offsets (codecs that take them: bpg)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
from PIL import Image

from npp.errors import NppError
from npp.image import resize_shorter_side
from npp.methods.base import Method, Prepared
from npp.methods.registry import register_method


def file_hash(path: Path) -> str:
    """SHA-256 of a weights file (part of cache keys: other weights, other pixels)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@register_method("npp")
class Npp(Method):
    uses_models = True
    description = "the neural pre-processor (NPP) filters the photo for the QP, then the codec"

    def __init__(self, weights: Optional[str] = None, device: Optional[str] = None, shown_as: Optional[str] = None) -> None:
        """`shown_as` names the method in results instead of its spec: the app shows a Train-tab
        checkpoint as "npp" without putting a server path in what visitors see."""
        from npp.nn.zoo import SHIPPED_NPP

        self.weights = None if weights is None else str(weights)
        self.path = Path(weights) if weights is not None else SHIPPED_NPP
        if not self.path.is_file():
            where = f"weights {weights}" if weights is not None else f"no shipped NPP weights at {self.path}"
            raise NppError(f"method npp: {where}: no such file" if weights is not None else
                           f"method npp: {where}; train some with `npp train` and use npp[weights=PATH]")
        self.device = device
        self.shown_as = shown_as
        self._hash: Optional[str] = None

    @classmethod
    def from_spec(cls, spec: str, value: Optional[str], params: Dict[str, str]) -> "Npp":
        unknown = set(params) - {"weights"}
        if value is not None or unknown:
            raise NppError(f"method {spec!r}: use npp or npp[weights=PATH]")
        return cls(params.get("weights"))

    @property
    def name(self) -> str:
        if self.shown_as:
            return self.shown_as
        return "npp" if self.weights is None else f"npp[weights={self.weights}]"

    @property
    def key(self) -> str:
        if self._hash is None:
            self._hash = file_hash(self.path)
        return f"npp#{self._hash[:20]}"

    def model(self):
        """The network (loaded once per file and device, shared by every caller)."""
        from npp.nn.zoo import load_npp

        return load_npp(self.path, device=self.device)

    def original_shape(self, decoded_shape: Sequence[int]) -> Optional[tuple]:
        return None if self.model().input_side else tuple(decoded_shape[:2])

    def prepare(self, rgb: np.ndarray, qp: int) -> Prepared:
        from npp.nn.zoo import run_npp

        model = self.model()
        if model.input_side:
            rgb = resize_shorter_side(rgb, model.input_side, Image.LANCZOS, enlarge=False)
        pixels, offsets = run_npp(model, rgb, int(qp))
        return Prepared(pixels, offsets)
