"""The Curves tab's sweep: detection agreement, and a real QP sweep of a photo."""
from __future__ import annotations

import math

import pytest

from npp.curves import detection_f1, sweep, sweep_table
from npp.pipeline import ComparePipeline, load_photo


def det(label, box, score=0.9):
    return {"label": label, "box": box, "score": score}


def test_detection_f1():
    ref = [det("cat", [0, 0, 100, 100]), det("dog", [200, 200, 300, 300])]
    assert detection_f1(ref, ref) == 1.0
    assert detection_f1([], []) == 1.0
    assert detection_f1(ref, []) == 0.0
    assert detection_f1(ref, [det("cat", [5, 5, 100, 100])]) == pytest.approx(2 / 3)
    assert detection_f1(ref, [det("dog", [0, 0, 100, 100])]) == 0.0  # right place, wrong label
    assert detection_f1(ref, [det("cat", [60, 60, 160, 160])]) == 0.0  # IoU below 0.5


@pytest.fixture(scope="module")
def pipeline():
    return ComparePipeline()


def test_sweep_rows(pipeline, photo_path):
    if pipeline.vision.classifier is None and pipeline.vision.detector is None:
        pytest.skip("no vision model in this checkout")
    photo = load_photo(photo_path("chelsea"), "chelsea.png")
    rows = sweep(pipeline, photo, "jpeg", [28, 37, 45])
    plain = [r for r in rows if not r["branch"].startswith("NPP")]
    assert [r["qp"] for r in plain] == [28, 37, 45]
    assert plain[0]["bpp"] > plain[1]["bpp"] > plain[2]["bpp"]
    if pipeline.vision.classifier is not None:
        assert all(0 <= r["confidence"] <= 1 for r in rows)
        assert plain[0]["confidence"] > 0.2  # the cat's class survives light compression
    if pipeline.vision.detector is not None:
        assert all(0 <= r["detection_f1"] <= 1 for r in rows)
    df, text = sweep_table(pipeline, photo, "jpeg", "30, 40")
    assert len(df) == len(rows) // 3 * 2 and "BD-rate" in text
    assert not any(isinstance(v, float) and math.isnan(v) for v in df["bpp"])
