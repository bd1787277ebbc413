"""The classifier interface every ImageNet model in the registry implements.

Callers pass RGB in [0, 1] at any size; the model resizes (the whole image, no crop, so that
Grad-CAM maps line up with the input) and normalises itself, differentiably, so NPP training
can backpropagate through it."""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch
from torch import nn

from npp.vision.labels import IMAGENET_LABELS
from npp.vision.tensor import as_batch, resize


class Classifier(nn.Module):
    """Wraps a network taking normalised `input_size` images and returning 1000 logits."""

    task = "cls"

    def __init__(
        self,
        name: str,
        net: nn.Module,
        mean: Sequence[float],
        std: Sequence[float],
        input_size: int,
        cam_layer: str,
    ) -> None:
        super().__init__()
        self.name = name
        self.net = net
        self.labels: List[str] = IMAGENET_LABELS
        self.input_size = input_size
        self.cam_layer_name = cam_layer
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    @property
    def cam_layer(self) -> nn.Module:
        """The layer Grad-CAM reads (last convolutional feature map)."""
        return self.net.get_submodule(self.cam_layer_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = resize(as_batch(x), (self.input_size, self.input_size))
        return self.net((x - self.mean) / self.std)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, k: int = 5) -> List[List[Dict[str, object]]]:
        """Top-k classes per image: [{"index", "label", "prob"}], most probable first."""
        x = as_batch(x).to(self.mean.device)
        probs = torch.softmax(self.forward(x).float(), dim=1)
        top = probs.topk(k, dim=1)
        return [
            [{"index": int(i), "label": self.labels[int(i)], "prob": float(p)} for p, i in zip(ps, ids)]
            for ps, ids in zip(top.values.cpu(), top.indices.cpu())
        ]
