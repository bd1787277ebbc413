"""Detection mAP per method and QP: against COCO annotations when given, else against the
detector's own confident detections on the uncompressed image (a pseudo ground truth that
measures how much of the detector's output the codec preserves)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Sequence

from npp.errors import NppError
from npp.evaluate.metrics import coco_map
from npp.evaluate.protocol import REFERENCE

#: detections at or above this score count as what the detector found: the pseudo ground truth
#: on the uncompressed image, what `detection_f1` compares, and what the app draws
DETECTED_SCORE = 0.3


def load_coco(path: Path) -> dict:
    """A COCO annotation file, checked for the parts mAP needs."""
    try:
        gt = json.loads(Path(path).read_text())
        gt["images"], gt["annotations"], gt["categories"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NppError(f"--coco {path}: not a COCO annotation file ({exc})") from None
    return gt


def check_covers(gt: dict, names: Sequence[str]) -> None:
    """Fail before any work when an image to evaluate has no entry in the annotations."""
    files = {Path(im["file_name"]).name for im in gt["images"]}
    for name in names:
        if Path(name).name not in files:
            raise NppError(f"--coco: {name} is not in the annotation file")


def _xywh(box: Sequence[float]) -> List[float]:
    x0, y0, x1, y1 = box
    return [x0, y0, x1 - x0, y1 - y0]


def ground_truth(config: dict, reference_rows: Sequence[dict], images: List[str]) -> tuple:
    """(COCO ground-truth dict restricted to `images`, image name -> id, category name -> id)."""
    if config.get("coco"):
        gt = load_coco(Path(config["coco"]))
        by_file = {Path(im["file_name"]).name: im for im in gt["images"]}
        ids = {}
        for name in images:
            im = by_file.get(Path(name).name)
            if im is None:
                raise NppError(f"--coco: {name} is not in the annotation file")
            ids[name] = im["id"]
        keep = set(ids.values())
        cats = {c["name"]: c["id"] for c in gt["categories"]}
        sub = {"images": [im for im in gt["images"] if im["id"] in keep],
               "annotations": [a for a in gt["annotations"] if a["image_id"] in keep],
               "categories": gt["categories"]}
        return sub, ids, cats
    ids = {name: i + 1 for i, name in enumerate(images)}
    labels = sorted({d["label"] for r in reference_rows for d in r.get("detections", [])
                     if d["score"] >= DETECTED_SCORE})
    cats = {name: i + 1 for i, name in enumerate(labels)}
    anns = []
    for r in reference_rows:
        for d in r.get("detections", []):
            if d["score"] >= DETECTED_SCORE:
                x, y, w, h = _xywh(d["box"])
                anns.append({"id": len(anns) + 1, "image_id": ids[r["image"]], "category_id": cats[d["label"]],
                             "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
    sizes = {r["image"]: (r["width"], r["height"]) for r in reference_rows}
    gt = {"images": [{"id": ids[n], "width": sizes[n][0], "height": sizes[n][1]} for n in images],
          "annotations": anns, "categories": [{"id": i, "name": n} for n, i in cats.items()]}
    return gt, ids, cats


def detection_curves(config: dict, by_method: Dict[str, List[dict]], images: List[str]) -> Dict[str, dict]:
    """{method: {"map": [per QP], "map50": [per QP]}} over all images."""
    gt, ids, cats = ground_truth(config, by_method.get(REFERENCE, []), images)
    out: Dict[str, dict] = {}
    for name in config["methods"]:
        curve = {"map": [], "map50": []}
        for qp in config["qps"]:
            dets = [{"image_id": ids[r["image"]], "category_id": cats[d["label"]], "bbox": _xywh(d["box"]),
                     "score": d["score"]}
                    for r in by_method.get(name, []) if r["qp"] == qp
                    for d in r.get("detections", []) if d["label"] in cats]
            m, m50 = coco_map(gt, dets)
            curve["map"].append(m)
            curve["map50"].append(m50)
        out[name] = curve
    return out
