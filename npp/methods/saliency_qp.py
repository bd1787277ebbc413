"""`saliency-qp` / `saliency-qp:STRENGTH`: no training and no change to the pixels; the sender's
classifier says where it looks (Grad-CAM) and the codec spends bits there: each 32x32 block's
QP moves by STRENGTH * (1 - 2 * its mean saliency), from -STRENGTH on the object to +STRENGTH on
the background. Needs a codec that takes per-block QP offsets (BPG).

Why Grad-CAM rather than input-gradient saliency: a QP map acts on whole blocks, and Grad-CAM
is object-level and smooth (it lives on the network's last feature grid, 7x7 for a 224 px input),
where input gradients are pixel-level, noisy and peak on edges and texture, which the codec
already spends bits on. The rule (the mask of `npp.methods.saliency`;
32x32 blocks; strength 5 QP) is the one measured on 20 unseen photos under the model-input
protocol (-13.4% bits at equal KL against the same encoder without offsets; 10 QP: +3.8%)."""
from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np

from npp.codecs.qpmap import MAX_OFFSET, expand
from npp.methods.base import Method, Prepared, fmt, no_params, number
from npp.methods.registry import register_method
from npp.methods.saliency import SENDER, saliency_mask

#: QP steps between a block's neutral QP and its QP on the object or background
DEFAULT_STRENGTH = 5.0
#: the blocks whose mean saliency sets one offset (a multiple of the codec's 16)
BLOCK_PX = 32


def block_means(mask: np.ndarray, block: int = BLOCK_PX) -> np.ndarray:
    """The mean of an HxW mask over each `block` x `block` block (edge blocks: their own pixels)."""
    h, w = mask.shape
    rows, cols = math.ceil(h / block), math.ceil(w / block)
    total = np.zeros((rows * block, cols * block), np.float64)
    count = np.zeros_like(total)
    total[:h, :w] = mask
    count[:h, :w] = 1.0
    return total.reshape(rows, block, cols, block).sum((1, 3)) / count.reshape(rows, block, cols, block).sum((1, 3))


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
        return f"{self.name}#{SENDER}"

    def offsets(self, rgb: np.ndarray) -> np.ndarray:
        """The per-16x16-block QP offsets this method sends with `rgb`."""
        return offsets_from_means(block_means(saliency_mask(rgb, self.device)), self.strength, *rgb.shape[:2])

    def prepare(self, rgb: np.ndarray, qp: int) -> Prepared:
        return Prepared(rgb, self.offsets(rgb))
