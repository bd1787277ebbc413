"""The detector interface every COCO model in the registry implements.

`forward(x)` gives the raw, differentiable head outputs (what NPP training distils);
`detections(x)` the decoded boxes, still differentiable in their scores and coordinates (what
Grad-CAM's box-score target needs); `detect(x)` plain Python results for users."""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from torch import nn

from npp.vision.labels import COCO_LABELS
from npp.vision.tensor import as_batch


class Detector(nn.Module):
    task = "det"
    labels: List[str] = COCO_LABELS
    #: `detect`'s default score threshold
    default_threshold: float = 0.4

    def detections(self, x: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """Per image {"boxes": Nx4 (x0, y0, x1, y1 in x's pixels), "scores": N, "labels": N}
        after NMS, sorted by score; differentiable in boxes and scores."""
        raise NotImplementedError

    @property
    def cam_layers(self) -> List[nn.Module]:
        """Feature maps Grad-CAM reads (one per pyramid level is fine)."""
        raise NotImplementedError

    @torch.no_grad()
    def detect(self, x: torch.Tensor, threshold: Optional[float] = None) -> List[List[Dict[str, object]]]:
        """Per image: [{"label", "score", "box": [x0, y0, x1, y1]}] with score >= threshold."""
        thr = self.default_threshold if threshold is None else float(threshold)
        out = []
        x = as_batch(x).to(next(self.parameters()).device)
        for det in self.detections(x):
            keep = det["scores"] >= thr
            boxes, scores, labels = det["boxes"][keep].cpu(), det["scores"][keep].cpu(), det["labels"][keep].cpu()
            out.append([
                {"label": self.labels[int(c)], "score": round(float(s), 4), "box": [round(float(v), 1) for v in b]}
                for b, s, c in zip(boxes, scores, labels)
            ])
        return out
