"""`npp classify / detect / pose / gradcam` and the models in `npp info --json`."""
from __future__ import annotations

import json

import numpy as np
import pytest

from npp.cli import main
from npp.image import load_rgb
from npp.vision import COCO_LABELS, IMAGENET_LABELS


def _json_lines(out: str) -> list:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_classify_json(photo_path, capsys):
    assert main(["classify", str(photo_path("chelsea")), str(photo_path("coffee")), "--json"]) == 0
    rows = _json_lines(capsys.readouterr().out)
    assert len(rows) == 2
    for row in rows:
        assert row["model"] == "efficientnet_lite1" and len(row["top5"]) == 5
        probs = [p["prob"] for p in row["top5"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
        for p in row["top5"]:
            assert 0 <= p["index"] <= 999 and p["label"] == IMAGENET_LABELS[p["index"]]
    assert rows[1]["top5"][0]["label"] == "espresso"


def test_pose_json_puts_the_nose_above_the_ankles(offline_photo_path, photo_path, capsys):
    src = offline_photo_path("darknet", "person.jpg")
    assert main(["pose", str(src), str(photo_path("astronaut")), "--json"]) == 0
    rows = _json_lines(capsys.readouterr().out)
    assert [r["model"] for r in rows] == ["movenet", "movenet"]
    for row in rows:
        assert len(row["keypoints"]) == 17
        for k in row["keypoints"]:
            assert 0 <= k["x"] <= row["width"] and 0 <= k["y"] <= row["height"] and 0 <= k["score"] <= 1
    by = {k["name"]: k for k in rows[0]["keypoints"]}
    assert by["nose"]["y"] < by["left_ankle"]["y"]


def test_detect_json(offline_photo_path, capsys):
    src = offline_photo_path("darknet", "dog.jpg")
    assert main(["detect", str(src), "--threshold", "0.3", "--json"]) == 0
    (row,) = _json_lines(capsys.readouterr().out)
    assert row["model"] == "nanodet" and (row["width"], row["height"]) == (768, 576)
    labels = {d["label"] for d in row["detections"]}
    assert {"dog", "bicycle"} <= labels and labels <= set(COCO_LABELS)
    for d in row["detections"]:
        assert d["score"] >= 0.3 and len(d["box"]) == 4


@pytest.mark.parametrize("task", ["cls", "det"])
def test_gradcam_writes_overlays_of_the_input_size(task, offline_photo_path, photo_path, tmp_path, capsys):
    inputs = [offline_photo_path("darknet", "person.jpg"), photo_path("chelsea")]
    out = tmp_path / "cams"
    assert main(["gradcam", "--task", task, *map(str, inputs), "-o", str(out), "--json"]) == 0
    rows = _json_lines(capsys.readouterr().out)
    assert len(rows) == 2
    for src, row in zip(inputs, rows):
        img, cam = load_rgb(src), load_rgb(row["output"])
        assert cam.shape == img.shape
        assert not np.array_equal(cam, img)  # the heatmap is on it


def test_gradcam_heat_sits_on_the_explained_object(offline_photo_path):
    from npp.vision import create_model
    from npp.vision.gradcam import detector_cam

    rgb = load_rgb(offline_photo_path("darknet", "person.jpg"))
    cam, dets = detector_cam(create_model(task="det", device="cpu"), rgb, label="horse")
    assert cam.shape == rgb.shape[:2] and [d["label"] for d in dets] == ["horse"]
    x0, y0, x1, y1 = (round(v) for v in dets[0]["box"])
    inside = cam[y0:y1, x0:x1].mean()
    mask = np.ones_like(cam, dtype=bool)
    mask[y0:y1, x0:x1] = False
    assert inside > 3 * cam[mask].mean()


@pytest.mark.parametrize("argv, message", [
    (["classify", "--model", "nanodet", "IMG"], "is a det model"),
    (["detect", "--threshold", "1.5", "IMG"], "--threshold"),
    (["gradcam", "--task", "det", "--threshold", "-1", "IMG", "-o", "OUT"], "--threshold"),
    (["gradcam", "--task", "cls", "--class", "no such class", "IMG", "-o", "OUT"], "unknown ImageNet class"),
    (["gradcam", "--task", "det", "--class", "giraffe", "IMG", "-o", "OUT"], "no 'giraffe' detections"),
    (["classify", "missing.png"], "no such file"),
])
def test_errors_are_one_line(argv, message, photo_path, tmp_path, capsys):
    argv = [str(photo_path("coffee")) if a == "IMG" else str(tmp_path / "o.png") if a == "OUT" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_info_lists_models(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    models = info["models"]
    assert models["efficientnet_lite0"]["available"] and models["efficientnet_lite1"]["available"] and models["nanodet"]["available"]
    for name in ("resnet50", "fcos_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "retinanet_resnet50_fpn_v2"):
        assert models[name]["task"] in ("cls", "det")
        assert models[name]["available"] or models[name]["reason"]
