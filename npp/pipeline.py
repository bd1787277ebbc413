"""What one Compare in the app does, with no UI in it.

A photo is encoded with a real codec twice: as it is (the plain branch) and after the NPP
pre-filter (the NPP branch). Both real files are written for download, decoded, measured
(bits per pixel from the file's bytes, PSNR against the original) and shown to the vision
models. What does not change when only the QP moves is cached: the original's predictions
and heatmaps per photo, and the NPP output per (photo, weights, QP). Results depend only on
their inputs, never on who asked, so caching by content cannot mix users' results.

Uploads larger than `APP_MAX_PIXELS` are downscaled (with a note); images smaller than
`APP_MIN_SIDE` on a side are refused."""
from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Union

import numpy as np
import torch
from PIL import Image

from npp.analysis import Analysis, VisionSuite
from npp.cache import LRUCache
from npp.codecs import Encoded, check_qp, create_codec
from npp.errors import NppError
from npp.evaluate.metrics import psnr
from npp.fsutil import atomic_write_bytes
from npp.image import Source, load_rgb
from npp.visualize import amplified_difference

#: The app works on at most this many pixels (about 1280x800); larger uploads are downscaled
#: with a visible note. The CLI keeps full resolution (up to npp.image.MAX_PIXELS).
APP_MAX_PIXELS = 1_048_576
#: Smaller images are refused: codecs and detectors need a few blocks to work with.
APP_MIN_SIDE = 32
DEFAULT_QP = 37
SHIPPED = "shipped"


