"""MoveNet (optional pose task): keypoints land on the person, batches, gradients."""
from __future__ import annotations

import torch

from npp.image import load_rgb
from npp.vision import create_model, list_models
from npp.torchutil import to_tensor
from npp.vision.tensor import stack_images
from vision_labels import detection_boxes


def test_pose_keypoints_lie_on_the_labelled_person(offline_photo_path):
    assert list_models("pose") == ["movenet"]
    model = create_model("movenet", task="pose", device="cpu")
    box = next(r["box"] for r in detection_boxes() if r["id"] == "person")  # person.jpg, by hand
    kps = model.keypoints(to_tensor(load_rgb(offline_photo_path("darknet", "person.jpg"))))[0]
    assert [k["name"] for k in kps][:3] == ["nose", "left_eye", "right_eye"] and len(kps) == 17
    x0, y0, x1, y1 = box
    margin = 10
    for k in kps:
        assert x0 - margin <= k["x"] <= x1 + margin and y0 - margin <= k["y"] <= y1 + margin, k
    by = {k["name"]: k for k in kps}
    assert by["nose"]["y"] < by["left_hip"]["y"] < by["left_ankle"]["y"]  # upright person


def test_astronaut_nose_is_on_her_face(photo):
    model = create_model("movenet", task="pose", device="cpu")
    nose = model.keypoints(to_tensor(photo("astronaut")))[0][0]
    assert 170 <= nose["x"] <= 290 and 60 <= nose["y"] <= 180 and nose["score"] > 0.3


def test_pose_batch_and_gradients(photo):
    model = create_model("movenet", task="pose", device="cpu")
    batch = stack_images([photo("astronaut"), photo("coffee")], (192, 192)).requires_grad_(True)
    raw = model(batch)
    assert raw["keypoints"].shape == (2, 17, 3) and raw["heatmaps"].shape == (2, 48, 48, 17)
    with torch.no_grad():
        alone = model(batch[1:].detach())["keypoints"]
    assert torch.allclose(raw["keypoints"][1], alone[0], atol=1e-4)
    (raw["heatmaps"].mean() + raw["keypoints"][..., 2].sum()).backward()
    assert batch.grad.abs().sum() > 0
