"""`npp train`: train NPP through the real codec with the proxy's gradients.

Loss per image: bpp + lambda * D_machine + beta * D_pre, where bpp and the decoded image
come from the real codec (straight-through layer), D_machine distils the frozen vision
model's output on the uncompressed crop, and QP and lambda are drawn per step.

`log_rate=True` replaces bpp by log(bpp). BD-rate compares rates on a log scale, and a
pre-filter helps at a QP exactly when it lowers log-rate by more than `slope * D_machine`
rises, where `slope = -dlog(bpp)/dD_machine` of the plain codec's own curve. On the mixed
training photos that slope is 2.6-4.3 per nat over QP 28-41 while bpp falls 4x, so one
lambda near the slope fits every QP in log-rate; a plain-bpp loss would need lambda to
follow bpp (about 3.5 at QP 28, 0.5 at QP 41)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import torch
from torch import nn

from npp.errors import NppError
from npp.nn.checkpoint import load_weights
from npp.nn.codec_layer import RealCodec, StraightThroughCodec
from npp.nn.proxy import create_proxy
from npp.nn.zoo import SHIPPED_PROXY, build_npp
from npp.train.calibration import rate_gains
from npp.train.data import PhotoCrops, sample_choice
from npp.train.loop import Run, RunConfig
from npp.train.losses import batch_psnr, machine_distortion, pre_distortion
from npp.train.runlog import RunDir
from npp.vision import DEFAULTS, create_model
from npp.vision.gradcam import classifier_saliency

@dataclass
class NppConfig(RunConfig):
    proxy: Optional[str] = None
    task: str = "cls"
    model: Optional[str] = None
    lambdas: List[float] = field(default_factory=lambda: [0.5])
    beta: float = 5.0
    low_weight: float = 20.0
    width: float = 0.5
    lowpass: float = 0.0
    keep_tone: float = 0.0
    degrade: bool = False
    #: NPP sees the teacher's Grad-CAM map (the teacher's name is recorded in the weights)
    saliency: bool = False
    qp_map: float = 0.0
    #: photos are shrunk to this shorter side before cropping (the crops' scale)
    max_side: int = 768
    #: recorded in the weights: the `npp` method resizes photos to this shorter side first (0: no)
    input_side: int = 0
    #: a crop covers between crop/min_scale and crop pixels of the shrunk photo
    min_scale: float = 0.5
    calibrate_rate: bool = False
    log_rate: bool = False
    upsample: str = "resize"
    monitor_every: int = 10


def load_proxy(path: Optional[str]) -> nn.Module:
    """The frozen proxy (shipped BPG proxy by default), kept in noise mode for its gradients."""
    p = path or SHIPPED_PROXY
    if path is None and not SHIPPED_PROXY.is_file():
        raise NppError(f"no shipped proxy at {SHIPPED_PROXY}; fit one with `npp train-proxy` and pass --proxy")
    state, config, _ = load_weights(p, "proxy")
    proxy = create_proxy(**{"arch": "hyperprior", **config})
    proxy.load_state_dict(state)
    for q in proxy.parameters():
        q.requires_grad_(False)
    return proxy


def npp_loss(npp: nn.Module, st: StraightThroughCodec, teacher: nn.Module, x: torch.Tensor, qp: torch.Tensor,
             lam: float, beta: float, low_weight: float, log_rate: bool = False,
             saliency: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, dict, object]:
    """(mean loss, stats with a forward-time breakdown, teacher output on x) for one batch.
    `saliency`: the teacher's map of `x` for an NPP built with a saliency input; an NPP with a
    QP-map head also returns per-block QP offsets, which the real codec codes with."""
    t0 = time.perf_counter()
    xp, offsets = npp(x, qp, saliency, with_offsets=True)
    t1 = time.perf_counter()
    x_hat, bpp, _, p_bpp = st(xp, qp, offsets)
    t3 = time.perf_counter()
    with torch.no_grad():
        target = teacher(x)
    d_machine = machine_distortion(teacher(x_hat), target)
    t4 = time.perf_counter()
    d_pre = pre_distortion(xp, x, low_weight)
    rate = torch.log(bpp.clamp_min(1e-4)) if log_rate else bpp
    loss = (rate + lam * d_machine + beta * d_pre).mean()
    stats = {"loss": loss.item(), "bpp": bpp.mean().item(), "d_machine": d_machine.mean().item(),
             "d_pre": d_pre.mean().item(), "psnr_pre": batch_psnr(xp, x).mean().item(), "proxy_bpp": p_bpp.mean().item(),
             "lambda": lam, "qp": qp.float().mean().item(),
             "qp_offset_mean": None if offsets is None else offsets.mean().item(),
             "qp_offset_spread": None if offsets is None else offsets.std().item(),
             "npp_fwd_s": t1 - t0, **st.times, "vision_fwd_s": t4 - t3}
    return loss, stats, target


def train_npp(cfg: NppConfig, resume: bool = False, init: Optional[str] = None, device: Optional[str] = None) -> Path:
    if cfg.task not in ("cls", "det"):
        raise NppError(f"--task must be cls or det, got {cfg.task!r}")
    data = PhotoCrops(cfg.data, crop=cfg.crop, max_side=cfg.max_side, min_scale=cfg.min_scale, degrade=cfg.degrade)
    arch = {"width": cfg.width, "upsample": cfg.upsample, "lowpass": cfg.lowpass, "keep_tone": cfg.keep_tone,
            "saliency": (cfg.model or DEFAULTS[cfg.task]) if cfg.saliency else "", "qp_map": cfg.qp_map,
            "input_side": cfg.input_side}
    if resume and RunDir(cfg.out).checkpoint.is_file():
        arch = RunDir(cfg.out).load()["config"]
    elif init:  # the architecture of the weights; keep_tone adds no parameters, so it may be switched on
        arch = dict(load_weights(init, "npp")[1])
        if cfg.keep_tone > 0:
            arch["keep_tone"] = cfg.keep_tone
    torch.manual_seed(cfg.seed)  # seeded initial weights
    run = Run("npp", cfg, build_npp(arch), resume, init, device)
    try:
        return _train(cfg, run, data)
    finally:
        run.close()


def _train(cfg: NppConfig, run: Run, data: PhotoCrops) -> Path:
    dev = run.dist.device
    st = StraightThroughCodec(load_proxy(cfg.proxy).to(dev), RealCodec(cfg.codec, cfg.codec_options, cfg.workers))
    if cfg.calibrate_rate:  # deterministic (fixed crops), so a resumed run gets the same gains
        st.rate_gain = rate_gains(st.proxy, st.real, data, cfg.qps, cfg.seed, device=dev)
        if run.dist.main:
            run.dir.write_json("rate_gains.json", {str(q): g for q, g in st.rate_gain.items()})
    teacher = create_model(cfg.model, task=cfg.task, device=dev)  # frozen, eval mode, shared

    def step(i: int) -> dict:
        rank = run.dist.rank
        x = torch.from_numpy(data.batch(cfg.seed, i, rank, cfg.batch)).to(dev)
        qp = torch.tensor(sample_choice(cfg.qps, cfg.seed, i, rank, 1, cfg.batch), device=dev)
        lam = float(sample_choice(cfg.lambdas, cfg.seed, i, rank, 2, 1)[0])
        run.net.train()
        sal = classifier_saliency(teacher, x) if run.model.saliency else None
        loss, stats, target = npp_loss(run.net, st, teacher, x, qp, lam, cfg.beta, cfg.low_weight, cfg.log_rate, sal)
        t0 = time.perf_counter()
        run.opt.zero_grad(set_to_none=True)
        loss.backward()
        run.opt.step()
        stats.update(backward_s=time.perf_counter() - t0, plain_bpp=None, plain_d_machine=None, bpp_saved_pct=None)
        if cfg.monitor_every and i % cfg.monitor_every == 0:
            with torch.no_grad():  # the same crops through the codec without NPP, for comparison
                plain_hat, plain_bpp = st.real(x, qp)
                stats["plain_bpp"] = plain_bpp.mean().item()
                stats["plain_d_machine"] = machine_distortion(teacher(plain_hat), target).mean().item()
                stats["bpp_saved_pct"] = 100 * (1 - stats["bpp"] / stats["plain_bpp"])
        return stats

    try:
        return run.loop(step)
    finally:
        st.real.close()
