"""The Curves tab's QP sweep for one photo: the same methods as Compare through
`npp.evaluate.evaluate_photo` (the sweep `npp evaluate` runs), so every point equals what the
command line measures; its BD-rates, and the held-out set's precomputed curves shown beside
it (`bench/heldout_curves.py`)."""
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


def sweep_qps(text: object) -> List[int]:
    """The Curves tab's QP list: at least 2 and at most MAX_SWEEP_QPS different QPs."""
    return parse_qps(text, min_count=2, max_count=MAX_SWEEP_QPS, what="QPs")


def sweep(pipeline, photo, codec: str, qps: Sequence[int], methods: Sequence[Method],
          progress: Optional[Callable[[int], None]] = None, classifier: Optional[str] = None,
          detector: Optional[str] = None) -> dict:
    """`npp.evaluate`'s results object for one photo: every method at every QP (cached in the
    pipeline by request, so a repeated sweep is free; `progress` is not called then)."""
    vision = pipeline.suite(classifier, detector)
    if not vision.models:
        raise NppError("no vision model is available here, so there is nothing to plot")
    codec_obj = create_codec(codec)
    ok, reason = codec_obj.availability()
    if not ok:
        raise NppError(f"codec {codec} is not available here: {reason}")
    options = codec_obj.options()
    key = (photo.key, codec, tuple(sorted(options.items())), tuple(qps), tuple(m.key for m in methods), vision.names)
    return pipeline.sweeps.get_or_compute(key, lambda: evaluate_photo(
        photo.rgb, codec, qps, methods, vision.models, codec_options=options, cache_dir=pipeline.encode_cache,
        jobs=min(4, len(methods)), msssim=False, progress=progress))[0]


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
