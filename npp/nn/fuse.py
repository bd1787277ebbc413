"""Inference-only speed-ups that leave NPP's function unchanged: batch-norm folded into the
preceding convolution, channels-last memory layout."""
from __future__ import annotations

import copy

import torch
from torch import nn

from npp.torchutil import fold_batchnorm


def for_inference(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """An eval-mode copy of `model` with folded batch-norms (NPP's Sequential conv/BN pairs and
    each upsampling stage's `conv`/`bn`), optionally channels-last; use under inference_mode."""
    model = fold_batchnorm(copy.deepcopy(model), pairs=[("conv", "bn")])
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model
