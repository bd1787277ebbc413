"""What one Compare in the app does, with no UI in it: a photo through several methods
(`npp.methods`: plain, NPP, blur, downscale, resize, ...) and one real codec at one QP.

The numbers come from `npp.evaluate` (the same sweep `npp evaluate` and the Curves tab run),
so bpp, PSNR, KL, confidence and detection F1 equal what the command line reports for the same
photo, codec, QP and method. Each method's real file is written for download; the vision
models then add what is drawn (top-5, detections, Grad-CAM). Results depend only on their
inputs, never on who asked, so caching by content cannot mix users' results.

Uploads larger than `APP_MAX_PIXELS` are downscaled (with a note); images smaller than
`APP_MIN_SIDE` on a side are refused."""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import math
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from PIL import Image

from npp.analysis import Analysis, VisionSuite
from npp.cache import LRUCache
from npp.codecs import check_qp, create_codec
from npp.codecs.jpeg import qp_to_quality
from npp.errors import NppError
from npp.evaluate import REFERENCE, Item, Sweep, SweepSpec
from npp.fsutil import atomic_write_bytes
from npp.image import Source, load_rgb
from npp.methods import Coded, Method, create_methods
from npp.torchutil import pick_device
from npp.visualize import error_map

#: The app works on at most this many pixels (about 1280x800); larger uploads are downscaled
#: with a visible note. The CLI keeps full resolution (up to npp.image.MAX_PIXELS).
APP_MAX_PIXELS = 1_048_576
#: Smaller images are refused: codecs and detectors need a few blocks to work with.
APP_MIN_SIDE = 32
DEFAULT_QP = 37
#: what Compare shows unless asked otherwise: the codec alone, NPP, and the simple baseline
#: that is hardest to beat under the app's protocol (resizing to what the classifier sees)
DEFAULT_METHODS = ("plain", "npp", "resize:256")
#: at most this many methods per compare (each is a real encode)
MAX_METHODS = 6


@dataclass(frozen=True)
class Photo:
    """An upload, normalised: 8-bit RGB within the app's size limits."""

    rgb: np.ndarray
    key: str
    name: str
    note: str = ""

    @property
    def size(self) -> str:
        return f"{self.rgb.shape[1]}x{self.rgb.shape[0]}"


def safe_stem(name: str) -> str:
    """A download-safe file stem from an upload's name (never a path)."""
    stem = Path(str(name)).stem
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")
    return stem[:40] or "photo"


def load_photo(source: Source, name: str = "photo", max_pixels: int = APP_MAX_PIXELS) -> Photo:
    """Read an upload (any Pillow image; EXIF rotation, modes and bombs handled by load_rgb),
    refuse tiny ones, downscale huge ones."""
    rgb = load_rgb(source, name=Path(str(name)).name)
    h, w = rgb.shape[:2]
    if min(h, w) < APP_MIN_SIDE:
        raise NppError(f"{Path(str(name)).name}: {w}x{h} is too small; the app needs at least "
                       f"{APP_MIN_SIDE}x{APP_MIN_SIDE} pixels")
    note = ""
    if h * w > max_pixels:
        scale = math.sqrt(max_pixels / (h * w))
        nw, nh = max(APP_MIN_SIDE, int(w * scale)), max(APP_MIN_SIDE, int(h * scale))
        rgb = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.LANCZOS))
        note = (f"Downscaled from {w}x{h} to {nw}x{nh}: the app works on at most {max_pixels:,} pixels "
                f"(the `npp` command line keeps full resolution).")
    digest = hashlib.sha256(f"{rgb.shape}".encode() + rgb.tobytes()).hexdigest()[:20]
    return Photo(np.ascontiguousarray(rgb), digest, safe_stem(name), note)


class StageTimer:
    """Milliseconds per named stage (summed when a stage runs more than once); thread-safe."""

    def __init__(self) -> None:
        self.ms: dict = {}
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.ms[name] = round(self.ms.get(name, 0.0) + (time.perf_counter() - t0) * 1000.0, 1)


def _finite(x: Optional[float], digits: int) -> Optional[float]:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)

