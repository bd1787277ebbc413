"""The rate-accuracy sweep: every image through every branch at every QP.

Codec work (pre-filter, encode or cache hit, decode, PSNR/MS-SSIM, classifier crops)
runs in worker processes; the vision model and NPP run in this process, in batches.
Images stream through in small chunks, and the next chunk's codec work is queued before
this chunk's vision work starts, so memory stays bounded and the workers stay busy.
`evaluate_photo` runs the same sweep on one in-memory photo (the app's Curves tab)."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence

import numpy as np
import torch

from npp.evaluate.branches import NPP, PLAIN, Branch
from npp.evaluate.crops import crops, to_tensor

#: detection inputs larger than this (longer side, px) are shrunk before the detector,
#: which works at 416 px anyway; boxes are scaled back to the original pixels
DET_MAX_SIDE = 1024
#: classifier batch size, in crops
BATCH = 64


@dataclass
class Item:
    """One image to evaluate: from a file (`path`) or in memory (`rgb`)."""

    name: str
    path: Optional[Path] = None
    rgb: Optional[np.ndarray] = None
    label: Optional[int] = None


@dataclass
class SweepSpec:
    """What to run: codec (with options), QPs, task, branches, where to cache encodes."""

    codec: str
    qps: Sequence[int]
    task: str = "cls"
    branches: Sequence[Branch] = (PLAIN,)
    codec_options: Dict[str, object] = field(default_factory=dict)
    cache_dir: Optional[Path] = None
    weights_hash: str = ""


@dataclass
class Job:
    """One codec point for a worker: an image through one branch at one QP (qp None: the
    uncompressed reference)."""

    item: Item
    branch: Optional[Branch]
    qp: Optional[int]
    spec: SweepSpec
    filtered: Optional[np.ndarray] = None  # NPP output, computed in the parent process


def _load(item: Item) -> np.ndarray:
    from npp.image import load_rgb

    return item.rgb if item.rgb is not None else load_rgb(item.path)


def vision_input(rgb: np.ndarray, task: str) -> tuple:
    """What the vision model needs from a decoded image: classifier crops, or the image
    (shrunk to DET_MAX_SIDE) with the factor that maps boxes back."""
    if task == "cls":
        return crops(rgb), 1.0
    scale = min(1.0, DET_MAX_SIDE / max(rgb.shape[:2]))
    if scale < 1.0:
        from PIL import Image

        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))
    return rgb, scale


def run_job(job: Job) -> dict:
    """Worker side of one codec point. Returns the row's codec fields and the vision input."""
    from npp.codecs import create_codec
    from npp.evaluate.cache import EncodeCache, encode_key, pixels_hash
    from npp.evaluate.metrics import ms_ssim, psnr

    rgb = _load(job.item)
    h, w = rgb.shape[:2]
    out = {"image": job.item.name, "width": w, "height": h, "pixels": w * h}
    if job.branch is None:
        out["vision"], out["scale"] = vision_input(rgb, job.spec.task)
        return out
    spec, branch = job.spec, job.branch
    codec = create_codec(spec.codec, **spec.codec_options)
    cache = EncodeCache(spec.cache_dir) if spec.cache_dir else None
    key = encode_key(pixels_hash(rgb), spec.codec, job.qp, codec.options(), branch.key,
                     spec.weights_hash if branch.kind == "npp" else "")
    data = cache.get(key, codec.extension) if cache else None
    out["cached"] = data is not None
    out["encode_ms"] = 0.0
    if data is None:
        source = job.filtered if job.filtered is not None else branch.prefilter(rgb)
        enc = codec.encode(source, job.qp)
        data, out["encode_ms"] = enc.data, enc.encode_ms
        if cache:
            cache.put(key, codec.extension, data)
    decoded = branch.postfilter(codec.decode(data), rgb.shape)
    out.update(bits=8 * len(data), psnr=psnr(rgb, decoded), msssim=ms_ssim(rgb, decoded))
    out["bpp"] = out["bits"] / out["pixels"]
    out["vision"], out["scale"] = vision_input(decoded, spec.task)
    return out


