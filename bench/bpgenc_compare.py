"""The project's BPG against genuine bpgenc/bpgdec 0.9.8 at QP 28, 37 and 41 on real photos.

    .venv/bin/python bench/bpgenc_compare.py --bpgenc /path/to/bpgenc --bpgdec /path/to/bpgdec

No registry ships libbpg: build bpgenc/bpgdec 0.9.8 from source yourself (outside this
repository). Reports, per photo and QP, both file sizes and their ratio (goal 0.85-1.20 at QP
28, 37, 41), the round-trip PSNR of each against the original (goal: ours at most 1.5 dB lower),
how close the project's decode of the genuine file is to bpgdec's, and per photo the BD-rate of
the project's curve against genuine bpgenc's (equal-quality size difference). Photos: scikit-image's, plus darknet's
from the npp cache when scripts/fetch_photos.sh has fetched them."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.codecs import create_codec  # noqa: E402
from npp.fsutil import atomic_write_text  # noqa: E402
from npp.image import load_rgb  # noqa: E402

#: the issue's QPs are 28, 37 and 41; 31 and 34 complete the paper's grid for a BD-rate
QPS = (28, 31, 34, 37, 41)
GOAL_QPS = (28, 37, 41)
SKIMAGE = ("astronaut", "chelsea", "coffee", "rocket")
DARKNET = ("dog", "eagle", "horses", "person")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def photos() -> dict:
    import skimage

    data = Path(skimage.__file__).parent / "data"
    out = {name: load_rgb(next(data.glob(f"{name}.*"))) for name in SKIMAGE}
    cache = Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp")) / "photos" / "darknet"
    for name in DARKNET:
        if (cache / f"{name}.jpg").is_file():
            out[f"darknet/{name}"] = load_rgb(cache / f"{name}.jpg")
    return out


def run(cmd: list) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)


def compare(bpgenc: str, bpgdec: str, level: int) -> dict:
    codec = create_codec("bpg", level=level)
    rows = []
    with tempfile.TemporaryDirectory(prefix="npp-bpgcmp-") as tmp:
        src, genuine, back = Path(tmp) / "in.png", Path(tmp) / "g.bpg", Path(tmp) / "g.png"
        for name, rgb in photos().items():
            Image.fromarray(rgb).save(src)
            for qp in QPS:
                run([bpgenc, "-q", str(qp), "-m", str(level), "-o", str(genuine), str(src)])
                run([bpgdec, "-o", str(back), str(genuine)])
                g_bytes = genuine.stat().st_size
                g_rgb = np.asarray(Image.open(back).convert("RGB"))
                ours = codec.encode(rgb, qp)
                o_rgb = codec.decode(ours.data)
                we_read_genuine = codec.decode(genuine.read_bytes())
                row = {"photo": name, "size": f"{rgb.shape[1]}x{rgb.shape[0]}", "qp": qp,
                       "genuine_bytes": g_bytes, "ours_bytes": ours.nbytes,
                       "size_ratio": round(ours.nbytes / g_bytes, 4),
                       "genuine_psnr_db": round(psnr(g_rgb, rgb), 3), "ours_psnr_db": round(psnr(o_rgb, rgb), 3),
                       "ours_read_genuine_vs_bpgdec_db": round(min(psnr(we_read_genuine, g_rgb), 99.0), 2)}
                row["psnr_loss_db"] = round(row["genuine_psnr_db"] - row["ours_psnr_db"], 3)
                rows.append(row)
                print(json.dumps(row), flush=True)
    goal_rows = [r for r in rows if r["qp"] in GOAL_QPS]
    ratios = [r["size_ratio"] for r in goal_rows]
    losses = [r["psnr_loss_db"] for r in goal_rows]
    bd = bd_rates(rows)
    return {
        "level": level,
        "rows": rows,
        "summary": {
            "size_ratio_min": min(ratios), "size_ratio_max": max(ratios),
            "size_ratio_mean": round(float(np.mean(ratios)), 4),
            "psnr_loss_db_max": max(losses), "psnr_loss_db_mean": round(float(np.mean(losses)), 3),
            "ours_read_genuine_vs_bpgdec_db_min": min(r["ours_read_genuine_vs_bpgdec_db"] for r in rows),
            "bd_rate_percent_per_photo": bd,
            "bd_rate_percent_mean": round(float(np.mean(list(bd.values()))), 2),
            "within_goals": bool(0.85 <= min(ratios) and max(ratios) <= 1.20 and max(losses) <= 1.5),
        },
    }


def bd_rates(rows: list) -> dict:
    """BD-rate (%) of the project's BPG against genuine bpgenc, per photo (PSNR, pchip)."""
    import bjontegaard

    out = {}
    for name in dict.fromkeys(r["photo"] for r in rows):
        mine = sorted((r for r in rows if r["photo"] == name), key=lambda r: r["qp"])
        out[name] = round(float(bjontegaard.bd_rate(
            [r["genuine_bytes"] for r in mine], [r["genuine_psnr_db"] for r in mine],
            [r["ours_bytes"] for r in mine], [r["ours_psnr_db"] for r in mine], method="pchip")), 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bpgenc", required=True, help="genuine bpgenc 0.9.8 binary")
    ap.add_argument("--bpgdec", required=True, help="genuine bpgdec 0.9.8 binary")
    ap.add_argument("--level", type=int, default=8, help="bpgenc -m level (default 8, bpgenc's default)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bpgenc_compare.json"))
    args = ap.parse_args()
    result = compare(args.bpgenc, args.bpgdec, args.level)
    print(json.dumps(result["summary"]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
