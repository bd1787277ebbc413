"""Calibrating the proxy's rate gradient against the real codec, once per training run.

A proxy can track the real codec's bpp well on average and still react too weakly or too
strongly to a change of its input: the shipped DCT proxy predicted about a third of the bits
a light blur really saves at QP 28 and a bit more than the real saving at QP 41. NPP learns
only from the proxy's gradients, so such a proxy makes removing detail look cheaper or
dearer than it is. The gain per QP is the real codec's bpp change divided by the proxy's
for one fixed displacement (a Gaussian blur of sigma 1) of real training crops; the
straight-through layer multiplies the proxy's rate gradient by it."""
from __future__ import annotations

from typing import Dict, Sequence

import torch
import torchvision.transforms.functional as TF
from torch import nn

from npp.nn.codec_layer import RealCodec
from npp.train.data import PhotoCrops

#: the displacement the gain is measured along, and the bounds it is clamped to
SIGMA = 1.0
GAIN_RANGE = (0.25, 8.0)
CALIBRATION_STEP = 2**31  # a batch index no training step uses


@torch.no_grad()
def rate_gains(proxy: nn.Module, real: RealCodec, data: PhotoCrops, qps: Sequence[int], seed: int,
               crops: int = 8, device: torch.device | str = "cpu") -> Dict[int, float]:
    """{QP: real bpp change / proxy bpp change} for blurring `crops` training crops."""
    x = torch.from_numpy(data.batch(seed, CALIBRATION_STEP, 0, crops)).to(device)
    k = 2 * int(3 * SIGMA) + 1
    y = TF.gaussian_blur(x, [k, k], [SIGMA, SIGMA])
    gains = {}
    for qp in sorted(set(int(q) for q in qps)):
        q = torch.full((crops,), qp, device=device)
        real_change = (real(y, q)[1] - real(x, q)[1]).mean().item()
        proxy_change = (proxy(y, q)[1] - proxy(x, q)[1]).mean().item()
        ratio = real_change / proxy_change if proxy_change < 0 and real_change < 0 else 1.0
        gains[qp] = round(min(max(ratio, GAIN_RANGE[0]), GAIN_RANGE[1]), 3)
    return gains
