"""Latency and correctness of `ComparePipeline.compare` with several requests in flight, at
library level (no app, no HTTP): the cost of making the shared vision models thread-safe.

Each round builds fresh pipelines (empty caches, so every compare computes everything) and
compares N different photos (640x480, heatmaps on) twice: one after another in one thread,
then all N at once from N threads, as N app users would. It reports the wall time per compare
in both, the concurrent batch's total wall time, and how many of the concurrent compares'
Grad-CAM heatmaps differ from the same photo's single-threaded ones (they must all be equal).
On a thread-safe checkout it first times single heatmaps with grad-cam's own GradCAM and with
npp's thread-filtered one, alternated (`heatmap_ab`): what the filter costs one heatmap.
The machine's load average is recorded: on a shared CPU the figures scale with it.

Usage: .venv/bin/python bench/compare_concurrency.py [--clients 8] [--rounds 2] [--codec jpeg]
    [--methods plain,npp,resize:256] [--out bench/results/compare_concurrency.json]"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.fsutil import atomic_write_text  # noqa: E402
from npp.runtime import tune_allocator  # noqa: E402

#: (source, file): scikit-image's photos and the darknet test photos (scripts/fetch_photos.sh)
PHOTOS = [("skimage", "coffee.png"), ("darknet", "kite.jpg"), ("skimage", "chelsea.png"),
          ("darknet", "horses.jpg"), ("skimage", "astronaut.png"), ("darknet", "dog.jpg"),
          ("darknet", "giraffe.jpg"), ("darknet", "person.jpg"), ("darknet", "eagle.jpg"),
          ("skimage", "rocket.jpg")]
WARMUP = ("darknet", "scream.jpg")
SIZE = (640, 480)


def photo_path(source: str, file: str) -> Path:
    if source == "skimage":
        import skimage

        return Path(skimage.__file__).parent / "data" / file
    return Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp")) / "photos" / source / file


def load_photos(folder: Path, picks: list) -> list:
    """Each photo resized to SIZE, written as PNG and read back as the app reads an upload."""
    from PIL import Image

    from npp.pipeline import load_photo

    out = []
    for source, file in picks:
        path = folder / f"{Path(file).stem}.png"
        Image.open(photo_path(source, file)).convert("RGB").resize(SIZE, Image.LANCZOS).save(path)
        out.append(load_photo(path, file))
    return out


def heatmaps(result) -> dict:
    u = result.uncompressed
    maps = {"uncompressed/cls": u.cam_classifier, "uncompressed/det": u.cam_detector}
    for name, r in result.methods.items():
        maps[f"{name}/cls"] = r.analysis.cam_classifier
        maps[f"{name}/det"] = r.analysis.cam_detector
    return maps


def one_round(photos: list, codec: str, qp: int, methods: list, work: Path) -> dict:
    from npp.pipeline import ComparePipeline

    def timed(pipe, i: int, tag: str):
        folder = work / f"{tag}{i}"
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        res = pipe.compare(photos[i], codec, qp, folder, methods=methods, heatmaps=True)
        return (time.perf_counter() - t0) * 1000.0, heatmaps(res)

    alone_pipe = ComparePipeline()
    alone = [timed(alone_pipe, i, "alone") for i in range(len(photos))]
    busy_pipe = ComparePipeline(vision=alone_pipe.vision)  # same models, empty caches
    t0 = time.perf_counter()
    with ThreadPoolExecutor(len(photos)) as pool:
        busy = [f.result() for f in [pool.submit(timed, busy_pipe, i, "busy") for i in range(len(photos))]]
    batch_ms = (time.perf_counter() - t0) * 1000.0
    checked = wrong = 0
    for (_, a), (_, b) in zip(alone, busy):
        for key, ref in a.items():
            if ref is None:
                continue
            checked += 1
            wrong += b.get(key) is None or not np.array_equal(ref, b[key])
    return {
        "sequential_ms": [round(ms, 1) for ms, _ in alone],
        "concurrent_ms": [round(ms, 1) for ms, _ in busy],
        "concurrent_batch_ms": round(batch_ms, 1),
        "heatmaps_checked": checked,
        "heatmaps_wrong": wrong,
    }


def heatmap_ab(photo, runs: int) -> dict:
    """ms per Grad-CAM overlay (median of `runs`, one thread) with grad-cam's own GradCAM and with
    the thread-filtered one npp uses, alternated call by call so load changes hit both alike.
    Only where npp.vision.gradcam has the filtered class (the thread-safe checkouts)."""
    from pytorch_grad_cam import GradCAM

    from npp.vision import create_model, gradcam

    if not hasattr(gradcam, "_OwnPassGradCAM"):
        return {}
    filtered = gradcam._OwnPassGradCAM
    plain = lambda model, layers: GradCAM(model=model, target_layers=layers)  # noqa: E731
    out = {}
    for task in ("cls", "det"):
        model = create_model(task=task)
        times = {"gradcam_package": [], "thread_filtered": []}
        for _ in range(runs):
            for name, cls in (("gradcam_package", plain), ("thread_filtered", filtered)):
                gradcam._OwnPassGradCAM = cls
                try:
                    t0 = time.perf_counter()
                    gradcam.gradcam_overlay(model, photo.rgb)
                    times[name].append((time.perf_counter() - t0) * 1000.0)
                finally:
                    gradcam._OwnPassGradCAM = filtered
        out[task] = {k: round(statistics.median(v), 2) for k, v in times.items()}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8, help=f"photos, and requests in flight (at most {len(PHOTOS)})")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--codec", default="jpeg")
    ap.add_argument("--qp", type=int, default=37)
    ap.add_argument("--methods", default="plain,npp,resize:256")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "compare_concurrency.json"))
    ap.add_argument("--heatmap-runs", type=int, default=20, help="runs of the single-heatmap A/B (0: skip it)")
    ap.add_argument("--note", default="", help="conditions worth recording with the figures")
    args = ap.parse_args()
    if not 1 <= args.clients <= len(PHOTOS):
        ap.error(f"--clients must be 1..{len(PHOTOS)}")
    tune_allocator()  # as the CLI and the app do
    import torch

    from npp.pipeline import ComparePipeline

    methods = [m for m in args.methods.split(",") if m]
    load_before = [round(v, 2) for v in os.getloadavg()]
    rounds = []
    with tempfile.TemporaryDirectory(prefix="npp-bench-") as tmp:
        work = Path(tmp)
        photos = load_photos(work, PHOTOS[: args.clients])
        warm = load_photos(work, [WARMUP])[0]
        ComparePipeline().compare(warm, args.codec, args.qp, work, methods=methods, heatmaps=True)  # builds models
        single = heatmap_ab(warm, args.heatmap_runs) if args.heatmap_runs > 0 else {}
        for r in range(args.rounds):
            rounds.append(one_round(photos, args.codec, args.qp, methods, work / f"round{r}"))
            print(f"round {r + 1}: {json.dumps(rounds[-1])}", file=sys.stderr)
    seq = [ms for r in rounds for ms in r["sequential_ms"]]
    conc = [ms for r in rounds for ms in r["concurrent_ms"]]
    result = {
        "bench": "compare_concurrency",
        "command": shlex.join(["python", "bench/compare_concurrency.py", *sys.argv[1:]]),
        "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY") if k in os.environ},
        "photos": f"{args.clients} photos resized to {SIZE[0]}x{SIZE[1]}: "
                  + ", ".join(f for _, f in PHOTOS[: args.clients]),
        "codec": args.codec, "qp": args.qp, "methods": methods, "clients": args.clients, "rounds": args.rounds,
        "sequential_median_ms": round(statistics.median(seq), 1),
        "sequential_total_ms_per_round": round(statistics.median(sum(r["sequential_ms"]) for r in rounds), 1),
        "concurrent_median_ms": round(statistics.median(conc), 1),
        "concurrent_max_ms": round(max(conc), 1),
        "concurrent_batch_ms_per_round": round(statistics.median(r["concurrent_batch_ms"] for r in rounds), 1),
        "heatmaps_checked": sum(r["heatmaps_checked"] for r in rounds),
        "heatmaps_wrong": sum(r["heatmaps_wrong"] for r in rounds),
        "single_heatmap_ms": single,
        "rounds_detail": rounds,
        "torch_threads": torch.get_num_threads(),
        "loadavg_before": load_before,
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "checkout": _git_head(),
        "note": args.note,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__},
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rounds_detail"}, indent=1))
    return 0


def _git_head() -> str:
    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    return r.stdout.strip() or "not a git checkout"


if __name__ == "__main__":
    raise SystemExit(main())
