"""Helpers every torch-using layer shares (nn, vision, evaluate, methods, train, the app):
choosing a device, turning uint8 images into model tensors, folding batch-norms for inference.
They live here, below all of those layers, so that none of them has to import another for them."""
from __future__ import annotations

from typing import Iterable, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from npp.errors import NppError

Device = Union[str, torch.device, None]


def pick_device(device: Device = None) -> torch.device:
    """`device` as a torch.device (None: CUDA when present, else the CPU). A name torch does
    not know, or CUDA where there is none, is a user error with a one-line message."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise NppError(f"device {device!r}: not a device name (use cpu, cuda or cuda:N)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise NppError(f"device {device}: CUDA is not available here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise NppError(f"device {device}: there are only {torch.cuda.device_count()} CUDA devices")
    elif dev.type != "cpu":
        raise NppError(f"device {device}: only cpu and cuda are supported")
    return dev


def to_tensor(images: Union[np.ndarray, Sequence[np.ndarray]], device: Device = None) -> torch.Tensor:
    """HxWx3 uint8 (one image), NxHxWx3 uint8 or a sequence of same-sized HxWx3 uint8 images
    -> Bx3xHxW float32 in [0, 1] on `device` (the interface every vision model and NPP take)."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = images[None]
    batch = images if isinstance(images, np.ndarray) else np.stack([np.asarray(im) for im in images])
    if batch.ndim != 4 or batch.shape[3] != 3 or batch.dtype != np.uint8:
        raise NppError(f"expected HxWx3 uint8 RGB images, got shape {batch.shape[1:]} dtype {batch.dtype}")
    batch = np.ascontiguousarray(batch)
    if not batch.flags.writeable:  # torch wants writable memory (decoders hand out read-only arrays)
        batch = batch.copy()
    t = torch.from_numpy(batch)
    return t.to(device=device).permute(0, 3, 1, 2).float().div_(255.0)


def fold_batchnorm(model: nn.Module, pairs: Iterable[Tuple[str, str]] = ()) -> nn.Module:
    """`model` in eval mode (changed in place) with every convolution followed by a batch-norm
    folded into the convolution: consecutive layers of an nn.Sequential, and the
    (convolution, batch-norm) attribute pairs named in `pairs` on any submodule. For frozen
    models only: in eval mode the output is unchanged, and inference is faster."""
    model.eval()
    pairs = tuple(pairs)
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            layers = list(module)
            for i in range(len(layers) - 1):
                if isinstance(layers[i], (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(layers[i + 1], nn.BatchNorm2d):
                    module[i] = _fuse(layers[i], layers[i + 1])
                    module[i + 1] = nn.Identity()
        for conv_name, bn_name in pairs:
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(bn, nn.BatchNorm2d):
                setattr(module, conv_name, _fuse(conv, bn))
                setattr(module, bn_name, nn.Identity())
    return model


def _fuse(conv: nn.Module, bn: nn.BatchNorm2d) -> nn.Module:
    return fuse_conv_bn_eval(conv, bn, transpose=isinstance(conv, nn.ConvTranspose2d))


def model_device(model: nn.Module) -> torch.device:
    """The device a model's parameters (or, for a parameter-free model, the CPU) are on."""
    p: Optional[torch.Tensor] = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")
