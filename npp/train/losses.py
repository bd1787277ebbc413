"""The NPP training loss `R + lambda * D_machine + beta * D_pre` and its parts.

D_pre is a frequency-weighted MSE: plain MSE on [0, 1] pixels plus `low_weight` times the
MSE of 8x8 block means. A first trial found a plain MSE either too weak to stop colour and
contrast drift or strong enough to forbid the detail removal that saves bits; weighting
the low frequencies penalises drift while leaving fine detail cheap to drop."""
from __future__ import annotations

from typing import Dict, Union

import torch
import torch.nn.functional as F

Output = Union[torch.Tensor, Dict[str, torch.Tensor]]


def machine_distortion(student: Output, teacher: Output) -> torch.Tensor:
    """Per-image distillation loss: KL(teacher softmax || student softmax) in nats for
    classifier logits; mean squared error over a detector's head maps."""
    if isinstance(teacher, torch.Tensor):
        t = F.log_softmax(teacher.float(), dim=1)
        s = F.log_softmax(student.float(), dim=1)
        return (t.exp() * (t - s)).sum(dim=1)
    per_key = [((student[k].float() - teacher[k].float()) ** 2).flatten(1).mean(1) for k in sorted(teacher)]
    return torch.stack(per_key).mean(0)


def pre_distortion(filtered: torch.Tensor, original: torch.Tensor, low_weight: float) -> torch.Tensor:
    """Per-image frequency-weighted MSE between the filtered and original image."""
    mse = ((filtered - original) ** 2).flatten(1).mean(1)
    if low_weight <= 0:
        return mse
    low = ((F.avg_pool2d(filtered, 8, ceil_mode=True) - F.avg_pool2d(original, 8, ceil_mode=True)) ** 2).flatten(1).mean(1)
    return mse + low_weight * low


def batch_psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB of [0, 1] images."""
    mse = ((a.float() - b.float()) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return -10.0 * torch.log10(mse)
