"""Bits NPP saves at equal QP on held-out photos, and what it costs the classifier.

For each held-out photo (full resolution) and QP: bpp of codec(photo) and codec(NPP(photo)),
and the classifier's KL divergence (decoded vs uncompressed, resized to a 256 shorter side and
centre-cropped to 224) and top-1 agreement, next to a Gaussian blur (sigma 1) before the codec
for scale. The full rate-fidelity protocol (BD-rates, blur sweep, bootstrap) is `npp evaluate`.

    .venv/bin/python bench/npp_savings.py [--weights weights/npp.safetensors] [--codec bpg]
        [--out bench/results/npp_savings.json]"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.fsutil import atomic_write_text  # noqa: E402
from npp.image import load_rgb  # noqa: E402
from npp.nn.codec_layer import RealCodec  # noqa: E402
from npp.nn.zoo import load_npp, preprocess_rgb  # noqa: E402
from npp.train.teacher import load_teacher  # noqa: E402

QPS = (28, 31, 34, 37, 41)


def held_out_photos() -> dict:
    import os

    import skimage

    out = {}
    sk = Path(skimage.__file__).parent / "data"
    for name in ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left"):
        out[name] = sk / f"{name}{'.jpg' if name == 'rocket' else '.png'}"
    darknet = Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp")) / "photos" / "darknet"
    for p in sorted(darknet.glob("*.jpg")):
        if p.stem != "scream":  # a painting
            out[p.stem] = p
    return {k: load_rgb(v) for k, v in out.items() if v.is_file()}


def classifier_view(rgb: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255
    h, w = x.shape[2:]
    s = 256 / min(h, w)
    x = F.interpolate(x, size=(round(h * s), round(w * s)), mode="bilinear", antialias=True, align_corners=False)
    h, w = x.shape[2:]
    return x[:, :, (h - 224) // 2:(h - 224) // 2 + 224, (w - 224) // 2:(w - 224) // 2 + 224]


def blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    from PIL import Image, ImageFilter

    return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(sigma)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="NPP weights (default: shipped)")
    ap.add_argument("--codec", default="bpg")
    ap.add_argument("--codec-opt", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "npp_savings.json"))
    args = ap.parse_args()
    options = {k: int(v) if v.isdigit() else v for k, v in (o.split("=", 1) for o in args.codec_opt)}
    npp = load_npp(args.weights, device="cpu")
    real = RealCodec(args.codec, options)
    teacher = load_teacher(None, "cls", torch.device("cpu"))
    photos = held_out_photos()
    per_qp = {}
    with torch.inference_mode():
        for qp in QPS:
            rows = []
            for name, rgb in photos.items():
                ref = torch.log_softmax(teacher(classifier_view(rgb)), 1)
                row = {"photo": name}
                for variant, img in (("plain", rgb), ("npp", preprocess_rgb(npp, rgb, qp)), ("blur1", blur(rgb, 1.0))):
                    (dec, nbytes), = real.round_trip([img], [qp])
                    logp = torch.log_softmax(teacher(classifier_view(dec)), 1)
                    row[variant] = {"bpp": 8 * nbytes / (rgb.shape[0] * rgb.shape[1]),
                                    "kl": float((ref.exp() * (ref - logp)).sum()),
                                    "top1_agree": bool(logp.argmax() == ref.argmax())}
                rows.append(row)
            summary = {}
            for v in ("plain", "npp", "blur1"):
                summary[v] = {"bpp": statistics.mean(r[v]["bpp"] for r in rows), "kl": statistics.mean(r[v]["kl"] for r in rows),
                              "top1_agree": statistics.mean(r[v]["top1_agree"] for r in rows)}
            summary["npp_bits_saved_pct"] = 100 * (1 - sum(r["npp"]["bpp"] for r in rows) / sum(r["plain"]["bpp"] for r in rows))
            summary["blur1_bits_saved_pct"] = 100 * (1 - sum(r["blur1"]["bpp"] for r in rows) / sum(r["plain"]["bpp"] for r in rows))
            per_qp[qp] = {"summary": summary, "photos": rows}
            print(f"QP {qp}: " + ", ".join(f"{v} {summary[v]['bpp']:.3f} bpp KL {summary[v]['kl']:.3f} top1 {summary[v]['top1_agree']:.2f}"
                                           for v in ("plain", "npp", "blur1"))
                  + f" | NPP saves {summary['npp_bits_saved_pct']:.1f}%, blur {summary['blur1_bits_saved_pct']:.1f}%", flush=True)
    result = {"weights": args.weights or "shipped", "codec": args.codec, "codec_options": options,
              "photos": list(photos), "per_qp": per_qp}
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
