"""Codec benchmark: per codec and QP on a 512x512 photo, median encode and decode time, bpp and
PSNR; and the project's BPG path against the same x265 encode (and HEVC decode) run directly.

    .venv/bin/python bench/codecs.py [--repeat 3] [--out bench/results/codecs.json]

Times are wall-clock medians on whatever machine runs it (note its load); sizes and PSNR are
exact and reproducible."""
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
from npp.codecs.bpg import x265_encode  # noqa: E402
from npp.fsutil import atomic_write_text  # noqa: E402
from npp.image import load_rgb  # noqa: E402

QPS = (22, 27, 32, 37, 42)
#: default settings of each codec (bpg level 8 = bpgenc's default, vvc preset medium)
CODECS = (("jpeg", {}), ("bpg", {"level": 8, "chroma": "420"}), ("vvc", {"preset": "medium"}))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def median_ms(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), out


def photo() -> np.ndarray:
    import skimage

    return load_rgb(Path(skimage.__file__).parent / "data" / "astronaut.png")  # 512x512


def codec_rows(rgb: np.ndarray, repeat: int) -> list:
    rows = []
    for name, options in CODECS:
        codec = create_codec(name, **options)
        for qp in QPS:
            enc_ms, enc = median_ms(lambda: codec.encode(rgb, qp), repeat)
            dec_ms, out = median_ms(lambda: codec.decode(enc.data), max(repeat, 5))
            rows.append({"codec": name, "options": options, "qp": qp, "bytes": enc.nbytes,
                         "bpp": round(enc.bpp, 4), "psnr_db": round(psnr(out, rgb), 2),
                         "encode_ms": round(enc_ms, 1), "decode_ms": round(dec_ms, 1)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def interleaved_ms(fns: dict, repeat: int) -> dict:
    """Median ms of each function, run in turn so that load changes hit all of them alike."""
    times: dict = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append((time.perf_counter() - t0) * 1000.0)
    return {k: statistics.median(v) for k, v in times.items()}


def bpg_overhead(rgb: np.ndarray, repeat: int) -> dict:
    """The project's whole BPG encode (colour conversion, padding, x265, container) and decode
    (container, HEVC decode with the truncation check, libbpg-style colour) against the same
    x265 encode and one plain FFmpeg HEVC decode of the same planes, interleaved."""
    import av

    codec = create_codec("bpg")
    planes = colour.pad_planes(colour.rgb_to_planes(rgb, "420", 8), bpgfile.CB_PAD, "420")
    rows = []
    for qp in QPS:
        enc = codec.encode(rgb, qp)
        stream = x265_encode(planes, "420", qp, 8).stream
        annexb = bpgfile.read_bpg(enc.data)[1]

        def bare_decode():
            ctx = av.CodecContext.create("hevc", "r")
            return list(ctx.decode(av.Packet(annexb))) + list(ctx.decode(None))

        ms = interleaved_ms({
            "encode_ms_project": lambda: codec.encode(rgb, qp),
            "encode_ms_x265_direct": lambda: x265_encode(planes, "420", qp, 8),
            "decode_ms_project": lambda: codec.decode(enc.data),
            "decode_ms_hevc_direct": bare_decode,
        }, repeat)
        row = {"qp": qp, "bpg_bytes": enc.nbytes, "x265_stream_bytes": len(stream),
               "bytes_ratio": round(enc.nbytes / len(stream), 4), **{k: round(v, 1) for k, v in ms.items()}}
        row["encode_time_ratio"] = round(ms["encode_ms_project"] / ms["encode_ms_x265_direct"], 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
    total = {k: sum(r[k] for r in rows) for k in ("encode_ms_project", "encode_ms_x265_direct",
                                                  "decode_ms_project", "decode_ms_hevc_direct")}
    return {"rows": rows, "encode_time_ratio_all_qps": round(total["encode_ms_project"] / total["encode_ms_x265_direct"], 3),
            "decode_time_ratio_all_qps": round(total["decode_ms_project"] / total["decode_ms_hevc_direct"], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="encodes per point (median); decodes use max(repeat, 5)")
    ap.add_argument("--overhead-repeat", type=int, default=9, help="interleaved runs per QP for the BPG path vs x265")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "codecs.json"))
    args = ap.parse_args()
    rgb = photo()
    result = {
        "photo": "scikit-image astronaut.png, 512x512",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "load_avg_at_start": list(os.getloadavg())},
        "codecs": codec_rows(rgb, args.repeat),
        "bpg_vs_direct_x265": bpg_overhead(rgb, args.overhead_repeat),
    }
    result["machine"]["load_avg_at_end"] = list(os.getloadavg())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