def pick_device() -> torch.device:
    """CUDA when present, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


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


@dataclass
class Branch:
    """One coded image: the real file, its decoded pixels and what the models see in it."""

    encoded: Encoded
    decoded: np.ndarray
    psnr: float
    file: Path
    analysis: Analysis = field(default_factory=Analysis)

    def summary(self) -> dict:
        return {
            "bpp": self.encoded.bpp,
            "bytes": self.encoded.nbytes,
            "psnr": None if math.isinf(self.psnr) else round(self.psnr, 3),
            "top5": self.analysis.top5,
            "detections": self.analysis.detections,
        }


@dataclass
class CompareResult:
    photo: Photo
    codec: str
    qp: int
    original: Analysis
    plain: Branch
    npp: Optional[Branch]
    filtered: Optional[np.ndarray]
    difference: Optional[np.ndarray]
    notes: list
    timings: dict

    def summary(self) -> dict:
        """The JSON summary of the issue: `original` is the plain-codec branch, `npp` the
        NPP+codec branch (null when no NPP weights can be used here)."""
        return {
            "codec": self.codec,
            "qp": self.qp,
            "original": self.plain.summary(),
            "npp": self.npp.summary() if self.npp is not None else None,
        }


class ComparePipeline:
    """Models loaded once; caches shared by all requests (keyed by content, not by user)."""

    def __init__(self, device: Optional[torch.device] = None, vision: Optional[VisionSuite] = None,
                 photo_cache: int = 16, npp_cache: int = 64) -> None:
        self.device = device or pick_device()
        self.vision = vision or VisionSuite(self.device)
        self._suites = {self.vision.names: self.vision}
        self._suites_lock = threading.Lock()
        self._originals: LRUCache[Analysis] = LRUCache(photo_cache)
        self._filtered: LRUCache[np.ndarray] = LRUCache(npp_cache)
        self._coded: LRUCache[Branch] = LRUCache(2 * npp_cache)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="npp-compare")
        self.npp_model(None)  # load the shipped NPP now (if any), not on the first request

    # -- NPP ---------------------------------------------------------------------------
    def npp_model(self, weights: Optional[Union[str, Path]]):
        """(model, "") or (None, reason). `weights` None = the shipped weights."""
        try:
            from npp.nn.zoo import load_npp
        except ImportError as exc:
            return None, f"NPP is not installed ({exc})"
        try:
            return load_npp(weights=weights, device=self.device), ""
        except NppError as exc:
            return None, str(exc)

    def npp_status(self, weights: Optional[Union[str, Path]] = None) -> tuple[bool, str]:
        model, reason = self.npp_model(weights)
        return model is not None, reason

    def filtered(self, photo: Photo, weights: Optional[Union[str, Path]], qp: int, model) -> tuple[np.ndarray, bool]:
        """The NPP output for (photo, weights, QP), cached; (image, was_cached)."""
        from npp.nn.zoo import preprocess_rgb

        key = (photo.key, str(weights), _mtime(weights), int(qp))
        return self._filtered.get_or_compute(key, lambda: preprocess_rgb(model, photo.rgb, int(qp)))

    # -- analysis ----------------------------------------------------------------------
    def suite(self, classifier: Optional[str] = None, detector: Optional[str] = None) -> VisionSuite:
        """The vision models by name (None = the default of the task), each pair loaded once."""
        if classifier is None and detector is None:
            return self.vision
        with self._suites_lock:
            key = (classifier, detector)
            if key not in self._suites:
                self._suites[key] = VisionSuite(self.device, classifier, detector)
            return self._suites[key]

    def original_analysis(self, photo: Photo, vision: VisionSuite, timer: StageTimer) -> Analysis:
        def compute() -> Analysis:
            with timer("original_analysis"):
                return vision.analyse([photo.rgb], heatmaps=True)[0]

        value, _ = self._originals.get_or_compute((photo.key, vision.names), compute)
        return value

    # -- codec -------------------------------------------------------------------------
    @staticmethod
    def code(codec_name: str, rgb: np.ndarray, qp: int, original: np.ndarray, path: Path,
             timer: StageTimer, stage: str) -> Branch:
        """Encode, write the real file, decode it back and measure it against the original."""
        codec = create_codec(codec_name)
        with timer(f"encode_{stage}"):
            enc = codec.encode(rgb, qp)
        atomic_write_bytes(path, enc.data)
        with timer(f"decode_{stage}"):
            decoded = codec.decode(path.read_bytes())
        return Branch(enc, decoded, psnr(original, decoded), path)

    def coded_branch(self, key: tuple, codec_name: str, rgb: np.ndarray, qp: int, original: np.ndarray,
                     path: Path, vision: VisionSuite, heatmaps: bool, timer: StageTimer, stage: str) -> Branch:
        """A coded image and its analysis, cached by everything that determines them (`key`
        names the codec's input image): moving the QP back to a value seen before is instant.
        The real file is written into this request's own `path` either way."""

        def compute() -> Branch:
            b = self.code(codec_name, rgb, qp, original, path, timer, stage)
            b.analysis = vision.analyse([b.decoded], heatmaps, timer)[0]
            return b

        full_key = (key, codec_name, tuple(sorted(create_codec(codec_name).options().items())), qp,
                    vision.names, heatmaps)
        cached, hit = self._coded.get_or_compute(full_key, compute)
        if hit:
            atomic_write_bytes(path, cached.encoded.data)
            return Branch(cached.encoded, cached.decoded, cached.psnr, path, cached.analysis)
        return cached

    def compare(self, photo: Photo, codec_name: str, qp: int, workdir: Path,
                weights: Optional[Union[str, Path]] = None, heatmaps: bool = True,
                classifier: Optional[str] = None, detector: Optional[str] = None) -> CompareResult:
        """Both branches for one photo, codec and QP; real files written into `workdir`.
        `classifier`/`detector` name vision models (None: the offline defaults)."""
        check_qp(qp)
        qp = int(qp)
        codec = create_codec(codec_name)
        ok, reason = codec.availability()
        if not ok:
            raise NppError(f"codec {codec_name} is not available here: {reason}")
        timer = StageTimer()
        t0 = time.perf_counter()
        notes = [photo.note] if photo.note else []
        stem = f"{photo.name}_{codec_name}_qp{qp}"
        model, npp_reason = self.npp_model(weights)
        vision = self.suite(classifier, detector)

        f_original = self._pool.submit(self.original_analysis, photo, vision, timer)

        def plain_branch() -> Branch:
            return self.coded_branch((photo.key,), codec_name, photo.rgb, qp, photo.rgb,
                                     workdir / f"{stem}{codec.extension}", vision, heatmaps, timer, "plain")

        def npp_branch() -> tuple[np.ndarray, Branch]:
            with timer("npp_filter"):
                filt, _ = self.filtered(photo, weights, qp, model)
            key = (photo.key, "npp", str(weights), _mtime(weights), qp)
            return filt, self.coded_branch(key, codec_name, filt, qp, photo.rgb,
                                           workdir / f"{stem}_npp{codec.extension}", vision, heatmaps, timer, "npp")

        # the branches run concurrently: one's codec work overlaps the other's network work
        f_npp = self._pool.submit(npp_branch) if model is not None else None
        plain = plain_branch()
        npp_b, filt, diff = None, None, None
        if f_npp is not None:
            filt, npp_b = f_npp.result()
            diff = amplified_difference(photo.rgb, filt)
        else:
            notes.append(f"NPP branch unavailable: {npp_reason}")
        original = f_original.result()
        notes += [f"{k} unavailable: {v}" for k, v in vision.reasons.items() if v]
        timer.ms["total"] = round((time.perf_counter() - t0) * 1000.0, 1)
        return CompareResult(photo, codec_name, qp, original, plain, npp_b, filt, diff, notes, dict(timer.ms))


def _mtime(weights: Optional[Union[str, Path]]) -> float:
    """Part of the cache key, so a checkpoint overwritten by a resumed job is not stale."""
    if weights is None:
        return 0.0
    try:
        return Path(weights).stat().st_mtime
    except OSError:
        return 0.0
