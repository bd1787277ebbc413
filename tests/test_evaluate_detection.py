"""`npp evaluate --task det`: mAP through pycocotools against hand-drawn COCO boxes and
against the detector's own output on the uncompressed photo, with the offline NanoDet."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

COCO = Path(__file__).parent / "data" / "evaluate" / "darknet_coco.json"


@pytest.fixture(scope="module")
def darknet(npp_cache, tmp_path_factory):
    src = npp_cache / "photos" / "darknet"
    if not (src / "dog.jpg").is_file():
        pytest.fail(f"darknet photos missing in {src}: run bash scripts/fetch_photos.sh darknet")
    d = tmp_path_factory.mktemp("darknet")
    for name in ("dog.jpg", "person.jpg"):
        shutil.copy(src / name, d / name)
    return d


def evaluate(data, out, *extra):
    proc = subprocess.run([sys.executable, "-m", "npp", "evaluate", "--data", str(data), "--codec", "jpeg",
                           "--qps", "1,44", "--task", "det", "--out", str(out), "--jobs", "1", "--no-npp",
                           "--quiet", "--json", *map(str, extra)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), json.loads((out / "results.json").read_text())


def test_map_against_coco_annotations(darknet, tmp_path):
    summary, results = evaluate(darknet, tmp_path / "coco", "--coco", COCO)
    assert (summary["task"], summary["metric"]) == ("det", "map")
    assert (tmp_path / "coco" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    curve = results["curves"]["plain"]
    assert all(0.0 <= v <= 1.0 for v in curve["map"] + curve["map50"])
    assert curve["map50"][0] >= curve["map"][0] > 0.3  # NanoDet finds the hand-boxed objects
    assert curve["map"][0] >= curve["map"][1]  # quality 98 keeps at least what QP 44 keeps
    rows = [r for r in results["rows"] if r["method"] == "plain"]
    assert all(d["box"][2] <= r["width"] and d["box"][3] <= r["height"] for r in rows for d in r["detections"])


def test_map_against_the_uncompressed_detections(darknet, tmp_path):
    summary, results = evaluate(darknet, tmp_path / "self")
    near_lossless, low = summary["curves"]["plain"]["map"]
    assert near_lossless > 0.7 and near_lossless > low


def test_image_missing_from_annotations_is_a_clear_error(darknet, tmp_path, npp_cache):
    shutil.copy(npp_cache / "photos" / "darknet" / "eagle.jpg", tmp_path / "eagle.jpg")
    for name in ("dog.jpg",):
        shutil.copy(darknet / name, tmp_path / name)
    proc = subprocess.run([sys.executable, "-m", "npp", "evaluate", "--data", str(tmp_path), "--codec", "jpeg",
                           "--qps", "30,40", "--task", "det", "--coco", str(COCO), "--out", str(tmp_path / "o"),
                           "--no-npp", "--quiet"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "eagle.jpg is not in the annotation file" in proc.stderr
