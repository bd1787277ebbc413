"""A transform-coding proxy: HEVC-like block DCT quantisation with a fitted rate model.

Why: a learned codec needs many hours to become a faithful proxy; on this project's shared
2-core CPU the scale-hyperprior proxy, after 600 fitting steps, had a rate gradient that did
not lower the real codec's bits (bench/proxy_fidelity.py). This proxy builds in what an
intra codec does (BT.601 YCbCr, 4:2:0 chroma, 8x8 DCT, quantiser step 2^((QP-4)/6)) and
fits only a few hundred numbers to the real codec: per-frequency step scales (luma, chroma)
and a per-frequency rate model bits = k_f * log2(1 + |c| / step_f). Its rate gradient lowers
the energy of the coefficients the codec pays most for.

Per-block QP offsets (`npp.codecs.qpmap`: one per 16x16 block, QP units) move each block's
quantiser step, as x265's quantisation offsets do, so the rate and the reconstruction are
differentiable in the offsets too: a learned QP map gets its gradient here."""
from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from npp.nn.qa import qp_batch

_RGB2YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_YCC2RGB = torch.linalg.inv(_RGB2YCC)


def dct_basis(n: int = 8) -> torch.Tensor:
    """n*n orthonormal 2-D DCT-II filters, shape (n*n, 1, n, n)."""
    k = torch.arange(n, dtype=torch.float64)
    c = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * math.sqrt(2.0 / n)
    c[0] /= math.sqrt(2.0)
    return torch.einsum("ui,vj->uvij", c, c).reshape(n * n, 1, n, n).float()


class DctProxy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.config = {"arch": "dct"}
        self.register_buffer("basis", dct_basis(8))
        self.log_step = nn.Parameter(torch.zeros(2, 64))  # luma, chroma: per-frequency step scale
        self.qp_slope = nn.Parameter(torch.ones(2, 1))  # steps double every 6 QP at 1
        self.log_k = nn.Parameter(torch.zeros(2, 64))  # bits per log2(1 + |c|/step)
        self.bias = nn.Parameter(torch.zeros(1))  # per-pixel overhead, in bits

    def _code(self, plane: torch.Tensor, qp: torch.Tensor, which: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """`qp`: one per image (B) or one per 8x8 block of `plane` (B x 1 x h/8 x w/8)."""
        coef = F.conv2d(plane, self.basis, stride=8)
        q = qp.float().view(-1, 1, 1, 1) if qp.dim() == 1 else qp.float()
        slope = self.qp_slope[which].view(1, 1, 1, 1)
        step = torch.exp(slope * (q - 4.0) / 6.0 * math.log(2.0) + self.log_step[which].view(1, 64, 1, 1))
        mag = torch.sqrt(coef * coef + 1e-6)
        bits = (torch.exp(self.log_k[which])[None, :, None, None] * torch.log2(1.0 + mag / step)).flatten(1).sum(1)
        q = coef / step
        q = q + (torch.round(q) - q).detach()
        rec = F.conv_transpose2d(q * step, self.basis, stride=8)
        return rec, bits

    def forward(self, x: torch.Tensor, qp: Union[int, torch.Tensor],
                offsets: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """x Bx3xHxW in [0, 1], `offsets` None or B x ceil(H/16) x ceil(W/16) QP offsets ->
        (x_hat, bpp per image), differentiable in x and in the offsets."""
        b, _, h, w = x.shape
        qp_t = qp_batch(qp, b, x.device)
        ph, pw = (-h) % 16, (-w) % 16
        xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        ycc = torch.einsum("ij,bjhw->bihw", _RGB2YCC.to(x), xp * 255.0)
        luma_qp, chroma_qp = qp_t, qp_t.repeat_interleave(2)
        if offsets is not None:  # one QP per 16x16 block: per 8x8 luma block, and per 8x8 block of half-size chroma
            block_qp = qp_t.view(b, 1, 1, 1) + offsets.to(x.dtype).unsqueeze(1)
            luma_qp = F.interpolate(block_qp, scale_factor=2.0, mode="nearest")
            chroma_qp = block_qp.repeat_interleave(2, dim=0)
        y_rec, y_bits = self._code(ycc[:, :1], luma_qp, 0)
        chroma = F.avg_pool2d(ycc[:, 1:], 2).reshape(b * 2, 1, (h + ph) // 2, (w + pw) // 2)
        c_rec, c_bits = self._code(chroma, chroma_qp, 1)
        c_rec = F.interpolate(c_rec.reshape(b, 2, (h + ph) // 2, (w + pw) // 2), scale_factor=2.0, mode="bilinear",
                              align_corners=False)
        rgb = torch.einsum("ij,bjhw->bihw", _YCC2RGB.to(x), torch.cat([y_rec, c_rec], 1)) / 255.0
        bits = y_bits + c_bits.view(b, 2).sum(1)
        return rgb[:, :, :h, :w].clamp(0.0, 1.0), bits / float(h * w) + self.bias
