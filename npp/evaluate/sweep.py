"""The rate-accuracy sweep: every image through every method at every QP.

Codec work (the method's pre-step, encode or cache hit, decode, the receiver's step, PSNR and
MS-SSIM, the vision model's view) runs in workers (processes for `npp evaluate`, threads in the
app); methods that run a neural network, and the vision models, run in this process, in
batches. Images stream through in small chunks, and the next chunk's codec work is queued
before this chunk's vision work starts, so memory stays bounded and the workers stay busy.

Rows carry the metrics of every vision model given: the classifier's `kl`, `agreement` and
`confidence` against the uncompressed image (and `top1`/`top5` with labels), the detector's
`detections` and `detection_f1` against its own detections on the uncompressed image."""
from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence

import numpy as np
import torch

from npp.evaluate.protocol import PROTOCOLS, REFERENCE, classifier_view, detector_view, source
from npp.methods import Method, Prepared
from npp.processes import worker_pool
from npp.torchutil import model_device, to_tensor

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
    """What to run: codec (with options), QPs, methods, protocol, the headline task, which
    vision models' metrics to compute, where to cache encodes."""

    codec: str
    qps: Sequence[int]
    methods: Sequence[Method]
    task: str = "cls"
    protocol: str = "full"
    codec_options: Dict[str, object] = field(default_factory=dict)
    cache_dir: Optional[Path] = None
    #: MS-SSIM at full resolution costs more than a JPEG encode; the app leaves it out
    msssim: bool = True
    #: keep each point's `Coded` (file bytes, decoded pixels) in its row under "coded"
    keep_outputs: bool = False
    #: the detector's square input size, for `model-input` detection
    det_input_size: Optional[int] = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")


@dataclass
class Job:
    """One codec point for a worker: an image through one method at one QP (method None: the
    uncompressed reference)."""

    item: Item
    method: Optional[Method]
    qp: Optional[int]
    spec: SweepSpec
    tasks: tuple
    prepared: Optional[Prepared] = None  # a model-running method's output, made in this process


def load_source(item: Item, spec: SweepSpec) -> np.ndarray:
    """The image that enters the methods under the spec's protocol."""
    from npp.image import load_rgb

    rgb = item.rgb if item.rgb is not None else load_rgb(item.path)
    return source(rgb, spec.protocol, spec.task, spec.det_input_size)


def run_job(job: Job) -> dict:
    """Worker side of one codec point: the row's codec fields and what the models will see."""
    from npp.codecs import create_codec
    from npp.evaluate.metrics import ms_ssim, psnr
    from npp.methods import code
    from npp.methods.cache import EncodeCache

    spec = job.spec
    rgb = load_source(job.item, spec)
    h, w = rgb.shape[:2]
    out: dict = {"image": job.item.name, "width": w, "height": h, "pixels": w * h}
    decoded = rgb
    if job.method is not None:
        codec = create_codec(spec.codec, **spec.codec_options)
        cache = EncodeCache(spec.cache_dir) if spec.cache_dir else None
        coded = code(job.method, codec, rgb, job.qp, job.prepared, cache)
        decoded = coded.decoded
        out.update(cached=coded.cached, encode_ms=coded.encode_ms, bits=coded.bits, bpp=coded.bpp,
                   psnr=psnr(rgb, decoded))
        if spec.msssim:
            out["msssim"] = ms_ssim(rgb, decoded)
        if spec.keep_outputs:
            out["coded"] = coded
    if "cls" in job.tasks:
        out["cls_view"] = classifier_view(decoded, spec.protocol)
    if "det" in job.tasks:
        out["det_view"], out["det_scale"] = detector_view(decoded, spec.protocol)
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


