"""`saliency-qp` / `saliency-qp:STRENGTH`: no training and no change to the pixels; the sender's
classifier says where it looks (Grad-CAM) and the codec spends bits there: each 32x32 block's
QP moves by STRENGTH * (1 - 2 * its mean saliency), from -STRENGTH on the object to +STRENGTH on
the background. Needs a codec that takes per-block QP offsets (BPG).

Why Grad-CAM rather than input-gradient saliency: a QP map acts on whole blocks, and Grad-CAM
is object-level and smooth (it lives on the network's last feature grid, 7x7 for a 224 px input),
where input gradients are pixel-level, noisy and peak on edges and texture, which the codec
already spends bits on. The rule (CAM smoothed by 8 px at the classifier's 224 px scale,
normalised to a peak of 1, x1.6 so the object's core saturates, clipped to [0, 1]; 32x32
blocks; strength 5 QP) is the one measured on 20 unseen photos under the model-input
protocol (-13.4% bits at equal KL against the same encoder without offsets; 10 QP: +3.8%).
The map depends only on the photo, not on the QP: the block saliency of the last few photos is
kept, so an evaluation over many QPs and strengths runs Grad-CAM once per photo."""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np

from npp.codecs.qpmap import MAX_OFFSET, expand
from npp.image import resize_shorter_side
from npp.methods.base import Method, Prepared, fmt, no_params, number
from npp.methods.cache import pixels_hash
from npp.methods.registry import register_method

#: QP steps between a block's neutral QP and its QP on the object or background
DEFAULT_STRENGTH = 5.0
#: the blocks whose mean saliency sets one offset (a multiple of the codec's 16)
BLOCK_PX = 32
#: the scale at which the CAM is computed and smoothed (the classifier's input size)
CAM_SIDE = 224
#: Gaussian smoothing of the CAM at CAM_SIDE, px
SMOOTH_PX = 8.0
#: gain after normalising the CAM to a peak of 1, before clipping to [0, 1]
GAIN = 1.6
#: photos whose block saliency is kept (a few floats per 32x32 block each)
REMEMBERED = 16

_MEANS: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
_MEANS_LOCK = threading.Lock()


def saliency_mask(model, rgb: np.ndarray) -> np.ndarray:
    """HxW in [0, 1]: where `model` (a classifier) finds its top-1 class in `rgb`; all zeros
    when its Grad-CAM is empty."""
    import torch
    import torch.nn.functional as F
    from scipy.ndimage import gaussian_filter

    from npp.vision.gradcam import classifier_cam

    small = resize_shorter_side(rgb, CAM_SIDE, enlarge=False)
    cam, _ = classifier_cam(model, small)
    cam = gaussian_filter(cam.astype(np.float32), SMOOTH_PX * min(small.shape[:2]) / CAM_SIDE, mode="nearest")
    peak = float(cam.max())
    if peak <= 1e-6:
        return np.zeros(rgb.shape[:2], np.float32)
    mask = np.clip(GAIN * cam / peak, 0.0, 1.0)
    t = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None]
    return F.interpolate(t, size=rgb.shape[:2], mode="bilinear", align_corners=False)[0, 0].clamp(0, 1).numpy()


def block_means(mask: np.ndarray, block: int = BLOCK_PX) -> np.ndarray:
    """The mean of an HxW mask over each `block` x `block` block (edge blocks: their own pixels)."""
    h, w = mask.shape
    rows, cols = math.ceil(h / block), math.ceil(w / block)
    total = np.zeros((rows * block, cols * block), np.float64)
    count = np.zeros_like(total)
    total[:h, :w] = mask
    count[:h, :w] = 1.0
    return total.reshape(rows, block, cols, block).sum((1, 3)) / count.reshape(rows, block, cols, block).sum((1, 3))


def block_saliency(model, rgb: np.ndarray) -> np.ndarray:
    """`block_means` of `saliency_mask`, remembered for the last REMEMBERED photos and models."""
    key = (id(model), pixels_hash(rgb))
    with _MEANS_LOCK:
        if key in _MEANS:
            _MEANS.move_to_end(key)
            return _MEANS[key]
    means = block_means(saliency_mask(model, rgb))
    with _MEANS_LOCK:
        _MEANS[key] = means
        while len(_MEANS) > REMEMBERED:
            _MEANS.popitem(last=False)
    return means


def offsets_from_means(means: np.ndarray, strength: float, height: int, width: int) -> np.ndarray:
    """Per-16x16-block QP offsets (`npp.codecs.qpmap`): strength * (1 - 2 * block mean)."""
    return expand((strength * (1.0 - 2.0 * means)).astype(np.float32), BLOCK_PX, height, width)


@register_method("saliency-qp", example="saliency-qp:5.0")
class SaliencyQp(Method):
    uses_models = True

    def __init__(self, strength: float = DEFAULT_STRENGTH, device: Optional[str] = None) -> None:
        self.strength = float(strength)
        self.device = device
        self.description = (f"the sender's classifier's Grad-CAM sets per-block QP offsets "
                            f"(+-{self.strength:g} QP, finer on the object); pixels unchanged")

    @classmethod
    def from_spec(cls, spec: str, value: Optional[str], params: Dict[str, str]) -> "SaliencyQp":
        no_params(spec, params)
        return cls(number(value, spec, 0.0, MAX_OFFSET, f"STRENGTH in QP steps (0 < STRENGTH <= {MAX_OFFSET:g})",
                          default=DEFAULT_STRENGTH, low_open=True))

    @property
    def name(self) -> str:
        return f"saliency-qp:{fmt(self.strength)}"

    @property
    def key(self) -> str:
        from npp.vision import DEFAULTS

        return f"{self.name}#{DEFAULTS['cls']}"

    def model(self):
        """The sender's classifier: the offline default (shared with every other caller)."""
        from npp.vision import create_model

        return create_model(task="cls", device=self.device)

    def offsets(self, rgb: np.ndarray) -> np.ndarray:
        """The per-16x16-block QP offsets this method sends with `rgb`."""
        return offsets_from_means(block_saliency(self.model(), rgb), self.strength, *rgb.shape[:2])

    def prepare(self, rgb: np.ndarray, qp: int) -> Prepared:
        return Prepared(rgb, self.offsets(rgb))
