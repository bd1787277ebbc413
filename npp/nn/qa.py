"""Quantization-adaptive (QA) layers: a per-channel scale computed from the codec's QP.

The paper conditions NPP on the QP through small MLPs whose outputs multiply feature maps.
QP is normalised as `qp / 51` (HEVC's full QP range), so a QP never seen in training still
maps to a sensible input."""
from __future__ import annotations

from typing import Union

import torch
from torch import nn

QP_SCALE = 51.0


def qp_batch(qp: Union[int, float, torch.Tensor], batch: int, device: torch.device) -> torch.Tensor:
    """QP (a number or a length-B tensor) as a length-B float tensor, one QP per image."""
    q = torch.as_tensor(qp, dtype=torch.float32, device=device).reshape(-1)
    if q.shape[0] == 1 and batch > 1:
        q = q.expand(batch)
    if q.shape[0] != batch:
        raise ValueError(f"got {q.shape[0]} QPs for a batch of {batch}")
    return q


def qp_tensor(qp: Union[int, float, torch.Tensor], batch: int, device: torch.device) -> torch.Tensor:
    """QP (a number or a length-B tensor) as a Bx1 float tensor of `qp / 51`."""
    return qp_batch(qp, batch, device).reshape(-1, 1) / QP_SCALE


class QAScale(nn.Module):
    """`Linear(1, m) -> ReLU -> Linear(m, C) -> ReLU`, as in the paper, giving a per-channel
    scale. The last bias starts at 1 and its weights at 0, so a fresh layer multiplies by 1."""

    def __init__(self, channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.fc1 = nn.Linear(1, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        nn.init.zeros_(self.fc2.weight)
        nn.init.ones_(self.fc2.bias)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """q: Bx1 normalised QP -> BxCx1x1 scale."""
        s = torch.relu(self.fc2(torch.relu(self.fc1(q))))
        return s[:, :, None, None]
