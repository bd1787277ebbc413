"""The classification protocol: the codec works on the full-resolution image; the
classifier sees the decoded image resized so its shorter side is 256 px and cropped to
224 x 224 (the usual ImageNet evaluation), at the centre and, for a steadier fidelity
estimate on few images, at the four corners too."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from npp.image import resize_shorter_side

RESIZE = 256
CROP = 224
#: crop positions as (row, column) fractions of the free margin
POSITIONS = {
    "center": (0.5, 0.5),
    "top_left": (0.0, 0.0),
    "top_right": (0.0, 1.0),
    "bottom_left": (1.0, 0.0),
    "bottom_right": (1.0, 1.0),
}


def crops(rgb: np.ndarray, positions: Tuple[str, ...] = tuple(POSITIONS)) -> np.ndarray:
    """N x 224 x 224 x 3 uint8 crops of the resized image, one per named position."""
    small = resize_shorter_side(rgb, RESIZE)
    h, w = small.shape[:2]
    out = []
    for name in positions:
        fy, fx = POSITIONS[name]
        y, x = round((h - CROP) * fy), round((w - CROP) * fx)
        out.append(small[y:y + CROP, x:x + CROP])
    return np.stack(out)
