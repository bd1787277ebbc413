"""The offline NanoDet detector: interface, decoding geometry, gradients, batching."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.ops import box_iou

from npp.image import load_rgb
from npp.vision import COCO_LABELS, create_model
from npp.torchutil import to_tensor


@pytest.fixture(scope="module")
def det():
    return create_model("nanodet", task="det", device="cpu")


@pytest.fixture(scope="module")
def person(offline_photo_path):
    return load_rgb(offline_photo_path("darknet", "person.jpg"))


def test_detect_output_shape(det, person):
    assert det.labels == COCO_LABELS and len(det.labels) == 80
    dets = det.detect(to_tensor(person))[0]
    assert dets, "no detections on person.jpg"
    h, w = person.shape[:2]
    for d in dets:
        assert d["label"] in COCO_LABELS and d["score"] >= det.default_threshold
        x0, y0, x1, y1 = d["box"]
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert [d["score"] for d in dets] == sorted((d["score"] for d in dets), reverse=True)
    assert {"person", "horse", "dog"} <= {d["label"] for d in dets}


def test_boxes_follow_the_image_geometry(det, person):
    """Boxes are in the input's pixels: a horizontally mirrored photo gives mirrored boxes."""
    h, w = person.shape[:2]
    a = det.detect(to_tensor(person))[0]
    b = det.detect(to_tensor(np.ascontiguousarray(person[:, ::-1])))[0]
    for label in ("person", "horse"):
        box = next(d["box"] for d in a if d["label"] == label)
        mirrored = [w - box[2], box[1], w - box[0], box[3]]
        cands = [d["box"] for d in b if d["label"] == label]
        assert cands and float(box_iou(torch.tensor([mirrored]), torch.tensor(cands)).max()) > 0.85


def test_raw_outputs_and_gradients_reach_the_input(det, person):
    x = to_tensor(person).requires_grad_(True)
    raw = det(x)
    assert raw["scores_s8"].shape == (1, 52 * 52, 80) and raw["boxes_s32"].shape == (1, 13 * 13, 44)
    (raw["scores_s8"].sum() + raw["boxes_s16"].pow(2).mean()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # decoded detections stay differentiable too (Grad-CAM's box-score target needs it)
    x.grad = None
    d = det.detections(x)[0]
    d["scores"].sum().backward()
    assert x.grad.abs().sum() > 0


def test_batch_matches_single(det, photo, person):
    from npp.vision.tensor import stack_images

    batch = stack_images([person, photo("coffee")], (416, 416))
    with torch.no_grad():
        both = det(batch)
        one = det(batch[1:])
    for k in both:
        assert torch.allclose(both[k][1], one[k][0], atol=1e-4), k


def test_weights_are_real_modules(det):
    convs = [m for m in det.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 34
    assert all(not p.requires_grad for p in det.parameters())
    assert len(det.cam_layers) == 3


def test_gradients_after_inference_mode(person):
    """The app runs detection under torch.inference_mode, then Grad-CAM: caches made during
    the first call must not block later gradients."""
    from npp.vision.nanodet import NanoDet

    fresh = NanoDet(create_model("nanodet", task="det", device="cpu").graph)  # same weights, empty caches
    fresh.graph._device_consts.clear()
    with torch.inference_mode():
        fresh.detect(to_tensor(person))
    x = to_tensor(person).requires_grad_(True)
    fresh.detections(x)[0]["scores"].sum().backward()
    assert x.grad.abs().sum() > 0
