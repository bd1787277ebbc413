"""Evaluation protocols: what the codec gets and what the vision model sees of the decoded image.

- `full` (the project's first protocol): the codec works on the full-resolution photo; the
  classifier sees the decoded photo resized to a 256 px shorter side and cropped to 224 x 224
  (centre and four corners, for a steadier fidelity estimate on few photos); the detector sees
  the decoded photo (shrunk to at most DET_MAX_SIDE px). Anything finer than the classifier's
  input grid is invisible to it, so low-pass filtering and resizing are nearly free here.
- `model-input` (sc2bench's): the photo is first brought to what the model sees (for a
  classifier: resized to a 256 px shorter side and centre-cropped to 224 x 224; for a detector:
  its own input size), THEN coded; the model sees the decoded image itself. No free low-pass:
  a method has to keep what the model uses and drop the rest.

Bits are divided by the pixels of what enters the method, which is the full photo under
`full` and the model's input under `model-input`."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from PIL import Image

from npp.evaluate.crops import CROP, RESIZE, crops
from npp.image import resize_shorter_side

PROTOCOLS = ("full", "model-input")
#: the method name of each image's uncompressed reference row
REFERENCE = "uncompressed"
#: detection inputs larger than this (longer side, px) are shrunk before the detector under
#: `full`; NanoDet works at 416 px anyway. Boxes are scaled back to the photo's pixels.
DET_MAX_SIDE = 1024


def centre_crop(rgb: np.ndarray, size: int = CROP) -> np.ndarray:
    """The classifier's view: a 256 px shorter side, then the centre 224 x 224."""
    small = resize_shorter_side(rgb, RESIZE)
    h, w = small.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(small[y:y + size, x:x + size])


def detector_input(rgb: np.ndarray, input_size: Optional[int]) -> np.ndarray:
    """A detector's own input: its square input size (NanoDet resizes, no letterbox), or for
    models without one the photo shrunk to at most DET_MAX_SIDE px."""
    if input_size:
        return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((input_size, input_size), Image.BILINEAR))
    return shrink(rgb, DET_MAX_SIDE)[0]


def shrink(rgb: np.ndarray, longest: int) -> Tuple[np.ndarray, float]:
    """(`rgb` shrunk so its longer side is at most `longest`, the scale applied)."""
    scale = min(1.0, longest / max(rgb.shape[:2]))
    if scale == 1.0:
        return rgb, 1.0
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR)), scale


def source(rgb: np.ndarray, protocol: str, task: str, det_input_size: Optional[int] = None) -> np.ndarray:
    """What enters the method (and what bits are divided by) under `protocol`."""
    if protocol == "full":
        return rgb
    return centre_crop(rgb) if task == "cls" else detector_input(rgb, det_input_size)


def classifier_view(decoded: np.ndarray, protocol: str) -> np.ndarray:
    """N x 224 x 224 x 3 crops the classifier sees of a decoded image."""
    return crops(decoded) if protocol == "full" else decoded[None]


def detector_view(decoded: np.ndarray, protocol: str) -> Tuple[np.ndarray, float]:
    """(image the detector sees, scale from the decoded image's pixels to it)."""
    return shrink(decoded, DET_MAX_SIDE) if protocol == "full" else (decoded, 1.0)