@dataclass
class MethodResult:
    """One method's coded image: the real file, what it costs and what the models see in it."""

    method: Method
    coded: Coded
    #: `npp.evaluate`'s row for this point: bpp, psnr, kl, agreement, confidence, detection_f1
    row: dict
    file: Path
    analysis: Analysis
    #: the analysis cache key (heatmaps are cached under it)
    key: tuple = ()

    @property
    def name(self) -> str:
        return self.method.name

    @property
    def error_map(self) -> np.ndarray:
        """|decoded - original| amplified: where the method and the codec together lost signal."""
        return self.row["error_map"]

    def summary(self, uncompressed: Analysis, plain_bytes: Optional[int]) -> dict:
        a = self.analysis
        ref_top1 = uncompressed.top5[0]["index"] if uncompressed.top5 else None
        return {
            "bpp": self.coded.bpp,
            "bytes": self.coded.nbytes,
            "bytes_vs_plain": (None if not plain_bytes else round(100.0 * (self.coded.nbytes / plain_bytes - 1), 2)),
            "psnr": _finite(self.row.get("psnr"), 3),
            "kl": _finite(self.row.get("kl"), 5),
            "confidence": _finite(self.row.get("confidence"), 5),
            "top1_kept": None if ref_top1 is None or not a.top5 else a.top5[0]["index"] == ref_top1,
            "top5": a.top5,
            "detections": a.detections,
            "detections_kept": _finite(self.row.get("detection_f1"), 4),
            "file": self.file.name,
        }


@dataclass
class CompareResult:
    photo: Photo
    codec: str
    qp: int
    uncompressed: Analysis
    methods: Dict[str, MethodResult]
    notes: List[str]
    timings: dict
    #: the vision models that made it and the uncompressed analysis's cache key (for heatmaps)
    vision: Optional[VisionSuite] = None
    uncompressed_key: tuple = ()

    @property
    def jpeg_quality(self) -> Optional[int]:
        return qp_to_quality(self.qp) if self.codec == "jpeg" else None

    @property
    def has_heatmaps(self) -> bool:
        return self.uncompressed.cam_classifier is not None or self.uncompressed.cam_detector is not None

    def summary(self) -> dict:
        """The JSON object of `/compare_json` (field names documented in docs/app.md)."""
        plain = self.methods.get("plain")
        plain_bytes = plain.coded.nbytes if plain else None
        out = {"codec": self.codec, "qp": self.qp}
        if self.codec == "jpeg":
            out["jpeg_quality"] = self.jpeg_quality
        out["uncompressed"] = {"top5": self.uncompressed.top5, "detections": self.uncompressed.detections}
        out["methods"] = {name: r.summary(self.uncompressed, plain_bytes) for name, r in self.methods.items()}
        return out

    def against_baselines(self) -> List[dict]:
        """NPP against every uniform baseline shown, on this photo at this QP (see `versus`)."""
        npp = next((r for r in self.methods.values() if r.method.kind == "npp"), None)
        if npp is None:
            return []
        s = self.summary()["methods"]
        return [versus(npp.name, s[npp.name], r.name, s[r.name]) for r in self.methods.values() if r.method.baseline]


def versus(a_name: str, a: dict, b_name: str, b: dict) -> dict:
    """How method `b` fares against method `a` on one photo (summary dicts with bytes and kl):
    "beats" when b spends fewer bytes at an equal or lower KL, or reaches a lower KL with
    equal or fewer bytes; "beaten" the other way round; "trade-off" when one spends fewer
    bytes and the other keeps a lower KL (only a curve at equal KL can decide: Curves tab);
    "equal" when both are the same. So a page can say honestly where a simple baseline beats
    NPP for the photo shown."""
    ab, bb, ak, bk = a["bytes"], b["bytes"], a["kl"], b["kl"]
    if ak is None or bk is None:
        verdict = "unknown"
    elif (bb < ab and bk <= ak) or (bk < ak and bb <= ab):
        verdict = "beats"
    elif (ab < bb and ak <= bk) or (ak < bk and ab <= bb):
        verdict = "beaten"
    elif ab == bb and ak == bk:
        verdict = "equal"
    else:
        verdict = "trade-off"
    return {"method": b_name, "against": a_name, "verdict": verdict, "bytes": bb, "against_bytes": ab,
            "kl": bk, "against_kl": ak}


