"""BPG with per-block QP offsets: does the offset route keep bpgenc's QP? Per photo and QP, the
plain constant-QP encode against the offset route (CRF, AQ on, FFmpeg ROI side data) with a
zero map, and with +3 everywhere and +6 on the left half: x265's reported average QP, bytes,
RGB PSNR after decoding, encode time.

    .venv/bin/python bench/bpg_qpmap.py [--level 8] [--out bench/results/bpg_qpmap.json]

Photos: 256x256 centre crops (after a 512 px shorter-side resize) of five photos that no held-out
evaluation here uses. Sizes, QPs and PSNR are exact; times are medians on this machine."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.codecs import bpgfile, colour, create_codec  # noqa: E402
from npp.codecs.bpg import PIXEL_FORMAT, intra_qp, x265_encode  # noqa: E402
from npp.codecs.qpmap import map_shape  # noqa: E402
from npp.fsutil import atomic_write_text  # noqa: E402
from npp.image import load_rgb, resize_shorter_side  # noqa: E402

QPS = (22, 27, 32, 37, 42, 47)
SIDE = 256


def photos() -> dict:
    import skimage

    data = Path(skimage.__file__).parent / "data"
    cache = Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp"))
    paths = {"skimage motorcycle_right": data / "motorcycle_right.png",
             "skimage hubble_deep_field": data / "hubble_deep_field.jpg", "skimage ihc": data / "ihc.png",
             "skimage retina": data / "retina.jpg", "darknet scream": cache / "photos" / "darknet" / "scream.jpg"}
    out = {}
    for name, path in paths.items():
        rgb = resize_shorter_side(load_rgb(path), 2 * SIDE)
        y, x = (rgb.shape[0] - SIDE) // 2, (rgb.shape[1] - SIDE) // 2
        out[name] = np.ascontiguousarray(rgb[y:y + SIDE, x:x + SIDE])
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1000.0


def rows_for(name: str, rgb: np.ndarray, level: int) -> list:
    codec = create_codec("bpg", level=level)
    planes = colour.pad_planes(colour.rgb_to_planes(rgb, "420", 8), bpgfile.CB_PAD, "420")
    header = bpgfile.BpgHeader(width=SIDE, height=SIDE, pixel_format=PIXEL_FORMAT["420"])
    zeros = np.zeros(map_shape(SIDE, SIDE), np.float32)
    left = zeros.copy()
    left[:, : left.shape[1] // 2] = 6
    rows = []
    for qp in QPS:
        plain, plain_ms = timed(lambda: x265_encode(planes, "420", qp, level))
        routed, routed_ms = timed(lambda: x265_encode(planes, "420", qp, level, zeros))
        up3 = x265_encode(planes, "420", qp, level, zeros + 3)
        left6 = x265_encode(planes, "420", qp, level, left)
        decoded = [codec.decode(bpgfile.write_bpg(p.stream, header)) for p in (plain, routed)]
        row = {"photo": name, "qp": qp, "bpgenc_intra_qp": intra_qp(qp),
               "plain_avg_qp": plain.avg_qp, "zero_map_avg_qp": routed.avg_qp,
               "plus3_avg_qp": round(up3.avg_qp, 3), "left_plus6_avg_qp": round(left6.avg_qp, 3),
               "plain_bytes": len(plain.stream), "zero_map_bytes": len(routed.stream),
               "bytes_ratio": round(len(routed.stream) / len(plain.stream), 4),
               "plain_psnr": round(psnr(decoded[0], rgb), 3), "zero_map_psnr": round(psnr(decoded[1], rgb), 3),
               "plain_encode_ms": round(plain_ms, 1), "zero_map_encode_ms": round(routed_ms, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def summary(rows: list) -> dict:
    ratios = [r["bytes_ratio"] for r in rows]
    dpsnr = [r["zero_map_psnr"] - r["plain_psnr"] for r in rows]
    return {
        "points": len(rows),
        "zero_map_avg_qp_equals_plain": all(r["zero_map_avg_qp"] == r["plain_avg_qp"] == r["bpgenc_intra_qp"] for r in rows),
        "plus3_max_abs_error_qp": round(max(abs(r["plus3_avg_qp"] - min(51, r["bpgenc_intra_qp"] + 3)) for r in rows), 3),
        "left_plus6_max_abs_error_qp": round(max(abs(r["left_plus6_avg_qp"] - (r["bpgenc_intra_qp"] + 3)) for r in rows), 3),
        "zero_map_bytes_ratio": {"min": min(ratios), "median": statistics.median(ratios), "max": max(ratios)},
        "zero_map_psnr_minus_plain_db": {"min": round(min(dpsnr), 3), "median": round(statistics.median(dpsnr), 3),
                                         "max": round(max(dpsnr), 3)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", type=int, default=8, choices=range(1, 10), help="bpgenc -m level (default 8)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bpg_qpmap.json"))
    args = ap.parse_args()
    rows = [r for name, rgb in photos().items() for r in rows_for(name, rgb, args.level)]
    result = {"level": args.level, "crop": f"{SIDE}x{SIDE} centre of a {2 * SIDE} px shorter-side resize",
              "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
              "summary": summary(rows), "rows": rows}
    print(json.dumps(result["summary"], indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
