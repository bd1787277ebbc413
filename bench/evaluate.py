"""Throughput of `npp evaluate` on this machine: images per second for each available
codec, with 1 and 2 codec worker processes (`--jobs`).

Runs the real sweep (plain codec at three QPs plus the uncompressed reference, PSNR,
MS-SSIM, the default offline classifier on five crops per point) on scikit-image photos
with an empty encode cache, so every point is encoded. The model is loaded before timing;
starting the worker processes is included (and also timed on its own). The machine's load
average is recorded with each run: on a shared machine it decides what --jobs 2 can gain.

    .venv/bin/python bench/evaluate.py [--images 4] [--qps 28,34,41] [--codecs jpeg,bpg,vvc]

Prints a table and writes bench/results/evaluate.json."""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from npp.codecs import create_codec, list_codecs  # noqa: E402
from npp.evaluate.sweep import Item, Sweep, SweepSpec, make_executor  # noqa: E402
from npp.fsutil import atomic_write_text  # noqa: E402
from npp.methods import create_method  # noqa: E402

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "motorcycle_right")


def photos(n: int) -> list:
    import skimage

    data = Path(skimage.__file__).parent / "data"
    paths = [next(data.glob(f"{name}.*")) for name in PHOTOS[:n]]
    return [Item(p.name, path=p) for p in paths]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--qps", default="28,34,41")
    ap.add_argument("--codecs", default=",".join(list_codecs()))
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "evaluate.json"))
    args = ap.parse_args()

    from npp.vision import create_model

    model = create_model(task="cls", device="cpu")
    items = photos(args.images)
    qps = [int(q) for q in args.qps.split(",")]
    runs = []
    t0 = time.perf_counter()
    with make_executor(2) as pool:
        pool.submit(os.getpid).result()
    pool_start = time.perf_counter() - t0
    print(f"starting 2 worker processes: {pool_start:.1f} s")
    for codec in args.codecs.split(","):
        ok, reason = create_codec(codec).availability()
        if not ok:
            print(f"{codec}: skipped ({reason})")
            continue
        for jobs in (int(j) for j in args.jobs.split(",")):
            with tempfile.TemporaryDirectory() as cache:
                spec = SweepSpec(codec, qps, [create_method("plain")], cache_dir=Path(cache))
                t0 = time.perf_counter()
                rows = list(Sweep(spec, {"cls": model}, jobs=jobs).run(items))
                seconds = time.perf_counter() - t0
            encode_s = sum(r.get("encode_ms", 0.0) for r in rows) / 1000.0
            run = {"codec": codec, "jobs": jobs, "images": len(items), "points": len(rows), "seconds": round(seconds, 2),
                   "images_per_s": round(len(items) / seconds, 3), "encode_seconds": round(encode_s, 2),
                   "load_average_1min": round(os.getloadavg()[0], 2)}
            runs.append(run)
            print(f"{codec:5s} jobs {jobs}: {run['images_per_s']:.3f} images/s "
                  f"({len(items)} images x {len(qps)} QPs in {seconds:.1f} s, encoding {encode_s:.2f} s, "
                  f"load average {run['load_average_1min']})")
    result = {"bench": "evaluate", "qps": qps, "photos": [i.name for i in items], "runs": runs,
              "pool_start_seconds": round(pool_start, 2),
              "cpu_count": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%S")}
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
