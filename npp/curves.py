"""The Curves tab's QP sweep for one photo: the same methods as Compare through
`npp.evaluate.evaluate_photo` (the sweep `npp evaluate` runs), so every point equals what the
command line measures; here laid out as tables for the page."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from npp.codecs import create_codec, parse_qps
from npp.errors import NppError
from npp.evaluate import evaluate_photo
from npp.methods import Method

DEFAULT_SWEEP_QPS = (28, 31, 34, 37, 41, 45)
#: a sweep holds a compare slot for every QP: at most this many per request
MAX_SWEEP_QPS = 20
#: the metrics the tab plots and tabulates, with how they read
METRICS = {"kl": "KL to uncompressed (nats, lower is better)",
           "confidence": "confidence in the uncompressed top-1 class",
           "detection_f1": "detections kept (F1 vs uncompressed)",
           "psnr": "PSNR (dB)"}


def sweep_qps(text: object) -> List[int]:
    """The Curves tab's QP list: at least 2 and at most MAX_SWEEP_QPS different QPs."""
    return parse_qps(text, min_count=2, max_count=MAX_SWEEP_QPS, what="QPs")


def sweep(pipeline, photo, codec: str, qps: Sequence[int], methods: Sequence[Method],
          progress: Optional[Callable[[int], None]] = None, classifier: Optional[str] = None,
          detector: Optional[str] = None) -> dict:
    """`npp.evaluate`'s results object for one photo: every method at every QP."""
    vision = pipeline.suite(classifier, detector)
    if not vision.models:
        raise NppError("no vision model is available here, so there is nothing to plot")
    codec_obj = create_codec(codec)
    ok, reason = codec_obj.availability()
    if not ok:
        raise NppError(f"codec {codec} is not available here: {reason}")
    return evaluate_photo(photo.rgb, codec, qps, methods, vision.models, codec_options=codec_obj.options(),
                          cache_dir=pipeline.encode_cache, jobs=min(4, len(methods)), msssim=False, progress=progress)


def points(results: dict) -> List[dict]:
    """One record per (method, QP): what the plots draw."""
    out = []
    for name, c in results["curves"].items():
        for i, qp in enumerate(c["qp"]):
            out.append({"method": name, "qp": qp, "bpp": _r(c["bpp"][i], 4),
                        **{m: _r(c[m][i], 4) for m in METRICS if m in c}})
    return out


def wide_table(results: dict) -> List[list]:
    """Header + one row per QP: bpp and the headline metrics of every method side by side."""
    names = list(results["curves"])
    metrics = [m for m in ("kl", "detection_f1") if m in next(iter(results["curves"].values()))]
    header = ["QP"] + [f"{n} {col}" for n in names for col in ["bpp"] + metrics]
    rows = [header]
    for i, qp in enumerate(results["config"]["qps"]):
        row: list = [qp]
        for n in names:
            c = results["curves"][n]
            row += [_r(c["bpp"][i], 3)] + [_r(c[m][i], 3) for m in metrics]
        rows.append(row)
    return rows


def bd_table(results: dict) -> List[list]:
    """Header + one row per method: BD-rate (%) against the first method (plain) at equal KL,
    confidence, detections kept and PSNR; "n/a" where the curves share no quality range."""
    metrics = [m for m in METRICS if m in results["bd_rate"]]
    rows = [["method"] + [f"BD-rate at equal {m}" for m in metrics]]
    for name in list(results["curves"])[1:]:
        rows.append([name] + [_pct(results["bd_rate"][m][name]["value"]) for m in metrics])
    return rows


def bd_values(results: dict) -> Dict[str, Dict[str, Optional[float]]]:
    """{method: {metric: BD-rate % against plain, or None}} of a sweep (plain left out)."""
    out: Dict[str, Dict[str, Optional[float]]] = {}
    for metric, by in results["bd_rate"].items():
        for name, v in by.items():
            out.setdefault(name, {})[metric] = _r(v["value"], 2)
    return out


def load_heldout(path: Path, codec: str) -> Optional[dict]:
    """The precomputed curves of the held-out photos for `codec` (`bench/heldout_curves.py`
    writes them from `npp evaluate` results): {"images", "photos", "command", "protocol",
    "codec_options", "curves": {method: {"qp", "bpp", metric...}}, "bd_rate": {method:
    {metric: {"value", "ci95"}}}}, or None when there are none for this codec."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    return data.get("codecs", {}).get(codec)


def _r(x: Optional[float], digits: int) -> Optional[float]:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def _pct(x: Optional[float]) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:+.1f}%"
