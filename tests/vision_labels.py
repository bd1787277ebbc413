"""Readers for the hand-made labels in tests/data (see tests/data/README.md)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, List, Set

DATA = Path(__file__).parent / "data"


def _indices(spec: str) -> Set[int]:
    """"281 282 285" or "151-268" -> set of ImageNet indices."""
    out: Set[int] = set()
    for part in spec.split():
        lo, _, hi = part.partition("-")
        out |= set(range(int(lo), int(hi or lo) + 1))
    return out


def imagenet_labels() -> List[Dict]:
    rows = []
    with open(DATA / "imagenet_labels.csv", newline="") as f:
        for r in csv.DictReader(f):
            r["accepted"] = _indices(r["accepted"])
            r["crop"] = tuple(map(int, r["crop"].split())) if r["crop"] else None
            rows.append(r)
    return rows


def detection_boxes() -> List[Dict]:
    rows = []
    with open(DATA / "detection_boxes.csv", newline="") as f:
        for r in csv.DictReader(f):
            r["box"] = [float(r[k]) for k in ("x0", "y0", "x1", "y1")]
            rows.append(r)
    return rows
