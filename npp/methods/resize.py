"""`resize:SIDE`: resize so the shorter side is SIDE px before the codec (Lanczos); the
receiver upscales the decoded image back (bicubic). What a sender who knows the vision model's
input size would send: a classifier that sees a 256 px shorter side cannot use more. Photos
whose shorter side is already SIDE or less go to the codec as they are."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
from PIL import Image

from npp.errors import NppError
from npp.image import resize_shorter_side
from npp.methods.base import Method, Prepared, no_params, number
from npp.methods.registry import register_method


@register_method("resize", example="resize:256")
class Resize(Method):
    baseline = True

    def __init__(self, side: int) -> None:
        self.side = int(side)
        self.description = f"resize to a {self.side} px shorter side before the codec, upscale after"

    @classmethod
    def from_spec(cls, spec: str, value: Optional[str], params: Dict[str, str]) -> "Resize":
        no_params(spec, params)
        side = number(value, spec, 16, 8192, "SIDE in px (16..8192)", default=None)
        if not side.is_integer():
            raise NppError(f"method {spec!r}: SIDE must be a whole number of pixels")
        return cls(int(side))

    @property
    def name(self) -> str:
        return f"resize:{self.side}"

    def original_shape(self, decoded_shape: Sequence[int]) -> Optional[tuple]:
        return None  # any photo with a larger shorter side comes out at SIDE

    def prepare(self, rgb: np.ndarray, qp: int) -> Prepared:
        return Prepared(resize_shorter_side(rgb, self.side, Image.LANCZOS, enlarge=False))
