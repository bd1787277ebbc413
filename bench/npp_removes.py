"""A picture of what NPP removes, and where, next to a Gaussian blur of equal strength.

Row per photo: input | NPP output | |NPP - input| (amplified) | |blur - input| (amplified),
the blur's sigma chosen so its MSE to the input matches NPP's. Held-out photos only.

    .venv/bin/python bench/npp_removes.py [--weights W] [--qp 37] [--out bench/results/npp_removes.png]"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.fsutil import atomic_write_bytes, atomic_write_text  # noqa: E402
from npp.nn.zoo import load_npp, preprocess_rgb  # noqa: E402


def matched_blur(rgb: np.ndarray, target_mse: float) -> tuple[np.ndarray, float]:
    best = (rgb, 0.0, float("inf"))
    for sigma in np.arange(0.2, 3.01, 0.1):
        b = np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(float(sigma))))
        err = abs(float(np.mean((b.astype(float) - rgb) ** 2)) - target_mse)
        if err < best[2]:
            best = (b, float(sigma), err)
    return best[0], best[1]


def main() -> None:
    import io

    from skimage import data

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--qp", type=int, default=37)
    ap.add_argument("--gain", type=float, default=8.0, help="amplification of the difference maps")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "npp_removes.png"))
    args = ap.parse_args()
    model = load_npp(args.weights, device="cpu")
    rows, stats = [], {}
    for name in ("chelsea", "astronaut", "coffee"):
        rgb = getattr(data, name)()
        rgb = np.asarray(Image.fromarray(rgb).resize((320, round(320 * rgb.shape[0] / rgb.shape[1])), Image.LANCZOS))
        out = preprocess_rgb(model, rgb, args.qp)
        mse = float(np.mean((out.astype(float) - rgb) ** 2))
        blur, sigma = matched_blur(rgb, mse)
        diff = lambda a: np.clip(np.abs(a.astype(float) - rgb).mean(2, keepdims=True).repeat(3, 2) * args.gain, 0, 255).astype(np.uint8)
        rows.append(np.concatenate([rgb, out, diff(out), diff(blur)], axis=1))
        stats[name] = {"npp_mse": mse, "npp_psnr": 10 * np.log10(255**2 / max(mse, 1e-9)), "matched_blur_sigma": sigma}
    h = min(r.shape[0] for r in rows)
    sheet = np.concatenate([r[:h] for r in rows], axis=0)
    buf = io.BytesIO()
    Image.fromarray(sheet).save(buf, format="PNG")
    atomic_write_bytes(args.out, buf.getvalue())
    atomic_write_text(Path(args.out).with_suffix(".json"), json.dumps({"qp": args.qp, "gain": args.gain, "photos": stats}, indent=2) + "\n")
    print(json.dumps(stats), "\nwrote", args.out)


if __name__ == "__main__":
    main()
