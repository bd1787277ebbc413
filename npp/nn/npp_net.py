"""NPP: the neural pre-processor that filters an image before a standard codec.

output = clamp(pixel_branch(x) + unet(x), 0, 1), both branches scaled per channel by the QA
layers from the codec's QP. The pixel branch starts as the identity and the U-Net's last
layer near zero, so a fresh NPP returns (almost) its input and does no harm.

`lowpass=sigma > 0` is this project's variant (not the paper's): the pixel branch sees
`x + a(QP) * (k * x - x)`, a learnable 5x5 depthwise kernel `k` that starts as a Gaussian of
that sigma, blended in by a QA scale `a`. Such a fresh NPP starts as the classical blur
pre-filter instead of the identity, and training learns where to keep or drop more detail.

`keep_tone=sigma > 0` (also this project's) removes the low-frequency part of the change:
`y = z - G_sigma * (z - x)` for the network's output `z`, a fixed Gaussian of that sigma.
Trained NPPs shifted tone and colour (mean shifts of up to 9 grey levels, 31-41 dB between the
8x8 block means of input and output, where a sigma-1 blur keeps 42-61 dB), which saves few bits
and moves the classifier; the D_pre penalty alone did not stop it. With it, the network can
only change detail finer than about 2*pi*sigma pixels."""
from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from npp.nn.qa import QAScale, qp_tensor
from npp.nn.unet import UNet

MULTIPLE = 16
LOWPASS_SIZE = 5


def gaussian_1d(sigma: float, size: int) -> torch.Tensor:
    """A normalised 1-D Gaussian of SIZE taps."""
    r = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_kernel(sigma: float, size: int) -> torch.Tensor:
    """A normalised 2-D Gaussian, 1x1xSIZExSIZE."""
    g = gaussian_1d(sigma, size)
    return (g[:, None] * g[None, :])[None, None]


class NPP(nn.Module):
    def __init__(self, width: float = 1.0, upsample: str = "resize", qa_hidden: int = 64, lowpass: float = 0.0,
                 keep_tone: float = 0.0) -> None:
        super().__init__()
        self.config = {"width": float(width), "upsample": upsample, "qa_hidden": int(qa_hidden)}
        self.keep_tone = float(keep_tone)
        if keep_tone > 0:
            self.config["keep_tone"] = self.keep_tone
            g = gaussian_1d(keep_tone, 2 * int(3 * keep_tone) + 1)
            self.register_buffer("tone_kernel", g.reshape(1, 1, -1), persistent=False)
        self.lowpass: Optional[nn.Conv2d] = None
        if lowpass > 0:
            self.config["lowpass"] = float(lowpass)
            self.lowpass = nn.Conv2d(3, 3, LOWPASS_SIZE, padding=LOWPASS_SIZE // 2, groups=3, bias=False,
                                     padding_mode="replicate")
            with torch.no_grad():
                self.lowpass.weight.copy_(gaussian_kernel(lowpass, LOWPASS_SIZE).expand(3, 1, -1, -1))
            self.qa_lowpass = QAScale(3, qa_hidden)
        self.pix1 = nn.Conv2d(3, 3, 1)
        self.pix2 = nn.Conv2d(3, 3, 1)
        for conv in (self.pix1, self.pix2):
            with torch.no_grad():
                conv.weight.copy_(torch.eye(3)[:, :, None, None])
                conv.bias.zero_()
        self.qa_pix1 = QAScale(3, qa_hidden)
        self.qa_pix2 = QAScale(3, qa_hidden)
        self.unet = UNet(width, upsample, qa_hidden)

    def forward(self, x: torch.Tensor, qp: Union[int, float, torch.Tensor]) -> torch.Tensor:
        """x: Bx3xHxW in [0, 1]; qp: codec QP (int or length-B tensor) -> filtered, same shape."""
        b, _, h, w = x.shape
        q = qp_tensor(qp, b, x.device).to(x.dtype)
        ph, pw = (-h) % MULTIPLE, (-w) % MULTIPLE
        xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        p = xp
        if self.lowpass is not None:
            p = xp + self.qa_lowpass(q) * (self.lowpass(xp) - xp)
        p = torch.relu(self.pix1(p)) * self.qa_pix1(q)
        p = torch.relu(self.pix2(p)) * self.qa_pix2(q)
        y = p + self.unet(xp, q)
        if self.keep_tone > 0:
            y = y - self._tone(y - xp)
        return y[:, :, :h, :w].clamp(0.0, 1.0)

    def _tone(self, d: torch.Tensor) -> torch.Tensor:
        """Separable Gaussian (replicate borders) of a Bx3xHxW difference."""
        k = self.tone_kernel.to(d.dtype)
        r = k.shape[-1] // 2
        for _ in range(2):  # along rows, then (transposed) along columns; back in place after two
            d = F.conv1d(F.pad(d.reshape(-1, 1, d.shape[-1]), (r, r), mode="replicate"), k).reshape(d.shape)
            d = d.transpose(2, 3)
        return d
