"""Where a method spends and saves bits: on the object the classifier looks at, or on the
background. For each photo (the model-input protocol's 224 x 224 crop) at one QP, the object is
where the sender's classifier looks (the `npp.methods.saliency` mask >= 0.5, in 16x16 blocks),
the rest is background. A method's change of the pixels is attributed by coding hybrids (its
pixels on the background and the original on the object, and the reverse) and its QP map by
coding it on one region only; a Gaussian blur of the same MSE as the method's pixels is the
uniform reference. Also the decoded image's PSNR on each region.

    .venv/bin/python bench/bits_where.py --data runs/heldout110 --method npp --qp 34 [--photos 24] [--label L]

Writes bench/results/bits_where.json and bench/results/bits_where.png."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.codecs import create_codec  # noqa: E402
from npp.codecs.qpmap import BLOCK  # noqa: E402
from npp.evaluate.metrics import psnr  # noqa: E402
from npp.evaluate.protocol import centre_crop  # noqa: E402
from npp.fsutil import atomic_write, atomic_write_text  # noqa: E402
from npp.image import IMAGE_SUFFIXES, load_rgb  # noqa: E402
from npp.methods import create_method  # noqa: E402
from npp.methods.blur import gaussian_blur  # noqa: E402
from npp.methods.saliency import saliency_mask  # noqa: E402


def matched_blur(rgb: np.ndarray, target_mse: float) -> tuple:
    """(blurred image, sigma) whose MSE against `rgb` is closest to `target_mse` (bisection)."""
    lo, hi = 0.05, 8.0
    for _ in range(18):
        mid = (lo + hi) / 2
        mse = float(np.mean((gaussian_blur(rgb, mid).astype(np.float64) - rgb) ** 2))
        lo, hi = (mid, hi) if mse < target_mse else (lo, mid)
    sigma = (lo + hi) / 2
    return gaussian_blur(rgb, sigma), sigma


def region_psnr(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    return psnr(a[region], b[region]) if region.any() else float("nan")


def one_photo(path: Path, method, codec, qp: int) -> dict:
    rgb = centre_crop(load_rgb(path))
    h, w = rgb.shape[:2]
    mask = saliency_mask(rgb)
    blocks = mask.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean((1, 3)) >= 0.5
    obj = np.kron(blocks, np.ones((BLOCK, BLOCK), bool))
    bits = lambda img, off=None: 8 * len(codec.encode(img, qp, off).data)  # noqa: E731
    plain = bits(rgb)
    prep = method.prepare(rgb, qp)
    pixels, offsets = prep.rgb, prep.qp_offsets
    mse = float(np.mean((pixels.astype(np.float64) - rgb) ** 2))
    blurred, sigma = matched_blur(rgb, mse) if mse > 0 else (rgb, 0.0)
    out = {"photo": path.name, "object_share": float(obj.mean()), "plain_bits": plain, "mse": mse,
           "blur_sigma": sigma}

    def saved(img, off=None) -> float:
        return 100.0 * (1 - bits(img, off) / plain)

    for name, img in (("method_pixels", pixels), ("blur", blurred)):
        out[f"{name}_saved_pct"] = saved(img)
        out[f"{name}_saved_on_background_pct"] = saved(np.where(obj[..., None], rgb, img))
        out[f"{name}_saved_on_object_pct"] = saved(np.where(obj[..., None], img, rgb))
    if offsets is not None:
        out["qp_map_saved_pct"] = saved(rgb, offsets)
        out["qp_map_on_background_pct"] = saved(rgb, np.where(blocks, 0.0, offsets).astype(np.float32))
        out["qp_map_on_object_pct"] = saved(rgb, np.where(blocks, offsets, 0.0).astype(np.float32))
        out["qp_offset_object_mean"] = float(offsets[blocks].mean()) if blocks.any() else None
        out["qp_offset_background_mean"] = float(offsets[~blocks].mean()) if (~blocks).any() else None
    for name, img, off in (("plain", rgb, None), ("method", pixels, offsets), ("blur", blurred, None)):
        dec = codec.decode(codec.encode(img, qp, off).data)
        out[f"{name}_bits"] = bits(img, off)
        out[f"{name}_psnr_object"] = region_psnr(dec, rgb, obj)
        out[f"{name}_psnr_background"] = region_psnr(dec, rgb, ~obj)
    return out


def plot(rows: list, path: Path, method: str, qp: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean = lambda k: float(np.nanmean([r[k] for r in rows if r.get(k) is not None]))  # noqa: E731
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    groups = [("NPP's pixels", "method_pixels_saved_on_object_pct", "method_pixels_saved_on_background_pct"),
              ("blur of the same MSE", "blur_saved_on_object_pct", "blur_saved_on_background_pct")]
    if any("qp_map_saved_pct" in r for r in rows):
        groups.insert(1, ("NPP's QP map", "qp_map_on_object_pct", "qp_map_on_background_pct"))
    x = np.arange(len(groups))
    axes[0].bar(x - 0.2, [mean(g[1]) for g in groups], 0.4, label="changes on the object")
    axes[0].bar(x + 0.2, [mean(g[2]) for g in groups], 0.4, label="changes on the background")
    axes[0].set_xticks(x, [g[0] for g in groups])
    axes[0].set_ylabel("bits saved against plain BPG (%)")
    axes[0].axhline(0, color="black", lw=0.8)
    axes[0].legend(fontsize=8)
    names = [("plain", "plain BPG"), ("method", method), ("blur", "blur, same MSE")]
    axes[1].bar(np.arange(3) - 0.2, [mean(f"{n}_psnr_object") for n, _ in names], 0.4, label="object")
    axes[1].bar(np.arange(3) + 0.2, [mean(f"{n}_psnr_background") for n, _ in names], 0.4, label="background")
    axes[1].set_xticks(np.arange(3), [label for _, label in names])
    axes[1].set_ylabel("PSNR of the decoded image (dB)")
    axes[1].set_ylim(bottom=min(mean(f"{n}_psnr_background") for n, _ in names) - 3)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"where bits go: {method} vs a blur of matched MSE, BPG QP {qp}, {len(rows)} photos "
                 "(model-input crops; object = where the classifier looks)", fontsize=9)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder of photos the method was not trained on")
    ap.add_argument("--method", default="npp")
    ap.add_argument("--qp", type=int, default=34)
    ap.add_argument("--level", type=int, default=8)
    ap.add_argument("--photos", type=int, default=24, help="the first N photos, sorted by name")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bits_where"))
    ap.add_argument("--label", help="the method's name in the figure (default: its spec)")
    args = ap.parse_args()
    method, codec = create_method(args.method), create_codec("bpg", level=args.level)
    photos = sorted(p for p in Path(args.data).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[: args.photos]
    t0 = time.perf_counter()
    rows = []
    for p in photos:
        rows.append(one_photo(p, method, codec, args.qp))
        print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in rows[-1].items()}))
    keys = [k for k in rows[0] if k.endswith("_pct") or k.startswith(("qp_offset", "blur_sigma"))]
    summary = {k: float(np.nanmean([r[k] for r in rows if r.get(k) is not None])) for k in keys}
    result = {"bench": "bits_where", "method": method.name, "qp": args.qp, "level": args.level, "photos": len(rows),
              "seconds": round(time.perf_counter() - t0, 1), "mean": summary, "rows": rows}
    atomic_write_text(args.out + ".json", json.dumps(result, indent=1) + "\n")
    plot(rows, Path(args.out + ".png"), args.label or method.name, args.qp)
    print(json.dumps({k: round(v, 2) for k, v in summary.items()}))
    print(f"wrote {args.out}.json and {args.out}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
