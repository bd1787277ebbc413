"""The frozen vision model NPP is distilled from (no labels needed): the project's vision
registry, with its own resizing and normalisation, gradients flowing to the input only."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn


def load_teacher(name: Optional[str], task: str, device: torch.device) -> nn.Module:
    """A frozen model in eval mode whose outputs on the uncompressed image are the targets."""
    from npp.vision import create_model

    model = create_model(name, task=task, device=device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