class _KeyedLocks:
    """One lock per key while someone holds it: concurrent requests for the same points wait
    for the first one's result (then read it from the cache) instead of computing it again,
    which is what a class following the lecturer's QP does."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: Dict[tuple, list] = {}

    @contextmanager
    def __call__(self, key: tuple) -> Iterator[None]:
        with self._lock:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]


class ComparePipeline:
    """Models loaded once; caches shared by all requests (keyed by content, not by user)."""

    def __init__(self, device: Optional[torch.device] = None, vision: Optional[VisionSuite] = None,
                 cache_size: int = 256, encode_cache: Optional[Path] = None) -> None:
        """`encode_cache`: a private folder where real codec files are kept by content, so the
        Curves tab's sweep and later compares reuse encodes (none: no disk cache)."""
        self.device = device or pick_device()
        self.encode_cache = encode_cache
        self.vision = vision or VisionSuite(self.device)
        self._suites = {self.vision.names: self.vision}
        self._suites_lock = threading.Lock()
        self._points: LRUCache[dict] = LRUCache(cache_size)
        self._analyses: LRUCache[Analysis] = LRUCache(cache_size)
        self._cams: LRUCache[tuple] = LRUCache(cache_size)
        self._busy = _KeyedLocks()
        #: the Curves tab's sweeps by request (`npp.curves.sweep`): a class sweeping the same
        #: example waits for one sweep instead of running thirty
        self.sweeps: LRUCache[dict] = LRUCache(32)

    def suite(self, classifier: Optional[str] = None, detector: Optional[str] = None) -> VisionSuite:
        """The vision models by name (None = the default of the task), each pair loaded once."""
        if classifier is None and detector is None:
            return self.vision
        with self._suites_lock:
            key = (classifier, detector)
            if key not in self._suites:
                self._suites[key] = VisionSuite(self.device, classifier, detector)
            return self._suites[key]

    def methods(self, specs: Union[str, Sequence[Union[str, Method]], None]) -> List[Method]:
        """The methods a request names, by spec or as objects (default: DEFAULT_METHODS),
        within MAX_METHODS."""
        if specs and not isinstance(specs, str) and all(isinstance(m, Method) for m in specs):
            methods = list(specs)
        else:
            methods = create_methods(specs if specs else list(DEFAULT_METHODS))
        if not methods:
            raise NppError("choose at least one method")
        if len(methods) > MAX_METHODS:
            raise NppError(f"at most {MAX_METHODS} methods at a time, got {len(methods)}")
        return methods

    # -- numbers: one evaluation point per method ----------------------------------------------
    def points(self, photo: Photo, codec_name: str, qp: int, methods: Sequence[Method], vision: VisionSuite,
               timer: StageTimer) -> Dict[str, dict]:
        """{REFERENCE or method name: evaluate's row with its `coded` output}, cached per point;
        requests for the same photo, codec and QP wait for each other rather than repeat work."""
        codec = create_codec(codec_name)
        base = (photo.key, codec_name, tuple(sorted(codec.options().items())), qp, vision.names)
        with self._busy(base):
            rows: Dict[str, dict] = {}
            todo = []
            for m in methods:
                hit = self._points.get(base + (m.key,))
                if hit is None:
                    todo.append(m)
                else:
                    rows[m.name] = hit
            ref = self._points.get(base + (REFERENCE,))
            if todo or ref is None:
                spec = SweepSpec(codec_name, [qp], todo, codec_options=codec.options(), cache_dir=self.encode_cache,
                                 msssim=False, keep_outputs=True)
                with timer("evaluate"):
                    new = list(Sweep(spec, vision.models, jobs=len(todo) + 1, threads=True).run(
                        [Item(photo.name, rgb=photo.rgb)]))
                for r in new:
                    if r["method"] == REFERENCE:
                        ref = r
                    else:
                        m = next(x for x in todo if x.name == r["method"])
                        r["error_map"] = error_map(photo.rgb, r["coded"].decoded)
                        self._points.put(base + (m.key,), r)
                        rows[m.name] = r
                self._points.put(base + (REFERENCE,), ref)
            rows[REFERENCE] = ref
            return rows

    def analysis(self, key: tuple, rgb: np.ndarray, detections: Optional[list], vision: VisionSuite,
                 timer: StageTimer) -> Analysis:
        """Top-5 and the detections drawn for one image, cached (heatmaps: `add_heatmaps`)."""
        def compute() -> Analysis:
            return vision.analyse([rgb], [detections], False, timer)[0]

        return self._analyses.get_or_compute(key, compute)[0]

    def compare(self, photo: Photo, codec_name: str, qp: int, workdir: Path,
                methods: Union[str, Sequence[Union[str, Method]], None] = None, heatmaps: bool = True,
                classifier: Optional[str] = None, detector: Optional[str] = None) -> CompareResult:
        """Every method for one photo, codec and QP; real files written into `workdir`.
        `classifier`/`detector` name vision models (None: the offline defaults). Without
        `heatmaps`, Grad-CAM is left for `add_heatmaps` (the slow part: pages show the numbers
        first)."""
        qp = check_qp(qp)
        codec = create_codec(codec_name)
        ok, reason = codec.availability()
        if not ok:
            raise NppError(f"codec {codec_name} is not available here: {reason}")
        chosen = self.methods(methods)
        timer = StageTimer()
        t0 = time.perf_counter()
        vision = self.suite(classifier, detector)
        rows = self.points(photo, codec_name, qp, chosen, vision, timer)
        ref = rows[REFERENCE]
        ref_key = (photo.key, REFERENCE, vision.names)
        uncompressed = self.analysis(ref_key, photo.rgb, ref.get("detections"), vision, timer)
        results: Dict[str, MethodResult] = {}
        stem = f"{photo.name}_{codec_name}_qp{qp}"
        for m in chosen:
            r = rows[m.name]
            coded: Coded = r["coded"]
            suffix = "" if m.name == "plain" else "_" + re.sub(r"[^A-Za-z0-9.-]+", "_", m.name).strip("_")
            path = Path(workdir) / f"{stem}{suffix}{codec.extension}"
            atomic_write_bytes(path, coded.data)
            key = (photo.key, codec_name, tuple(sorted(codec.options().items())), qp, m.key, vision.names)
            a = self.analysis(key, coded.decoded, r.get("detections"), vision, timer)
            results[m.name] = MethodResult(m, coded, r, path, a, key)
        notes = [photo.note] if photo.note else []
        notes += [f"{k} unavailable: {v}" for k, v in vision.reasons.items() if v]
        res = CompareResult(photo, codec_name, qp, uncompressed, results, notes, {}, vision, ref_key)
        if heatmaps:
            res = self.add_heatmaps(res, timer)
        timer.ms["total"] = round((time.perf_counter() - t0) * 1000.0, 1)
        res.timings = dict(timer.ms)
        return res

    def add_heatmaps(self, result: CompareResult, timer: Optional[StageTimer] = None) -> CompareResult:
        """`result` with Grad-CAM of the classifier (its top-1 class) and of the detector for
        the uncompressed photo and every decoded image, cached per image. The classifier's and
        the detector's maps are computed in two threads (each model takes one at a time)."""
        timer = timer or StageTimer()
        vision = result.vision or self.vision
        images = [(result.uncompressed_key, result.photo.rgb, result.uncompressed)]
        images += [(r.key, r.coded.decoded, r.analysis) for r in result.methods.values()]

        def cams(which: str) -> list:
            out = []
            for key, rgb, a in images:
                hit = self._cams.get(key + (which,))
                if hit is None:
                    top1 = a.top5[0]["index"] if (which == "classifier" and a.top5) else None
                    hit = vision.heatmap(which, rgb, top1)  # (overlay or None, why it failed or "")
                    self._cams.put(key + (which,), hit)
                out.append(hit)
            return out

        with timer("gradcam"), cf.ThreadPoolExecutor(2, thread_name_prefix="npp-cam") as pool:
            cls_maps, det_maps = pool.map(cams, ("classifier", "detector"))
        filled = [dataclasses.replace(a, cam_classifier=c, cam_detector=d,
                                      notes=a.notes + [n for n in (why_c, why_d) if n])
                  for (_, _, a), (c, why_c), (d, why_d) in zip(images, cls_maps, det_maps)]
        methods = {name: dataclasses.replace(r, analysis=a) for (name, r), a in zip(result.methods.items(), filled[1:])}
        # a heatmap that failed is said once, on this request's result (never in a shared object)
        failed = dict.fromkeys(n for a in filled for n in a.notes)
        notes = list(result.notes) + [n for n in failed if n not in result.notes]
        return dataclasses.replace(result, uncompressed=filled[0], methods=methods, notes=notes)

    def warm(self, photos: Sequence[Photo], codec_name: str, qp: int, methods: Sequence[str], workdir: Path) -> float:
        """Compute and cache everything shown for `photos` (the app's examples at its default
        codec, QP and methods) so their first visitors wait for nothing; returns seconds."""
        t0 = time.perf_counter()
        for photo in photos:
            self.compare(photo, codec_name, qp, workdir, methods=list(methods), heatmaps=True)
        return time.perf_counter() - t0
