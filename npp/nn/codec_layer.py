"""The straight-through codec layer: the REAL codec forward, the proxy's gradients backward.

As in the paper's official code, the proxy runs on the filtered image and its outputs'
values are then replaced by the real codec's decoded image and real bpp, keeping the
proxy's graph: forward = real codec exactly, gradient = proxy's gradient exactly. The
images of a batch are encoded in parallel in a process pool whose workers end with the
training process."""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from npp.codecs import create_codec
from npp.errors import NppError
from npp.processes import worker_pool

_WORKER_CODECS: Dict[Tuple, object] = {}


def _codec(name: str, options: Tuple) -> object:
    key = (name, options)
    if key not in _WORKER_CODECS:
        _WORKER_CODECS[key] = create_codec(name, **dict(options))
    return _WORKER_CODECS[key]


def _round_trip(name: str, options: Tuple, rgb: np.ndarray, qp: int,
                offsets: Optional[np.ndarray] = None) -> Tuple[np.ndarray, int]:
    codec = _codec(name, options)
    enc = codec.encode(rgb, qp, offsets)
    return codec.decode(enc.data), enc.nbytes


class RealCodec:
    """Encode+decode a batch with a registered codec, images in parallel (`workers` processes;
    0 = in this process). Returns decoded images and the bpp of the real files' bytes."""

    def __init__(self, name: str, options: Optional[dict] = None, workers: int = 0) -> None:
        self.name = name
        self.options = tuple(sorted((options or {}).items()))
        ok, reason = _codec(name, self.options).availability()
        if not ok:
            raise NppError(f"codec {name} is not available here: {reason}")
        self.workers = int(workers)
        self._pool: Optional[ProcessPoolExecutor] = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = worker_pool(self.workers)  # workers end with this process, even a SIGKILLed one
        return self._pool

    def round_trip(self, images: Sequence[np.ndarray], qps: Sequence[int],
                   offsets: Optional[Sequence[Optional[np.ndarray]]] = None) -> List[Tuple[np.ndarray, int]]:
        offsets = list(offsets) if offsets is not None else [None] * len(images)
        jobs = [(self.name, self.options, im, int(q), o) for im, q, o in zip(images, qps, offsets)]
        if self.workers > 0 and len(images) > 1:
            futures = [self._executor().submit(_round_trip, *job) for job in jobs]
            return [f.result() for f in futures]
        return [_round_trip(*job) for job in jobs]

    def __call__(self, x: torch.Tensor, qp: torch.Tensor,
                 offsets: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """x: Bx3xHxW in [0, 1], `offsets` None or per-block QP offsets (B x ceil(H/16) x
        ceil(W/16)) -> (decoded Bx3xHxW in [0, 1], bpp of length B); no gradient."""
        b, _, h, w = x.shape
        u8 = (x.detach() * 255.0).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        qps = torch.as_tensor(qp).reshape(-1).expand(b).tolist()
        maps = None if offsets is None else list(offsets.detach().float().cpu().numpy())
        results = self.round_trip(list(u8), qps, maps)
        dec = torch.from_numpy(np.stack([r[0] for r in results])).permute(0, 3, 1, 2).float().div(255.0)
        bpp = torch.tensor([8.0 * r[1] / (h * w) for r in results], dtype=torch.float32)
        return dec.to(x.device, x.dtype), bpp.to(x.device)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class StraightThroughCodec(nn.Module):
    """forward(x, qp) -> (x_hat, bpp, proxy_x_hat, proxy_bpp): values from the real codec,
    gradients from the (frozen) proxy. `times` holds the last call's proxy and codec seconds.

    `rate_gain` (QP -> factor, default 1) scales the proxy's rate gradient per image, for a
    proxy whose rate reacts to a change of the input more or less than the real codec's
    does at that QP (see `npp.train.calibration`)."""

    def __init__(self, proxy: nn.Module, real: RealCodec, rate_gain: Optional[Dict[int, float]] = None) -> None:
        super().__init__()
        self.proxy = proxy
        self.real = real
        self.rate_gain = dict(rate_gain or {})
        self.times: Dict[str, float] = {}

    def forward(self, x: torch.Tensor, qp: torch.Tensor,
                offsets: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """`offsets`: per-block QP offsets (a learned QP map) or None; the real codec codes
        with them and the proxy's gradient reaches them."""
        t0 = time.perf_counter()
        p_hat, p_bpp = self.proxy(x, qp) if offsets is None else self.proxy(x, qp, offsets)
        t1 = time.perf_counter()
        r_hat, r_bpp = self.real(x, qp, offsets)
        self.times = {"proxy_fwd_s": t1 - t0, "codec_s": time.perf_counter() - t1}
        x_hat = r_hat + (p_hat - p_hat.detach())  # value exactly r_hat, gradient of p_hat
        gain = 1.0
        if self.rate_gain:
            qps = torch.as_tensor(qp).reshape(-1).expand(x.shape[0]).tolist()
            gain = torch.tensor([self.rate_gain.get(int(q), 1.0) for q in qps], dtype=p_bpp.dtype, device=p_bpp.device)
        bpp = r_bpp + gain * (p_bpp - p_bpp.detach())
        return x_hat, bpp, p_hat, p_bpp
