"""`blur:SIGMA`: a Gaussian blur of SIGMA px before the codec. Under the full-resolution
protocol most fine detail never reaches the classifier, so this is the first thing a learned
pre-filter has to beat."""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from npp.methods.base import Method, Prepared, fmt, no_params, number
from npp.methods.registry import register_method


def gaussian_blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of each channel (standard deviation `sigma` px, mirrored edges)."""
    from scipy.ndimage import gaussian_filter

    out = gaussian_filter(rgb.astype(np.float32), sigma=(sigma, sigma, 0), mode="mirror")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@register_method("blur", example="blur:1.0")
class Blur(Method):
    baseline = True

    def __init__(self, sigma: float) -> None:
        self.sigma = float(sigma)
        self.description = f"Gaussian blur (sigma {self.sigma:g} px) before the codec"

    @classmethod
    def from_spec(cls, spec: str, value: Optional[str], params: Dict[str, str]) -> "Blur":
        no_params(spec, params)
        return cls(number(value, spec, 0.0, 20.0, "SIGMA in px (0 < SIGMA <= 20)", low_open=True))

    @property
    def name(self) -> str:
        return f"blur:{fmt(self.sigma)}"

    def prepare(self, rgb: np.ndarray, qp: int) -> Prepared:
        return Prepared(gaussian_blur(rgb, self.sigma))
