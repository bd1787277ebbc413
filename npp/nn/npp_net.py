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
only change detail finer than about 2*pi*sigma pixels.

`saliency=NAME` (this project's, for the fair-science protocol) gives the U-Net a fourth input
channel: a map in [0, 1] of where the sender's classifier NAME looks (its Grad-CAM,
`npp.vision.gradcam.classifier_saliency`), so a
small network trained on a CPU can keep the object and drop the background without learning
ImageNet semantics itself. `qp_map=A > 0` adds a head on the U-Net's deepest features (one
vector per 16x16 block) giving per-block QP offsets (`npp.codecs.qpmap`), A * tanh of the
head's output less its mean over the picture, starting at zero: the map moves bits between
blocks and keeps the picture's mean QP at the codec's QP, so QP keeps its meaning. With a codec
that takes them, NPP decides where bits go as well as what pixels to send. `forward(..., with_offsets=True)` returns both (through `forward`, so
DistributedDataParallel sees the call); by default only the pixels."""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from npp.nn.qa import QAScale, qp_tensor
from npp.nn.unet import UNet, receptive_radius

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
                 keep_tone: float = 0.0, saliency: str = "", qp_map: float = 0.0, input_side: int = 0) -> None:
        """`input_side` > 0 records the scale NPP was trained at (photos shrunk to that shorter
        side): the `npp` method resizes to it before filtering; it changes nothing here."""
        super().__init__()
        self.config = {"width": float(width), "upsample": upsample, "qa_hidden": int(qa_hidden)}
        self.input_side = int(input_side)
        if self.input_side:
            self.config["input_side"] = self.input_side
        self.saliency = str(saliency or "")
        if self.saliency:
            self.config["saliency"] = self.saliency
        self.qp_map = float(qp_map)
        self.qp_head: Optional[nn.Conv2d] = None
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
        self.unet = UNet(width, upsample, qa_hidden, in_channels=4 if self.saliency else 3)
        if self.qp_map > 0:
            self.config["qp_map"] = self.qp_map
            self.qp_head = nn.Conv2d(2 * self.unet.channels[3], 1, 1)
            nn.init.zeros_(self.qp_head.weight)
            nn.init.zeros_(self.qp_head.bias)
            self.qa_qp = QAScale(1, qa_hidden)

    @property
    def halo(self) -> int:
        """Input pixels beyond each side of a region that its output depends on, rounded up to a
        multiple of 16: a tile of the input with this much margin around its core gives that
        core's output exactly as the whole image does (`npp.nn.zoo.run_npp`). The U-Net (its
        saliency channel included) sees `receptive_radius()` (137) pixels, the pixel branch's
        low-pass filter 2, and the keep_tone Gaussian then reaches 3 sigma further (its kernel has
        6 sigma + 1 taps). The QP-map head reads the U-Net's deepest features, which see less (a
        16x16 block and 77 pixels around it)."""
        reach = max(receptive_radius(), LOWPASS_SIZE // 2 if self.lowpass is not None else 0)
        if self.keep_tone > 0:
            reach += self.tone_kernel.shape[-1] // 2
        return -(-reach // MULTIPLE) * MULTIPLE

    def forward(self, x: torch.Tensor, qp: Union[int, float, torch.Tensor], saliency: Optional[torch.Tensor] = None,
                with_offsets: bool = False,
                centre_offsets: bool = True) -> Union[torch.Tensor, Tuple[torch.Tensor, Optional[torch.Tensor]]]:
        """x: Bx3xHxW in [0, 1]; qp: codec QP (int or length-B tensor) -> the filtered image
        (same shape), or with `with_offsets` (filtered image, per-16x16-block QP offsets
        B x ceil(H/16) x ceil(W/16), None without a QP-map head). `saliency` (Bx1xHxW in [0, 1])
        is required when the network was built with saliency. `centre_offsets=False` leaves the
        offsets' mean over the picture in (tiles of one picture: `npp.nn.zoo.run_npp` takes the
        mean out once, over the whole picture)."""
        b, _, h, w = x.shape
        if self.saliency and saliency is None:
            raise ValueError("this NPP takes a saliency map (npp.vision.saliency)")
        q = qp_tensor(qp, b, x.device).to(x.dtype)
        ph, pw = (-h) % MULTIPLE, (-w) % MULTIPLE
        pad = (lambda t: F.pad(t, (0, pw, 0, ph), mode="replicate")) if ph or pw else (lambda t: t)
        xp = pad(x)
        p = xp
        if self.lowpass is not None:
            p = xp + self.qa_lowpass(q) * (self.lowpass(xp) - xp)
        p = torch.relu(self.pix1(p)) * self.qa_pix1(q)
        p = torch.relu(self.pix2(p)) * self.qa_pix2(q)
        unet_in = torch.cat([xp, pad(saliency.to(x.dtype))], dim=1) if self.saliency else xp
        detail, deepest = self.unet(unet_in, q)
        y = p + detail
        if self.keep_tone > 0:
            y = y - self._tone(y - xp)
        offsets = None
        if self.qp_head is not None:
            raw = self.qp_map * torch.tanh(self.qp_head(deepest))[:, 0] * self.qa_qp(q)[:, 0]
            offsets = raw - raw.mean(dim=(1, 2), keepdim=True) if centre_offsets else raw
        y = y[:, :, :h, :w].clamp(0.0, 1.0)
        return (y, offsets) if with_offsets else y

    def _tone(self, d: torch.Tensor) -> torch.Tensor:
        """Separable Gaussian (replicate borders) of a Bx3xHxW difference."""
        k = self.tone_kernel.to(d.dtype)
        r = k.shape[-1] // 2
        for _ in range(2):  # along rows, then (transposed) along columns; back in place after two
            d = F.conv1d(F.pad(d.reshape(-1, 1, d.shape[-1]), (r, r), mode="replicate"), k).reshape(d.shape)
            d = d.transpose(2, 3)
        return d
