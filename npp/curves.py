"""The Curves tab's QP sweep for one photo: for each QP and branch (plain codec, NPP+codec),
the real file's bpp, the classifier's confidence in the uncompressed image's top-1 class and
how well the detections agree with the uncompressed ones; BD-rates from `npp.evaluate`."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from npp.analysis import to_tensor
from npp.errors import NppError
from npp.jobs import parse_qps

DEFAULT_SWEEP_QPS = (28, 31, 34, 37, 41, 45)
IOU_MATCH = 0.5


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def detection_f1(reference: list, test: list, iou_min: float = IOU_MATCH) -> float:
    """F1 of `test` against `reference` detections (same label, IoU >= iou_min, greedy by
    score). 1.0 when both are empty: nothing was found and nothing was lost."""
    if not reference and not test:
        return 1.0
    used: set = set()
    hits = 0
    for d in sorted(test, key=lambda d: -float(d["score"])):
        best, best_j = iou_min, None
        for j, r in enumerate(reference):
            if j not in used and r["label"] == d["label"]:
                v = iou(r["box"], d["box"])
                if v >= best:
                    best, best_j = v, j
        if best_j is not None:
            used.add(best_j)
            hits += 1
    return 2.0 * hits / (len(reference) + len(test))


def class_confidence(classifier: torch.nn.Module, rgbs: List[np.ndarray], index: int, device) -> List[float]:
    """Softmax probability of class `index` for each image."""
    with torch.inference_mode():
        probs = torch.softmax(classifier(to_tensor(rgbs, device)).float(), dim=1)
    return [float(p) for p in probs[:, index]]


def sweep(pipeline, photo, codec: str, qps: Sequence[int], weights: Optional[Union[str, Path]] = None,
          progress: Optional[Callable[[float, str], None]] = None, classifier: Optional[str] = None,
          detector: Optional[str] = None) -> List[dict]:
    """One row per (QP, branch): {"qp", "branch", "bpp", "bytes", "psnr", "confidence", "detection_f1"}."""
    vision = pipeline.suite(classifier, detector)
    if vision.classifier is None and vision.detector is None:
        raise NppError("no vision model is available here, so there is nothing to plot")
    ref = vision.analyse([photo.rgb], heatmaps=False)[0]
    top1 = ref.top5[0]["index"] if ref.top5 else None
    rows: List[dict] = []
    with tempfile.TemporaryDirectory(prefix="npp-sweep-") as tmp:
        for i, qp in enumerate(qps):
            if progress:
                progress(i / len(qps), f"QP {qp}")
            res = pipeline.compare(photo, codec, qp, Path(tmp), weights=weights, heatmaps=False,
                                   classifier=classifier, detector=detector)
            branches = [("plain", res.plain)] + ([("npp", res.npp)] if res.npp is not None else [])
            conf = (class_confidence(vision.classifier, [b.decoded for _, b in branches], top1, pipeline.device)
                    if top1 is not None else [math.nan] * len(branches))
            for (name, b), c in zip(branches, conf):
                f1 = detection_f1(ref.detections, b.analysis.detections) if ref.detections is not None else math.nan
                rows.append({"qp": int(qp), "branch": f"{name} {codec}" if name == "plain" else f"NPP+{codec}",
                             "bpp": round(b.encoded.bpp, 5), "bytes": b.encoded.nbytes,
                             "psnr": round(b.psnr, 3), "confidence": round(c, 5), "detection_f1": round(f1, 4)})
    return rows


def bd_rates(rows: List[dict]) -> dict:
    """BD-rate (%) of NPP+codec against the plain codec on each quality axis."""
    from npp.evaluate.bdrate import bd_rate

    plain = [r for r in rows if not r["branch"].startswith("NPP")]
    npp = [r for r in rows if r["branch"].startswith("NPP")]
    if not npp:
        return {}
    out = {}
    for axis in ("confidence", "detection_f1", "psnr"):
        out[axis] = bd_rate([r["bpp"] for r in plain], [r[axis] for r in plain],
                            [r["bpp"] for r in npp], [r[axis] for r in npp])
    return out


def sweep_table(pipeline, photo, codec: str, qps_text: str, weights=None,
                progress: Optional[Callable[[float, str], None]] = None, classifier: Optional[str] = None,
                detector: Optional[str] = None) -> Tuple[object, str]:
    """(DataFrame of the sweep, markdown line with the BD-rates) for the Curves tab."""
    import pandas as pd

    rows = sweep(pipeline, photo, codec, parse_qps(qps_text), weights, progress, classifier, detector)
    df = pd.DataFrame(rows)
    if not any(r["branch"].startswith("NPP") for r in rows):
        return df, "BD-rate: no NPP branch (no NPP weights available here)."
    rates = bd_rates(rows)
    parts = [f"{k}: {'n/a' if math.isnan(v) else f'{v:+.1f}%'}" for k, v in rates.items()]
    return df, "**BD-rate of NPP+codec vs plain codec** (negative = fewer bits at equal quality): " + ", ".join(parts)
