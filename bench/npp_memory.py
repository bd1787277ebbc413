"""Peak memory of `npp preprocess` on large photos: the peak resident set size of a child
process running the real CLI (shipped weights, CPU) on a real photo resized up to 4, 12 and
40 megapixels (40 MP is the documented limit), with its wall time. NPP runs in overlapping
tiles (`npp.nn.tiling`), so the peak should stay flat as the image grows.

    .venv/bin/python bench/npp_memory.py [--mp 4 12 40] [--photo PATH] [--out bench/results/npp_memory.json]

The photo defaults to Debian mate-backgrounds' Elephants_5640x3172.jpg (`bash scripts/setup.sh
--test` fetches it), resized (Lanczos) to each size and saved as a quality-95 JPEG, as a camera
would write it. Times are wall-clock on whatever machine runs it (note its load)."""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from npp.fsutil import atomic_write_text  # noqa: E402
from npp.image import MAX_PIXELS  # noqa: E402

DEFAULT_PHOTO = Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp")) / "photos" / "mate-backgrounds" / "Elephants_5640x3172.jpg"


def make_photo(photo: Path, megapixels: float, dest: Path) -> tuple[int, int]:
    """`photo` resized to about `megapixels` (its aspect kept, within MAX_PIXELS), saved as JPEG."""
    with Image.open(photo) as img:
        img = img.convert("RGB")
        scale = math.sqrt(min(megapixels * 1e6, MAX_PIXELS) / (img.width * img.height))
        size = (int(img.width * scale), int(img.height * scale))
        img.resize(size, Image.LANCZOS).save(dest, format="JPEG", quality=95)
    return size


def peak_rss(cmd: list[str]) -> tuple[int, float, int, str]:
    """(exit status, seconds, peak RSS in bytes, last stderr line) of one child process."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    return proc.returncode, time.perf_counter() - t0, usage.ru_maxrss * 1024, (lines[-1] if lines else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mp", type=float, nargs="+", default=[4, 12, 40], help="image sizes in megapixels")
    ap.add_argument("--photo", type=Path, default=DEFAULT_PHOTO, help="real photo to resize up")
    ap.add_argument("--qp", type=int, default=37)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "npp_memory.json")
    args = ap.parse_args()
    if not args.photo.is_file():
        ap.error(f"{args.photo} is missing: run `bash scripts/setup.sh --test` or pass --photo")
    rows = []
    with tempfile.TemporaryDirectory(prefix="npp-memory-") as tmp:
        for mp in args.mp:
            src, dst = Path(tmp) / f"photo_{mp:g}mp.jpg", Path(tmp) / f"npp_{mp:g}mp.png"
            w, h = make_photo(args.photo, mp, src)
            cmd = [sys.executable, "-m", "npp", "preprocess", str(src), "-o", str(dst), "--qp", str(args.qp),
                   "--device", "cpu"]
            status, seconds, peak, last = peak_rss(cmd)
            row = {"megapixels": round(w * h / 1e6, 2), "width": w, "height": h, "exit_status": status,
                   "peak_rss_gb": round(peak / 1e9, 3), "seconds": round(seconds, 1)}
            if status != 0:
                row["error"] = last
            rows.append(row)
            print(json.dumps(row), flush=True)
            dst.unlink(missing_ok=True)
            src.unlink()
    import torch

    result = {"command": "npp preprocess IMAGE -o OUT.png --qp %d --device cpu" % args.qp,
              "photo": args.photo.name, "rows": rows,
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "load_average": os.getloadavg()}}
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(r["exit_status"] == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
