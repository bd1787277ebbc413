"""Speed of the offline vision models on this machine: ms per image (median and min of N runs).

The default classifier (EfficientNet-Lite1) and the faster Lite0 at 224x224, detector at 416x416 (box decoding and NMS included), and one Grad-CAM
of each. Prints a table and writes bench/results/vision.json.

    .venv/bin/python bench/vision.py [--runs 20] [--device cpu] [--threads N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from npp.fsutil import atomic_write_text  # noqa: E402
from npp.image import load_rgb  # noqa: E402
from npp.runtime import tune_allocator  # noqa: E402
from npp.vision import create_model  # noqa: E402
from npp.vision.registry import DEFAULTS  # noqa: E402
from npp.vision.gradcam import gradcam_overlay  # noqa: E402
from npp.torchutil import to_tensor  # noqa: E402
from npp.vision.tensor import resize  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, runs: int, device: torch.device, warmup: int = 2) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t0) * 1000.0)
    return {"median": round(statistics.median(times), 2), "min": round(min(times), 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "vision.json"))
    args = ap.parse_args()
    tune_allocator()  # as the CLI and the app do
    dev = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)

    import skimage

    photo = load_rgb(Path(skimage.__file__).parent / "data" / "astronaut.png")
    cls = create_model(DEFAULTS["cls"], task="cls", device=dev)
    lite0 = create_model("efficientnet_lite0", task="cls", device=dev)
    det = create_model("nanodet", task="det", device=dev)
    x224 = resize(to_tensor(photo, dev), (224, 224))
    x416 = resize(to_tensor(photo, dev), (416, 416))
    small = photo[::2, ::2].copy()  # 256x256: Grad-CAM cost does not depend much on it

    results = {}
    with torch.no_grad():
        results["classifier_224_ms"] = median_ms(lambda: cls(x224), args.runs, dev)
        b8 = median_ms(lambda: cls(x224.expand(8, -1, -1, -1)), max(3, args.runs // 4), dev)
        results["classifier_224_batch8_ms_per_image"] = {k: round(v / 8, 2) for k, v in b8.items()}
        results["lite0_224_ms"] = median_ms(lambda: lite0(x224), args.runs, dev)
        results["detector_416_ms"] = median_ms(lambda: det.detect(x416), args.runs, dev)
        results["detector_416_network_only_ms"] = median_ms(lambda: det(x416), args.runs, dev)
    gc_runs = max(3, args.runs // 4)
    results["gradcam_cls_ms"] = median_ms(lambda: gradcam_overlay(cls, small), gc_runs, dev, warmup=1)
    results["gradcam_det_ms"] = median_ms(lambda: gradcam_overlay(det, small, threshold=0.3), gc_runs, dev, warmup=1)

    report = {
        "benchmark": "vision",
        "command": "python bench/vision.py " + " ".join(sys.argv[1:]),
        "device": str(dev) if dev.type != "cuda" else torch.cuda.get_device_name(dev),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "torch": torch.__version__,
        "runs": args.runs,
        "classifier": cls.name,
        "goals_ms": {"classifier_224_ms": 20, "detector_416_ms": 60},
        "results": results,
    }
    for k, v in results.items():
        print(f"{k:<40} median {v['median']:>9.2f} ms   min {v['min']:>9.2f} ms")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
