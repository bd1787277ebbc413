"""Loading NPP and running it on numpy images (the agreed interface for the app and
evaluation): `load_npp`, `preprocess_rgb`, `npp_params`."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
import torch

from npp.errors import NppError
from npp.nn.checkpoint import load_weights
from npp.nn.fuse import for_inference
from npp.nn.npp_net import NPP
from npp.torchutil import pick_device, to_tensor

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
SHIPPED_NPP = WEIGHTS_DIR / "npp.safetensors"
SHIPPED_PROXY = WEIGHTS_DIR / "proxy_bpg.safetensors"


def npp_params() -> int:
    """Parameter count of the paper's full architecture (width 1, QA MLPs included) as built here."""
    return sum(p.numel() for p in NPP(width=1.0).parameters())


def build_npp(config: dict) -> NPP:
    return NPP(width=config.get("width", 1.0), upsample=config.get("upsample", "resize"),
               qa_hidden=config.get("qa_hidden", 64), lowpass=config.get("lowpass", 0.0),
               keep_tone=config.get("keep_tone", 0.0),
               qp_map=config.get("qp_map", 0.0), input_side=config.get("input_side", 0),
               saliency=config.get("saliency", ""))


def load_npp(weights: Optional[Union[str, Path]] = None, device: Optional[Union[str, torch.device]] = None) -> NPP:
    """NPP ready for inference on `device` (eval mode, batch-norm folded, channels-last): the
    shipped weights when `weights` is None, else a .safetensors file or an `npp train`
    checkpoint. Never a silently untrained model. Cached per file and device."""
    path = Path(weights) if weights is not None else SHIPPED_NPP
    if weights is None and not path.is_file():
        raise NppError(f"no shipped NPP weights at {path}; train some with `npp train` and pass --weights")
    return _load_cached(str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0, str(pick_device(device)))


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float, device: str) -> NPP:
    state, config, _ = load_weights(path, "npp")
    model = build_npp(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise NppError(f"{path}: weights do not fit the NPP architecture ({str(exc).splitlines()[0]})") from None
    return for_inference(model.to(device))


def run_npp(model: NPP, rgb_uint8: np.ndarray, qp: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Filter one HxWx3 uint8 image for a codec QP: (HxWx3 uint8, per-16x16-block QP offsets or
    None). An NPP with a saliency input asks the classifier it was trained with (the sender's,
    named in its weights) where it looks."""
    rgb = np.asarray(rgb_uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise NppError(f"expected an HxWx3 uint8 RGB image, got shape {rgb.shape} dtype {rgb.dtype}")
    device = next(model.parameters()).device
    x = to_tensor(rgb, device)
    saliency = None
    if model.saliency:
        from npp.vision import create_model
        from npp.vision.gradcam import classifier_saliency

        saliency = classifier_saliency(create_model(model.saliency, task="cls", device=device), x)
    with torch.inference_mode():
        y, offsets = model(x.contiguous(memory_format=torch.channels_last), int(qp), saliency, with_offsets=True)
        out = (y[0].permute(1, 2, 0) * 255.0).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
    return out, None if offsets is None else offsets[0].float().cpu().numpy()


def preprocess_rgb(model: NPP, rgb_uint8: np.ndarray, qp: int) -> np.ndarray:
    """The filtered image alone (`npp preprocess`)."""
    return run_npp(model, rgb_uint8, qp)[0]
