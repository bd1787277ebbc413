"""Inference-only speed-ups that leave NPP's function unchanged: batch-norm folded into the
preceding convolution, channels-last memory layout."""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from npp.nn.unet import Up2


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An eval-mode copy of `model` with every conv -> BatchNorm pair folded into the conv."""
    model = copy.deepcopy(model).eval()
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            layers = list(module)
            for i in range(len(layers) - 1):
                if isinstance(layers[i], nn.Conv2d) and isinstance(layers[i + 1], nn.BatchNorm2d):
                    module[i] = fuse_conv_bn_eval(layers[i], layers[i + 1])
                    module[i + 1] = nn.Identity()
        elif isinstance(module, Up2) and isinstance(module.bn, nn.BatchNorm2d):
            module.conv = fuse_conv_bn_eval(module.conv, module.bn, transpose=module.mode == "transpose")
            module.bn = nn.Identity()
    return model


def for_inference(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """Folded batch-norm, optionally channels-last weights; use under torch.inference_mode()."""
    model = fold_batchnorm(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model
