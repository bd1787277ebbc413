"""Shaping model input tensors (RGB in [0, 1]): batches and differentiable resizing.
uint8 images become tensors through `npp.torchutil.to_tensor`."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from npp.errors import NppError
from npp.torchutil import to_tensor


def as_batch(x: torch.Tensor) -> torch.Tensor:
    """Accept 3xHxW or Bx3xHxW float images; return Bx3xHxW."""
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4 or x.shape[1] != 3:
        raise NppError(f"expected images of shape Bx3xHxW, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise NppError("expected float images in [0, 1]")
    return x


def resize(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Differentiable, antialiased bilinear resize of Bx3xHxW to `size` (H, W); a no-op when equal."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = x.shape[-2] > size[0] or x.shape[-1] > size[1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def stack_images(images: Sequence[np.ndarray], size: Tuple[int, int], device=None) -> torch.Tensor:
    """Several uint8 images of any sizes -> one Bx3xHxW batch resized to `size`."""
    return torch.cat([resize(to_tensor(im, device), size) for im in images])
