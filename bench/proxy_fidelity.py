"""How faithfully the proxy codec stands in for the real codec, per QP, on held-out photos.

For each photo (full resolution) and QP: real bpp vs proxy bpp (mean absolute % error,
Pearson correlation over photos), PSNR of the real and the proxy reconstruction against the
input (the gap), and a gradient test: move each photo an equal MSE distance (PSNR 40 dB)
along minus the proxy's rate gradient, along a random direction and towards a Gaussian blur,
and count the REAL codec's bits (a useful proxy's gradient saves bits, like the blur).

    .venv/bin/python bench/proxy_fidelity.py [--proxy weights/proxy_bpg.safetensors] [--codec bpg]
        [--codec-opt level=8] [--out bench/results/proxy_fidelity.json]

Photos: scikit-image's (never used for training)."""
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
from npp.nn.zoo import SHIPPED_PROXY  # noqa: E402
from npp.train.losses import batch_psnr as psnr  # noqa: E402
from npp.train.npp_fit import load_proxy  # noqa: E402

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left")
QPS = (28, 31, 34, 37, 41)
STEP_PSNR = 40.0


def held_out() -> dict:
    import skimage

    data = Path(skimage.__file__).parent / "data"
    out = {}
    for name in PHOTOS:
        for suffix in (".png", ".jpg"):
            if (data / f"{name}{suffix}").is_file():
                out[name] = load_rgb(data / f"{name}{suffix}")
    return out


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = int(3 * sigma + 0.5)
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float32) ** 2 / (2 * sigma**2))
    k = (k / k.sum()).to(x)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(3, 1, 1, 1), groups=3)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(3, 1, 1, 1), groups=3)


def step(x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """x moved along `direction` by an RMS distance of PSNR STEP_PSNR."""
    rms = 10 ** (-STEP_PSNR / 20)
    d = direction / direction.pow(2).mean().sqrt().clamp_min(1e-12)
    return (x + rms * d).clamp(0, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proxy", default=str(SHIPPED_PROXY))
    ap.add_argument("--codec", default="bpg")
    ap.add_argument("--codec-opt", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "proxy_fidelity.json"))
    args = ap.parse_args()
    options = {k: int(v) if v.isdigit() else v for k, v in (o.split("=", 1) for o in args.codec_opt)}
    proxy = load_proxy(args.proxy)
    real = RealCodec(args.codec, options)
    photos = held_out()
    per_qp = {}
    for qp in QPS:
        rows = []
        for name, rgb in photos.items():
            torch.manual_seed(0)
            x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255
            q = torch.tensor([qp])
            dec, bpp = real(x, q)
            xr = x.clone().requires_grad_(True)
            p_hat, p_bpp = proxy(xr, q)
            p_bpp.sum().backward()
            moved = {"rate_gradient": step(x, -xr.grad), "random": step(x, torch.randn_like(x)),
                     "towards_blur": step(x, gaussian_blur(x, 1.0) - x)}
            moved_bpp = {k: real(v, q)[1].item() for k, v in moved.items()}
            rows.append({"photo": name, "real_bpp": bpp.item(), "proxy_bpp": p_bpp.item(),
                         "real_psnr": psnr(dec, x).item(), "proxy_psnr": psnr(p_hat.detach(), x).item(),
                         "bits_change_pct": {k: 100 * (v / bpp.item() - 1) for k, v in moved_bpp.items()}})
        real_b = np.array([r["real_bpp"] for r in rows])
        prox_b = np.array([r["proxy_bpp"] for r in rows])
        per_qp[qp] = {
            "real_bpp_mean": float(real_b.mean()), "proxy_bpp_mean": float(prox_b.mean()),
            "bpp_mean_abs_pct_error": float(np.mean(np.abs(prox_b - real_b) / real_b) * 100),
            "bpp_pearson_r": float(np.corrcoef(real_b, prox_b)[0, 1]),
            "real_psnr_mean": statistics.mean(r["real_psnr"] for r in rows),
            "proxy_psnr_mean": statistics.mean(r["proxy_psnr"] for r in rows),
            "real_bits_change_pct_at_40dB_step": {k: statistics.mean(r["bits_change_pct"][k] for r in rows)
                                                  for k in rows[0]["bits_change_pct"]},
            "photos": rows,
        }
        s = per_qp[qp]
        print(f"QP {qp}: real {s['real_bpp_mean']:.3f} bpp, proxy {s['proxy_bpp_mean']:.3f} bpp, "
              f"MAPE {s['bpp_mean_abs_pct_error']:.1f}%, r {s['bpp_pearson_r']:.3f}, PSNR real "
              f"{s['real_psnr_mean']:.2f} / proxy {s['proxy_psnr_mean']:.2f} dB, bits after a 40 dB step "
              + ", ".join(f"{k} {v:+.1f}%" for k, v in s["real_bits_change_pct_at_40dB_step"].items()), flush=True)
    all_real = np.array([r["real_bpp"] for s in per_qp.values() for r in s["photos"]])
    all_prox = np.array([r["proxy_bpp"] for s in per_qp.values() for r in s["photos"]])
    result = {"proxy": str(args.proxy), "codec": args.codec, "codec_options": options, "photos": list(photos),
              "qps": list(QPS), "overall": {"bpp_mean_abs_pct_error": float(np.mean(np.abs(all_prox - all_real) / all_real) * 100),
                                             "bpp_pearson_r": float(np.corrcoef(all_real, all_prox)[0, 1])},
              "per_qp": per_qp}
    print("overall", result["overall"])
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
