"""Proxy codecs: differentiable stand-ins whose gradients replace a real codec's, and their
registry (`register_proxy`, `create_proxy`, `list_proxies`). Every proxy maps (x, qp) to
(x_hat, bpp per image) and keeps its architecture in `.config` (with "arch").

"hyperprior": CompressAI's scale hyperprior (Ballé et al. 2018) at a small width, made
QP-aware by per-channel gains on the latent (one model for all QPs, as in gained VAEs):
the encoder multiplies y by g(qp), the decoder divides the quantised latent by g'(qp).
log g = a + b t + c t^2 with t = (qp - 34) / 6, b starting at -ln 2 because an HEVC
quantiser step doubles every 6 QP. `npp train-proxy` fits it so that its rate tracks the real
codec's bits and its reconstruction the real codec's decoded image (not a plain R-D loss)."""
from __future__ import annotations

import inspect
import math
from typing import Callable, Dict, Tuple, Type, Union

import torch
from torch import nn

from npp.errors import NppError
from npp.nn.qa import qp_batch

_REGISTRY: Dict[str, Type[nn.Module]] = {}


def register_proxy(name: str) -> Callable[[Type[nn.Module]], Type[nn.Module]]:
    def deco(cls: Type[nn.Module]) -> Type[nn.Module]:
        _REGISTRY[name] = cls
        return cls

    return deco


def list_proxies() -> list[str]:
    return sorted(_REGISTRY)


def create_proxy(arch: str = "hyperprior", **config: object) -> nn.Module:
    """A fresh proxy by architecture name; `config` as stored in a weights file."""
    if arch not in _REGISTRY:
        raise NppError(f"unknown proxy architecture {arch!r} (choose from {', '.join(list_proxies())})")
    cls = _REGISTRY[arch]
    accepted = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in config.items() if k in accepted})

QP_CENTRE, QP_STEP = 34.0, 6.0


class QPGain(nn.Module):
    """Per-channel log-gain, quadratic in the normalised QP."""

    def __init__(self, channels: int, sign: float) -> None:
        super().__init__()
        self.coef = nn.Parameter(torch.zeros(3, channels))
        with torch.no_grad():
            self.coef[1].fill_(sign * -math.log(2.0))

    def forward(self, qp: torch.Tensor) -> torch.Tensor:
        t = ((qp.float() - QP_CENTRE) / QP_STEP).reshape(-1, 1)
        log_g = self.coef[0] + self.coef[1] * t + self.coef[2] * t * t
        return torch.exp(log_g)[:, :, None, None]


@register_proxy("hyperprior")
class ProxyCodec(nn.Module):
    """forward(x, qp) -> (x_hat, bpp per image); x Bx3xHxW in [0, 1].

    Quantisation is replaced by uniform noise for the likelihoods (rate) and by
    straight-through rounding for the decoder, so both outputs are differentiable in x."""

    def __init__(self, n: int = 64, m: int = 96) -> None:
        super().__init__()
        from compressai.models import ScaleHyperprior

        self.config = {"arch": "hyperprior", "n": int(n), "m": int(m)}
        base = ScaleHyperprior(n, m)
        self.g_a, self.g_s, self.h_a, self.h_s = base.g_a, base.g_s, base.h_a, base.h_s
        self.entropy_bottleneck = base.entropy_bottleneck
        self.gaussian_conditional = base.gaussian_conditional
        self.gain = QPGain(m, +1.0)
        self.inv_gain = QPGain(m, -1.0)

    def forward(self, x: torch.Tensor, qp: Union[int, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        qp_t = qp_batch(qp, b, x.device)
        pad_h, pad_w = (-h) % 64, (-w) % 64
        xp = nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x
        y = self.g_a(xp) * self.gain(qp_t)
        z = self.h_a(torch.abs(y))
        _, z_lik = self.entropy_bottleneck(z, training=True)
        z_hat = z + (torch.round(z) - z).detach()
        scales = self.h_s(z_hat)
        _, y_lik = self.gaussian_conditional(y, scales, training=True)
        y_hat = y + (torch.round(y) - y).detach()
        x_hat = self.g_s(y_hat * self.inv_gain(qp_t))[:, :, :h, :w].clamp(0.0, 1.0)
        bits = -(torch.log2(y_lik).flatten(1).sum(1) + torch.log2(z_lik).flatten(1).sum(1))
        return x_hat, bits / float(h * w)

    def aux_loss(self) -> torch.Tensor:
        return self.entropy_bottleneck.loss()


from npp.nn.dct_proxy import DctProxy  # noqa: E402

register_proxy("dct")(DctProxy)
