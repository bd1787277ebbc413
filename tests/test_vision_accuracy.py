"""Acceptance checks of the offline models on photos labelled by hand (tests/data)."""
from __future__ import annotations

import math

import pytest
import torch
from torchvision.ops import box_iou

from npp.image import load_rgb
from npp.vision import create_model
from npp.torchutil import to_tensor
from vision_labels import detection_boxes, imagenet_labels

# The issue asks for 16/20 of the default offline classifier (Lite1); Lite0, the faster
# alternative, gets 15/20 on this set (docs/vision.md).
MIN_TOP1 = {"efficientnet_lite1": 16, "efficientnet_lite0": 15}


@pytest.mark.parametrize("name", sorted(MIN_TOP1))
def test_classifier_top1_on_labelled_photos(offline_photo_path, name):
    model = create_model(name, device="cpu")
    rows = imagenet_labels()
    assert len(rows) == 20
    hits, misses = 0, []
    for r in rows:
        rgb = load_rgb(offline_photo_path(r["source"], r["file"]))
        if r["crop"]:
            x0, y0, x1, y1 = r["crop"]
            rgb = rgb[y0:y1, x0:x1]
        top1 = model.predict(to_tensor(rgb))[0][0]
        if top1["index"] in r["accepted"]:
            hits += 1
        else:
            misses.append(f"{r['id']}: {top1['label']}")
    assert hits >= MIN_TOP1[name], f"top-1 {hits}/20; misses: {misses}"


def test_detector_finds_hand_labelled_objects(offline_photo_path):
    model = create_model("nanodet", task="det", device="cpu")
    rows = detection_boxes()
    assert len(rows) >= 8
    found, ious, cache = 0, [], {}
    for r in rows:
        key = (r["source"], r["file"])
        if key not in cache:
            cache[key] = model.detect(to_tensor(load_rgb(offline_photo_path(*key))))[0]
        same_class = [d["box"] for d in cache[key] if d["label"] == r["label"]]
        best = float(box_iou(torch.tensor([r["box"]]), torch.tensor(same_class)).max()) if same_class else 0.0
        found += best >= 0.5
        if best >= 0.5:
            ious.append(best)
    assert found >= math.ceil(7 / 8 * len(rows)), f"found {found} of {len(rows)}"
    # Box positions, not just overlap: a half-cell shift in decoding drops this to ~0.7.
    assert sum(ious) / len(ious) >= 0.8
