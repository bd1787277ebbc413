"""What happens to an image before the codec and after the decoder, per branch:

- `<codec>`: the plain codec;
- `npp+<codec>`: NPP filters the image (for the QP) before the codec;
- `blur<S>+<codec>`: a Gaussian blur of standard deviation S px before the codec;
- `down<F>+<codec>`: downscale by F before the codec, upscale the decoded image back.

Bits are always counted against the original image's pixels, so a downscaled branch's
bpp is comparable with the others. The uncompressed image is the reference point."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
from PIL import Image

from npp.errors import NppError


@dataclass(frozen=True)
class Branch:
    """One way of preparing an image for the codec. `kind` is plain, npp, blur or down."""

    kind: str
    param: float = 0.0

    def name(self, codec: str) -> str:
        if self.kind == "plain":
            return codec
        if self.kind == "npp":
            return f"npp+{codec}"
        value = f"{self.param:g}"
        if self.kind == "blur" and "." not in value:
            value += ".0"  # blur1.0, as in the paper's naming; down2 stays an integer factor
        return f"{self.kind}{value}+{codec}"

    @property
    def key(self) -> str:
        """Identifies the filter in cache keys (NPP adds its weights hash separately)."""
        return self.kind if self.kind in ("plain", "npp") else f"{self.kind}:{self.param!r}"

    def prefilter(self, rgb: np.ndarray) -> np.ndarray:
        """The image the codec sees (NPP is applied by the caller, which holds the model)."""
        if self.kind == "blur":
            return gaussian_blur(rgb, self.param)
        if self.kind == "down":
            h, w = rgb.shape[:2]
            size = (max(1, round(w / self.param)), max(1, round(h / self.param)))
            return np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))
        return rgb

    def postfilter(self, decoded: np.ndarray, shape: Sequence[int]) -> np.ndarray:
        """The decoded image at the original size (only `down` changes anything)."""
        if decoded.shape[:2] != tuple(shape[:2]):
            return np.asarray(Image.fromarray(decoded).resize((shape[1], shape[0]), Image.BICUBIC))
        return decoded


def gaussian_blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of each channel (standard deviation `sigma` px, mirrored edges)."""
    from scipy.ndimage import gaussian_filter

    out = gaussian_filter(rgb.astype(np.float32), sigma=(sigma, sigma, 0), mode="mirror")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


PLAIN = Branch("plain")
NPP = Branch("npp")


def parse_baselines(spec: Optional[str]) -> List[Branch]:
    """`"blur:0.6,blur:1.0,down:2"` -> baseline branches; empty or None -> none."""
    out: List[Branch] = []
    for item in filter(None, (s.strip() for s in (spec or "").split(","))):
        kind, _, value = item.partition(":")
        try:
            param = float(value)
        except ValueError:
            raise NppError(f"--baselines: {item!r} is not KIND:NUMBER (e.g. blur:1.0, down:2)") from None
        if kind == "blur" and 0 < param <= 20:
            out.append(Branch("blur", param))
        elif kind == "down" and 1 < param <= 16:
            out.append(Branch("down", param))
        else:
            raise NppError(f"--baselines: {item!r}: use blur:SIGMA (0 < SIGMA <= 20) or down:FACTOR (1 < FACTOR <= 16)")
    if len({b.key for b in out}) != len(out):
        raise NppError("--baselines: a baseline is listed twice")
    return out
