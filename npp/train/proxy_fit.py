"""`npp train-proxy`: fit the proxy codec to a real codec's output (rate and reconstruction).

Loss per image: (log2 proxy_bpp - log2 real_bpp)^2 + dist_weight * MSE(proxy_x_hat,
real_decoded), so the proxy's rate tracks the real file's bits and its reconstruction the
codec's decoded image across the QP range."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import torch
from torch import nn

from npp.nn.checkpoint import load_weights
from npp.nn.codec_layer import RealCodec
from npp.nn.proxy import create_proxy
from npp.train.data import PhotoCrops, sample_choice
from npp.train.loop import Run, RunConfig
from npp.train.runlog import RunDir
from npp.train.losses import batch_psnr

DEFAULT_QPS = list(range(26, 44))


@dataclass
class ProxyConfig(RunConfig):
    qps: List[int] = field(default_factory=lambda: list(DEFAULT_QPS))
    batch: int = 8
    crop: int = 128
    lr: float = 5e-4
    save_every: int = 50
    arch: str = "dct"
    n: int = 64
    m: int = 96
    dist_weight: float = 100.0


def proxy_loss(proxy: nn.Module, real: RealCodec, x: torch.Tensor, qp: torch.Tensor,
               dist_weight: float) -> Tuple[torch.Tensor, dict]:
    """(mean fitting loss, stats) of the proxy against the real codec on one batch."""
    t0 = time.perf_counter()
    dec, bpp = real(x, qp)
    t1 = time.perf_counter()
    x_hat, p_bpp = proxy(x, qp)
    t2 = time.perf_counter()
    rate_err = (torch.log2(p_bpp.clamp_min(1e-4)) - torch.log2(bpp)) ** 2
    dist = ((x_hat - dec) ** 2).flatten(1).mean(1)
    loss = (rate_err + dist_weight * dist).mean()
    stats = {"loss": loss.item(), "rate_err": rate_err.mean().item(),
             "abs_pct_err": (100 * (p_bpp - bpp).abs() / bpp).mean().item(),
             "real_bpp": bpp.mean().item(), "proxy_bpp": p_bpp.mean().item(),
             "psnr_proxy_vs_real": batch_psnr(x_hat, dec).mean().item(), "psnr_real": batch_psnr(dec, x).mean().item(),
             "codec_s": t1 - t0, "proxy_fwd_s": t2 - t1}
    return loss, stats


def train_proxy(cfg: ProxyConfig, resume: bool = False, init: Optional[str] = None, device: Optional[str] = None) -> Path:
    data = PhotoCrops(cfg.data, crop=cfg.crop)
    arch = {"arch": cfg.arch, "n": cfg.n, "m": cfg.m}
    if resume and RunDir(cfg.out).checkpoint.is_file():
        arch = RunDir(cfg.out).load()["config"]
    elif init:
        arch = load_weights(init, "proxy")[1]
    torch.manual_seed(cfg.seed)  # seeded initial weights
    proxy = create_proxy(**arch)
    if hasattr(proxy, "entropy_bottleneck"):
        proxy.entropy_bottleneck.quantiles.requires_grad_(False)  # only used for real entropy coding
    run = Run("proxy", cfg, proxy, resume, init, device)
    try:
        run.model.config = {**proxy.config, "codec": cfg.codec, "codec_options": cfg.codec_options}
        return _train(cfg, run, data)
    finally:
        run.close()


def _train(cfg: ProxyConfig, run: Run, data: PhotoCrops) -> Path:
    real = RealCodec(cfg.codec, cfg.codec_options, cfg.workers)
    dev = run.dist.device

    def step(i: int) -> dict:
        x = torch.from_numpy(data.batch(cfg.seed, i, run.dist.rank, cfg.batch)).to(dev)
        qp = torch.tensor(sample_choice(cfg.qps, cfg.seed, i, run.dist.rank, 1, cfg.batch), device=dev)
        loss, stats = proxy_loss(run.net, real, x, qp, cfg.dist_weight)
        t0 = time.perf_counter()
        run.opt.zero_grad(set_to_none=True)
        loss.backward()
        run.opt.step()
        stats["backward_s"] = time.perf_counter() - t0
        return stats

    try:
        return run.loop(step)
    finally:
        real.close()