class _Inline(cf.Executor):
    """Runs each job at submission (`--jobs 1`): no processes, same code path."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            fut.set_exception(exc)
        return fut


def _worker_init() -> None:
    torch.set_num_threads(1)


def make_executor(jobs: int) -> cf.Executor:
    if jobs <= 1:
        return _Inline()
    return cf.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_worker_init)


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Sweep:
    """Streams `Item`s through the codec branches and the vision model, yielding one row
    per (image, branch, QP) plus one reference row per image (branch "reference")."""

    def __init__(self, spec: SweepSpec, model: torch.nn.Module, npp_model: Optional[torch.nn.Module] = None,
                 jobs: int = 1, chunk: Optional[int] = None,
                 progress: Optional[Callable[[int], None]] = None) -> None:
        if any(b.kind == "npp" for b in spec.branches) and npp_model is None:
            raise ValueError("an npp branch needs npp_model")
        self.spec, self.model, self.npp_model = spec, model, npp_model
        self.jobs = max(1, int(jobs))
        self.chunk = chunk or max(2, self.jobs)
        self.progress = progress or (lambda n: None)

    @property
    def points_per_image(self) -> int:
        return 1 + len(self.spec.branches) * len(self.spec.qps)

    def run(self, items: Iterable[Item]) -> Iterator[dict]:
        with make_executor(self.jobs) as pool:
            pending: deque = deque()
            batch: List[Item] = []
            for item in items:
                batch.append(item)
                if len(batch) == self.chunk:
                    pending.append(self._submit(pool, batch))
                    batch = []
                    if len(pending) > 1:
                        yield from self._finish(pending.popleft())
            if batch:
                pending.append(self._submit(pool, batch))
            while pending:
                yield from self._finish(pending.popleft())

    def run_images(self, items: Iterable[Item]) -> Iterator[List[dict]]:
        """Like `run`, one list of rows per image (reference row first)."""
        import itertools

        for _, rows in itertools.groupby(self.run(items), key=lambda r: r["image"]):
            yield list(rows)

    def _submit(self, pool: cf.Executor, items: List[Item]) -> list:
        futures = []

        def submit(item: Item, branch: Optional[Branch], qp: Optional[int], filtered=None) -> None:
            fut = pool.submit(run_job, Job(item, branch, qp, self.spec, filtered))
            fut.add_done_callback(lambda _: self.progress(1))  # progress as workers finish
            futures.append((item, branch, qp, fut))

        for item in items:
            submit(item, None, None)
            rgb = _load(item) if self.npp_model is not None else None
            for branch in self.spec.branches:
                for qp in self.spec.qps:
                    submit(item, branch, qp, self._npp(rgb, qp) if branch.kind == "npp" else None)
        return futures

    def _npp(self, rgb: np.ndarray, qp: int) -> np.ndarray:
        from npp.nn.zoo import preprocess_rgb

        return preprocess_rgb(self.npp_model, rgb, qp)

    def _finish(self, futures: list) -> Iterator[dict]:
        results = []
        for item, branch, qp, fut in futures:
            res = fut.result()
            res["branch"] = "reference" if branch is None else branch.name(self.spec.codec)
            res["qp"] = qp
            res["label"] = item.label
            results.append(res)
        if self.spec.task == "cls":
            self._classify(results)
        else:
            self._detect(results)
        for res in results:
            res.pop("vision", None)
            res.pop("scale", None)
            res.pop("logits", None)
        return iter(results)

    def _classify(self, results: List[dict]) -> None:
        from npp.evaluate.metrics import kl_divergence, top1_agreement, topk_hits

        # batches never span two images, so a row's logits do not depend on how the
        # images were chunked or sharded (batched CPU convolutions differ in the last bits)
        device = next(self.model.parameters()).device
        parts = []
        for image in dict.fromkeys(r["image"] for r in results):
            stack = np.concatenate([r["vision"] for r in results if r["image"] == image])
            with torch.inference_mode():
                parts += [self.model(to_tensor(stack[i:i + BATCH]).to(device)).float().cpu()
                          for i in range(0, len(stack), BATCH)]
        logits = torch.cat(parts)
        start = 0
        ref = None
        for r in results:
            n = len(r["vision"])
            r["logits"] = logits[start:start + n]
            start += n
            if r["branch"] == "reference":
                ref = r["logits"]
            r["kl"] = float(kl_divergence(ref, r["logits"]).mean())
            r["agreement"] = float(top1_agreement(ref, r["logits"]).mean())
            r["pred"] = int(r["logits"][0].argmax())
            if r["label"] is not None:
                r["top1"] = float(topk_hits(r["logits"][:1], r["label"], 1)[0])
                r["top5"] = float(topk_hits(r["logits"][:1], r["label"], 5)[0])

    def _detect(self, results: List[dict]) -> None:
        from npp.evaluate.crops import to_tensor as as_batch

        for r in results:
            x = as_batch(r["vision"][None]).to(next(self.model.parameters()).device)
            with torch.inference_mode():
                dets = self.model.detect(x, threshold=0.05)[0]
            s = 1.0 / r["scale"]
            r["detections"] = [{"label": d["label"], "score": round(float(d["score"]), 5),
                                "box": [round(float(v) * s, 2) for v in d["box"]]} for d in dets]


def weights_hash(model: torch.nn.Module) -> str:
    """SHA-256 of a model's parameters and buffers (names, shapes, values): cache key part."""
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(repr(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def evaluate_photo(rgb: np.ndarray, codec: str, qps: Sequence[int], classifier: torch.nn.Module,
                   npp_model: Optional[torch.nn.Module] = None, baselines: Sequence[Branch] = (),
                   codec_options: Optional[Dict[str, object]] = None, label: Optional[int] = None,
                   cache_dir: Optional[Path] = None, jobs: int = 1) -> dict:
    """Curves and BD-rates for one in-memory photo (the app's Curves tab): the plain
    codec, `npp+<codec>` when `npp_model` is given, and `baselines`. Returns the same
    results object as `npp evaluate` (see `npp.evaluate.report.build_results`)."""
    from npp.evaluate.report import build_results

    branches = [PLAIN] + ([NPP] if npp_model is not None else []) + list(baselines)
    spec = SweepSpec(codec, list(qps), "cls", branches, dict(codec_options or {}), cache_dir,
                     weights_hash(npp_model) if npp_model is not None else "")
    t0 = time.perf_counter()
    rows = list(Sweep(spec, classifier, npp_model, jobs=jobs).run([Item("photo", rgb=rgb, label=label)]))
    return build_results(spec_config(spec, labels=label is not None), rows, seconds=time.perf_counter() - t0)


def spec_config(spec: SweepSpec, **extra: object) -> dict:
    """The JSON-able description of a sweep stored in results.json (and checked by merge)."""
    return {"codec": spec.codec, "codec_options": dict(spec.codec_options), "qps": list(spec.qps),
            "task": spec.task, "branches": [b.name(spec.codec) for b in spec.branches],
            "weights_hash": spec.weights_hash, **extra}
