"""Latency of the app's /compare through its API, as a user meets it: starts `python app.py`,
calls /compare with gradio_client on a 640x480 photo (scikit-image's coffee resized), and
reports the median wall time of warm calls with the per-stage breakdown the app measures.

Two series: the QP moving to a new value each call (the headline: both encodes, the NPP
output and the coded images' analysis are recomputed; only the original's analysis is
cached), and the same QP again (served from the app's caches; shows the fixed overhead of
upload, Gradio and downloads); each also without the client downloading the result files.
The machine's load average is recorded: on a shared CPU the
figures scale with it.

Usage: .venv/bin/python bench/app_latency.py [--codec bpg] [--calls 7] [--url URL]
Writes bench/results/app_latency.json."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.codecs import create_codec  # noqa: E402
from npp.fsutil import atomic_write_text  # noqa: E402


#: the first call's QP (and the repeated one); the moving series use 30, 31, ... (never it)
WARM_QP = 29


def make_photo(folder: Path) -> Path:
    import skimage
    from PIL import Image

    src = Path(skimage.__file__).parent / "data" / "coffee.png"
    out = folder / "coffee_640x480.png"
    Image.open(src).convert("RGB").resize((640, 480), Image.LANCZOS).save(out)
    return out


def series(client, photo: Path, codec: str, qps: list) -> dict:
    from gradio_client import handle_file

    walls, stages = [], []
    summary = None
    for qp in qps:
        t0 = time.perf_counter()
        out = client.predict(handle_file(str(photo)), codec, qp, api_name="/compare")
        walls.append((time.perf_counter() - t0) * 1000.0)
        stages.append(out[21])
        summary = out[20]
    keys = sorted({k for s in stages for k in s})
    return {
        "qps": qps,
        "wall_ms": [round(w, 1) for w in walls],
        "median_wall_ms": round(statistics.median(walls), 1),
        "median_stage_ms": {k: round(statistics.median(s.get(k, 0.0) for s in stages), 1) for k in keys},
        "last_summary": {k: summary[k] for k in ("codec", "qp")} | {
            b: (None if summary[b] is None else {"bpp": summary[b]["bpp"], "bytes": summary[b]["bytes"]})
            for b in ("original", "npp")},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codec", default="bpg")
    ap.add_argument("--calls", type=int, default=7)
    ap.add_argument("--url", help="an app already running (default: start one)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "app_latency.json"))
    ap.add_argument("--note", default="", help="conditions worth recording with the figures")
    args = ap.parse_args()
    from gradio_client import Client

    codec = args.codec
    ok, reason = create_codec(codec).availability() if codec in _codecs() else (False, "not registered")
    if not ok:
        print(f"codec {codec} unavailable here ({reason}); using jpeg", file=sys.stderr)
        codec = "jpeg"
    from tests.appserver import running_app

    load_before = [round(v, 2) for v in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp, (nullcontext(args.url) if args.url else running_app()) as url:
        photo = make_photo(Path(tmp))
        client = Client(url, verbose=False)
        t0 = time.perf_counter()
        client.predict(__import__("gradio_client").handle_file(str(photo)), codec, WARM_QP, api_name="/compare")
        cold_ms = (time.perf_counter() - t0) * 1000.0
        # without downloads: the client gets the JSON summary and the files' URLs, not the ~15 files
        # themselves (a browser fetches the images it shows, in parallel)
        bare = Client(url, verbose=False, download_files=False)
        moving = series(client, photo, codec, [30 + i for i in range(args.calls)])
        moving_nodl = series(bare, photo, codec, [30 + args.calls + i for i in range(args.calls)])
        same = series(client, photo, codec, [WARM_QP] * args.calls)
        same_nodl = series(bare, photo, codec, [WARM_QP] * args.calls)
    result = {
        "bench": "app_latency",
        "photo": "scikit-image coffee resized to 640x480",
        "codec": codec,
        "codec_options": create_codec(codec).options(),
        "first_call_ms": round(cold_ms, 1),
        "loadavg_before": load_before,
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "qp_moving": moving,
        "qp_moving_no_downloads": moving_nodl,
        "same_qp": same,
        "same_qp_no_downloads": same_nodl,
        "checkout": _git_head(),
        "npp_weights": _npp_weights(),
        "note": args.note,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


def _git_head() -> str:
    import subprocess

    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    return r.stdout.strip()


def _npp_weights() -> dict:
    """Which NPP the app used: the shipped file's training metadata, or why there is none."""
    try:
        from npp.nn.checkpoint import load_weights
        from npp.nn.zoo import SHIPPED_NPP
    except ImportError as exc:
        return {"error": str(exc)}
    if not SHIPPED_NPP.is_file():
        return {"error": f"no shipped weights at {SHIPPED_NPP}"}
    _, config, meta = load_weights(SHIPPED_NPP, "npp")
    return {"config": config, "steps": meta.get("steps")}


def _codecs() -> list:
    from npp.codecs import list_codecs

    return list_codecs()


if __name__ == "__main__":
    raise SystemExit(main())
