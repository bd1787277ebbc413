"""`down:FACTOR`: downscale by FACTOR (Lanczos) before the codec; the receiver upscales the
decoded image back (bicubic). Bits are still divided by the original photo's pixels."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
from PIL import Image

from npp.methods.base import Method, Prepared, fmt, no_params, number
from npp.methods.registry import register_method


def downscale(rgb: np.ndarray, factor: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize(size, Image.LANCZOS))


@register_method("down", example="down:2")
class Down(Method):
    baseline = True

    def __init__(self, factor: float) -> None:
        self.factor = float(factor)
        self.description = f"downscale by {self.factor:g} before the codec, upscale after"

    @classmethod
    def from_spec(cls, spec: str, value: Optional[str], params: Dict[str, str]) -> "Down":
        no_params(spec, params)
        return cls(number(value, spec, 1.0, 16.0, "FACTOR (1 < FACTOR <= 16)", low_open=True))

    @property
    def name(self) -> str:
        return f"down:{self.factor:g}" if self.factor.is_integer() else f"down:{fmt(self.factor)}"

    def original_shape(self, decoded_shape: Sequence[int]) -> Optional[tuple]:
        return round(decoded_shape[0] * self.factor), round(decoded_shape[1] * self.factor)

    def prepare(self, rgb: np.ndarray, qp: int) -> Prepared:
        return Prepared(downscale(rgb, self.factor))
