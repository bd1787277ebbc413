"""The paper's models (ResNet50; FCOS, Faster R-CNN, RetinaNet) through torchvision's weights API.

Their weights come from download.pytorch.org, so they run only where the file is already in
the torch hub cache, or where downloading is allowed (`npp.hosting.download_allowed`: on a
Hugging Face Space by default, elsewhere with `NPP_ALLOW_DOWNLOAD=1`). `status` only looks at
the cache and that rule: it never touches the network."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Tuple
from urllib.parse import urlparse

import torch
from torch import nn

from npp.hosting import ALLOW_DOWNLOAD_ENV, download_allowed
from npp.vision.classifier import Classifier
from npp.vision.detector import Detector
from npp.vision.labels import COCO_LABELS
from npp.vision.registry import register_model
from npp.vision.tensor import as_batch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# name: (weights enum entry, Grad-CAM layer, description)
CLASSIFIERS = {
    "resnet50": ("ResNet50_Weights.IMAGENET1K_V1", "layer4", "ResNet50 (the paper's classifier), ImageNet top-1 76.1%"),
    "resnet18": ("ResNet18_Weights.IMAGENET1K_V1", "layer4", "ResNet18, ImageNet top-1 69.8%"),
    "mobilenet_v3_large": ("MobileNet_V3_Large_Weights.IMAGENET1K_V1", "features", "MobileNetV3-Large, ImageNet top-1 74.0%"),
}
DETECTORS = {
    "fcos_resnet50_fpn": ("FCOS_ResNet50_FPN_Weights.COCO_V1", "FCOS ResNet50-FPN (paper), COCO box mAP 39.2"),
    "fasterrcnn_resnet50_fpn_v2": ("FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1", "Faster R-CNN ResNet50-FPN v2, COCO box mAP 46.7"),
    "retinanet_resnet50_fpn_v2": ("RetinaNet_ResNet50_FPN_V2_Weights.COCO_V1", "RetinaNet ResNet50-FPN v2, COCO box mAP 41.5"),
}


def weights_file(weights_name: str) -> Path:
    """Where torch.hub keeps (or would keep) the weights file."""
    from torchvision.models import get_weight

    url = get_weight(weights_name).url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def weights_status(weights_name: str) -> Tuple[bool, str]:
    path = weights_file(weights_name)
    if path.is_file() and path.stat().st_size > 0:
        return True, ""
    if download_allowed():
        return True, f"weights will be downloaded to {path}"
    return False, (f"torchvision weights {weights_name} are not in the cache ({path}); "
                   f"set {ALLOW_DOWNLOAD_ENV}=1 where the internet is reachable to download them")


def _build(name: str, weights_name: str) -> nn.Module:
    from torchvision.models import get_model, get_weight

    from npp.errors import NppError

    try:
        return get_model(name, weights=get_weight(weights_name))
    except (OSError, RuntimeError) as exc:  # no network, or a truncated/corrupt cached file
        raise NppError(f"cannot load {name} weights ({weights_name}): {exc}") from None


class TorchvisionDetector(Detector):
    """A torchvision COCO detector behind the project's detector interface."""

    default_threshold = 0.5

    def __init__(self, name: str, net: nn.Module, categories: List[str]) -> None:
        super().__init__()
        self.name = name
        self.net = net
        # torchvision numbers COCO's 91 category ids; map to the 80 contiguous classes
        to_ours = [COCO_LABELS.index(c) if c in COCO_LABELS else -1 for c in categories]
        self.register_buffer("to_ours", torch.tensor(to_ours), persistent=False)

    @property
    def cam_layers(self) -> List[nn.Module]:
        return [self.net.backbone.body.layer4]

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """FPN feature maps ("fpn_<level>") and, for one-stage detectors, the head outputs."""
        images, _ = self.net.transform(list(as_batch(x)))
        feats = self.net.backbone(images.tensors)
        raw = {f"fpn_{k}": v for k, v in feats.items()}
        if hasattr(self.net, "head"):
            raw.update(self.net.head(list(feats.values())))
        return raw

    def detections(self, x: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        out = []
        for det in self.net(list(as_batch(x))):
            labels = self.to_ours[det["labels"]]
            keep = labels >= 0
            out.append({"boxes": det["boxes"][keep], "scores": det["scores"][keep], "labels": labels[keep]})
        return out


def _register_classifier(name: str, weights_name: str, cam_layer: str, description: str) -> None:
    @register_model(name, task="cls", status=lambda: weights_status(weights_name), description=description,
                    licence="BSD-3-Clause (torchvision)")
    def factory() -> nn.Module:
        return Classifier(name, _build(name, weights_name), IMAGENET_MEAN, IMAGENET_STD, 224, cam_layer)


def _register_detector(name: str, weights_name: str, description: str) -> None:
    @register_model(name, task="det", status=lambda: weights_status(weights_name), description=description,
                    licence="BSD-3-Clause (torchvision)")
    def factory() -> nn.Module:
        from torchvision.models import get_weight

        categories = get_weight(weights_name).meta["categories"]
        return TorchvisionDetector(name, _build(name, weights_name), categories)


for _name, (_w, _layer, _desc) in CLASSIFIERS.items():
    _register_classifier(_name, _w, _layer, _desc)
for _name, (_w, _desc) in DETECTORS.items():
    _register_detector(_name, _w, _desc)