def make_executor(jobs: int, threads: bool = False) -> cf.Executor:
    """`jobs` workers: processes (CLI), threads (the app: codecs release the GIL), or none."""
    if jobs <= 1:
        return _Inline()
    if threads:
        return cf.ThreadPoolExecutor(jobs, thread_name_prefix="npp-sweep")
    return worker_pool(jobs, initializer=_worker_init)  # workers end with this process


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Sweep:
    """Streams `Item`s through the methods and the vision models, yielding one row per (image,
    method, QP) plus one reference row per image (method "uncompressed"). `models` maps a task
    ("cls", "det") to its model; rows get the metrics of each model given."""

    def __init__(self, spec: SweepSpec, models: Mapping[str, torch.nn.Module], jobs: int = 1,
                 chunk: Optional[int] = None, progress: Optional[Callable[[int], None]] = None,
                 threads: bool = False) -> None:
        self.spec = spec
        self.models = {t: m for t, m in models.items() if m is not None}
        if spec.protocol == "model-input" and set(self.models) - {spec.task}:
            raise ValueError("the model-input protocol evaluates one task at a time")
        self.jobs = max(1, int(jobs))
        self.threads = threads
        self.chunk = chunk or max(2, self.jobs)
        self.progress = progress or (lambda n: None)

    @property
    def points_per_image(self) -> int:
        return 1 + len(self.spec.methods) * len(self.spec.qps)

    def run(self, items: Iterable[Item]) -> Iterator[dict]:
        with make_executor(self.jobs, self.threads) as pool:
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
        for _, rows in itertools.groupby(self.run(items), key=lambda r: r["image"]):
            yield list(rows)

    def _submit(self, pool: cf.Executor, items: List[Item]) -> list:
        futures = []
        tasks = tuple(sorted(self.models))

        def submit(item: Item, method: Optional[Method], qp: Optional[int], prepared=None) -> None:
            fut = pool.submit(run_job, Job(item, method, qp, self.spec, tasks, prepared))
            fut.add_done_callback(lambda _: self.progress(1))  # progress as workers finish
            futures.append((item, method, qp, fut))

        for item in items:
            submit(item, None, None)
            rgb = load_source(item, self.spec) if any(m.uses_models for m in self.spec.methods) else None
            for method in self.spec.methods:
                for qp in self.spec.qps:
                    submit(item, method, qp, method.prepare(rgb, qp) if method.uses_models else None)
        return futures

    def _finish(self, futures: list) -> Iterator[dict]:
        results = []
        for item, method, qp, fut in futures:
            res = fut.result()
            res["method"] = REFERENCE if method is None else method.name
            res["qp"] = qp
            res["label"] = item.label
            results.append(res)
        if "cls" in self.models:
            self._classify(results)
        if "det" in self.models:
            self._detect(results)
        for res in results:
            for k in ("cls_view", "det_view", "det_scale"):
                res.pop(k, None)
        return iter(results)

    def _classify(self, results: List[dict]) -> None:
        from npp.evaluate.metrics import class_confidence, kl_divergence, top1_agreement, topk_hits

        model = self.models["cls"]
        device = model_device(model)
        # batches never span two images, so a row's logits do not depend on how the
        # images were chunked or sharded (batched CPU convolutions differ in the last bits)
        parts = []
        for image in dict.fromkeys(r["image"] for r in results):
            stack = np.concatenate([r["cls_view"] for r in results if r["image"] == image])
            with torch.inference_mode():
                parts += [model(to_tensor(stack[i:i + BATCH], device)).float().cpu()
                          for i in range(0, len(stack), BATCH)]
        logits = torch.cat(parts)
        start = 0
        ref = None
        for r in results:
            n = len(r["cls_view"])
            lg = logits[start:start + n]
            start += n
            if r["method"] == REFERENCE:
                ref = lg
            r["kl"] = float(kl_divergence(ref, lg).mean())
            r["agreement"] = float(top1_agreement(ref, lg).mean())
            r["confidence"] = float(class_confidence(ref, lg).mean())
            r["pred"] = int(lg[0].argmax())
            if r["label"] is not None:
                r["top1"] = float(topk_hits(lg[:1], r["label"], 1)[0])
                r["top5"] = float(topk_hits(lg[:1], r["label"], 5)[0])

    def _detect(self, results: List[dict]) -> None:
        from npp.evaluate.detection import DETECTED_SCORE
        from npp.evaluate.metrics import detection_f1

        model = self.models["det"]
        device = model_device(model)
        ref: list = []
        for r in results:
            with torch.inference_mode():
                dets = model.detect(to_tensor(r["det_view"], device), threshold=0.05)[0]
            s = 1.0 / r["det_scale"]
            r["detections"] = [{"label": d["label"], "score": round(float(d["score"]), 5),
                                "box": [round(float(v) * s, 2) for v in d["box"]]} for d in dets]
            found = [d for d in r["detections"] if d["score"] >= DETECTED_SCORE]
            if r["method"] == REFERENCE:
                ref = found
            r["detection_f1"] = detection_f1(ref, found)


def spec_config(spec: SweepSpec, tasks: Sequence[str], **extra: object) -> dict:
    """The JSON-able description of a sweep stored in results.json (and checked by merge and
    resume): method names, and the keys of methods whose output depends on more than their
    name (weights), so results made with other weights never mix."""
    return {"codec": spec.codec, "codec_options": dict(spec.codec_options), "qps": list(spec.qps),
            "task": spec.task, "tasks": sorted(tasks), "protocol": spec.protocol,
            "methods": [m.name for m in spec.methods], "baselines": [m.name for m in spec.methods if m.baseline],
            "method_keys": {m.name: m.key for m in spec.methods if m.key != m.name},
            "msssim": spec.msssim, **extra}


def evaluate_photo(rgb: np.ndarray, codec: str, qps: Sequence[int], methods: Sequence[Method],
                   models: Mapping[str, torch.nn.Module], codec_options: Optional[Dict[str, object]] = None,
                   label: Optional[int] = None, cache_dir: Optional[Path] = None, jobs: int = 1,
                   msssim: bool = True, progress: Optional[Callable[[int], None]] = None) -> dict:
    """Curves and BD-rates for one in-memory photo (the app's Curves tab): `methods` (the
    first is the anchor, normally `plain`) at every QP, measured by `models` ({"cls": ...,
    "det": ...}). Returns the same results object as `npp evaluate`
    (`npp.evaluate.report.build_results`)."""
    import time

    from npp.evaluate.report import build_results

    spec = SweepSpec(codec, list(qps), list(methods), "cls" if models.get("cls") is not None else "det",
                     codec_options=dict(codec_options or {}), cache_dir=cache_dir, msssim=msssim)
    sweep = Sweep(spec, models, jobs=jobs, threads=True, progress=progress)
    t0 = time.perf_counter()
    rows = list(sweep.run([Item("photo", rgb=rgb, label=label)]))
    config = spec_config(spec, list(sweep.models), labels=label is not None)
    return build_results(config, rows, seconds=time.perf_counter() - t0)
