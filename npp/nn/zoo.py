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
from npp.nn.tiling import tiled
from npp.torchutil import pick_device, to_tensor

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
SHIPPED_NPP = WEIGHTS_DIR / "npp.safetensors"
SHIPPED_PROXY = WEIGHTS_DIR / "proxy_bpg.safetensors"
#: NPP runs on tiles of at most this many input pixels (margins included), so its memory stays
#: bounded whatever the image's size: about 1.5 GB at 4 MP (bench/npp_memory.py)
TILE_PIXELS = 4_000_000


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


def run_npp(model: NPP, rgb_uint8: np.ndarray, qp: int,
            tile_pixels: int = TILE_PIXELS) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Filter one HxWx3 uint8 image for a codec QP: (HxWx3 uint8, per-16x16-block QP offsets or
    None). An NPP with a saliency input asks the classifier it was trained with (the sender's,
    named in its weights) where it looks, in the whole image.

    An image larger than `tile_pixels` runs in overlapping tiles (`npp.nn.tiling`) whose margins
    are NPP's `halo` (its receptive field, rounded up to its 16-pixel grid): each tile's core
    comes out as it would from the whole image, so there are no seams
    (tests/test_npp_tiling.py), the QP offsets' mean is taken out once over the whole picture,
    and the memory NPP needs no longer grows with the image. Running out of memory anyway is a
    one-line NppError."""
    rgb = np.asarray(rgb_uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise NppError(f"expected an HxWx3 uint8 RGB image, got shape {rgb.shape} dtype {rgb.dtype}")
    device = next(model.parameters()).device
    saliency = None
    if model.saliency:
        from npp.vision import create_model
        from npp.vision.gradcam import classifier_saliency

        saliency = classifier_saliency(create_model(model.saliency, task="cls", device=device), to_tensor(rgb, device))

    def window(win: Tuple[slice, slice]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        part = rgb[win]
        h, w = part.shape[:2]
        try:
            with torch.inference_mode():
                x = to_tensor(part, device).contiguous(memory_format=torch.channels_last)
                y, offsets = model(x, int(qp), None if saliency is None else saliency[(..., *win)],
                                   with_offsets=True, centre_offsets=False)
                out = (y[0].permute(1, 2, 0) * 255.0).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
            return out, None if offsets is None else offsets[0].float().cpu().numpy()
        except (torch.OutOfMemoryError, MemoryError):
            pass
        except RuntimeError as exc:
            if "allocate" not in str(exc):
                raise
        raise NppError(f"not enough memory to run NPP on a {w}x{h} region on {device}")

    out, offsets = tiled(window, rgb.shape[0], rgb.shape[1], model.halo, tile_pixels, scales=(1, 16))
    if offsets is not None:
        offsets = (offsets - offsets.mean(dtype=np.float64)).astype(np.float32)
    return out, offsets


def preprocess_rgb(model: NPP, rgb_uint8: np.ndarray, qp: int, tile_pixels: int = TILE_PIXELS) -> np.ndarray:
    """The filtered image alone (`npp preprocess`)."""
    return run_npp(model, rgb_uint8, qp, tile_pixels)[0]
