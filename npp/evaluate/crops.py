"""The classification protocol: the codec works on the full-resolution image; the
classifier sees the decoded image resized so its shorter side is 256 px and cropped to
224 x 224 (the usual ImageNet evaluation), at the centre and, for a steadier fidelity
estimate on few images, at the four corners too."""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch
from PIL import Image

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


def resize_shorter(rgb: np.ndarray, side: int = RESIZE) -> np.ndarray:
    """Resize (bilinear, antialiased as Pillow does) so the shorter side is `side` px."""
    h, w = rgb.shape[:2]
    scale = side / min(h, w)
    size = (max(side, round(w * scale)), max(side, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))


def crops(rgb: np.ndarray, positions: Tuple[str, ...] = tuple(POSITIONS)) -> np.ndarray:
    """N x 224 x 224 x 3 uint8 crops of the resized image, one per named position."""
    small = resize_shorter(rgb)
    h, w = small.shape[:2]
    out = []
    for name in positions:
        fy, fx = POSITIONS[name]
        y, x = round((h - CROP) * fy), round((w - CROP) * fx)
        out.append(small[y:y + CROP, x:x + CROP])
    return np.stack(out)


def to_tensor(batch: np.ndarray) -> torch.Tensor:
    """N x H x W x 3 uint8 -> N x 3 x H x W float in [0, 1] (what the classifiers take)."""
    return torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255.0)
