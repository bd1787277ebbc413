"""What the proxy and NPP training loops share: run set-up, resume, checkpoints, logging."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from npp.nn.checkpoint import load_weights, save_weights
from npp.train.distributed import Dist, mean_across, setup, teardown
from npp.train.runlog import RunDir, progress

#: the paper's QP grid
PAPER_QPS = (28, 31, 34, 37, 41)


@dataclass
class RunConfig:
    """What every training run takes (`npp train-proxy` and `npp train` add their own fields
    and defaults): data, run folder, length, the real codec in the loop, QPs, batches, Adam."""

    data: str
    out: str
    steps: int
    codec: str = "bpg"
    codec_options: dict = field(default_factory=dict)
    qps: List[int] = field(default_factory=lambda: list(PAPER_QPS))
    batch: int = 4
    crop: int = 192
    lr: float = 2e-4
    weight_decay: float = 0.0
    seed: int = 0
    workers: int = 2
    save_every: int = 25
    progress: bool = True


def step_seed(seed: int, step: int, rank: int) -> int:
    return (seed * 1_000_003 + step * 7919 + rank) % (2**63)


class Run:
    """One training run: model + Adam, resumable from `out/last.pt`, exported as
    `out/<kind>.safetensors` (fp16) at each checkpoint. It holds the run folder's lock from
    its creation until `close()` or the end of the process; the caller closes it."""

    def __init__(self, kind: str, config, model: nn.Module, resume: bool, init: Optional[str],
                 device: Optional[str] = None) -> None:
        self.kind, self.config = kind, config
        self.dist: Dist = setup(device)
        self.dir = RunDir(config.out)
        if self.dist.main:  # only rank 0 writes the folder, so only rank 0 holds its lock
            self.dir.prepare(resume)
        try:
            self._start(model, resume, init)
        except BaseException:
            self.close()
            raise

    def _start(self, model: nn.Module, resume: bool, init: Optional[str]) -> None:
        config, kind = self.config, self.kind
        self.model = model.to(self.dist.device)
        self.opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                    weight_decay=config.weight_decay)
        self.step, self.elapsed, self.prior_steps = 0, 0.0, 0
        if resume:
            state = RunDir(config.out).load()
            self.model.load_state_dict(state["model"])
            self.opt.load_state_dict(state["optimizer"])
            self.step, self.elapsed = int(state["step"]), float(state["elapsed_s"])
            self.prior_steps = int(state.get("meta", {}).get("prior_steps", 0))
            if self.dist.main:
                self.dir.truncate_logs(self.step)
        elif init:
            weights, _, meta = load_weights(init, kind)
            self.model.load_state_dict(weights)
            self.prior_steps = int(meta.get("steps", 0))
            self.elapsed = float(meta.get("wall_s", 0.0))
        self.net = (DistributedDataParallel(self.model) if self.dist.world > 1 else self.model)
        self._t0 = time.perf_counter()
        self._elapsed0 = self.elapsed

    def close(self) -> None:
        """Let another trainer have the folder (the process may live on, e.g. in a test)."""
        self.dir.unlock()

    def arch(self) -> dict:
        return dict(self.model.config)

    def meta(self) -> dict:
        return {"steps": self.prior_steps + self.step, "prior_steps": self.prior_steps, "wall_s": round(self.elapsed, 1),
                "world_size": self.dist.world, "train": {k: v for k, v in asdict(self.config).items()}}

    def save(self) -> None:
        if not self.dist.main:
            return
        self.elapsed = self._elapsed0 + time.perf_counter() - self._t0
        state = {"kind": self.kind, "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                 "step": self.step, "elapsed_s": self.elapsed, "config": self.arch(), "meta": self.meta()}
        self.dir.save(state)
        save_weights(self.model.state_dict(), self.dir.path / f"{self.kind}.safetensors", self.kind, self.arch(), self.meta())

    def loop(self, train_step: Callable[[int], Dict[str, float]]) -> Path:
        """Run `train_step(step)` until config.steps, logging, checkpointing every save_every."""
        cfg = self.config
        bar = progress(cfg.steps, self.step, f"npp {self.kind}", self.dist.main and cfg.progress)
        try:
            while self.step < cfg.steps:
                torch.manual_seed(step_seed(cfg.seed, self.step, self.dist.rank))
                t = time.perf_counter()
                stats = train_step(self.step)
                self.step += 1
                row = {"step": self.step, **{k: None if v is None else round(mean_across(float(v), self.dist), 6) for k, v in stats.items()},
                       "step_s": round(time.perf_counter() - t, 4)}
                if self.dist.main:
                    self.dir.log(row)
                    bar.update(1)
                    bar.set_postfix({k: row[k] for k in list(stats)[:3]}, refresh=False)
                if self.step % cfg.save_every == 0 or self.step == cfg.steps:
                    self.save()
        finally:
            bar.close()
            teardown()
        return self.dir.path / f"{self.kind}.safetensors"
