"""NPP speed: inference ms at 224x224 and 512x512 (eager fp32, then the fair speed-ups:
inference mode, folded batch-norm, channels-last), CUDA when present, and one training step's
time broken down into NPP, proxy, real codec, vision model and backward.

    .venv/bin/python bench/npp.py [--repeat 10] [--codec bpg] [--out bench/results/npp.json]

Times are wall-clock medians on whatever machine runs it; note its load (this project's CPU
is 2 cores shared with other jobs)."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.fsutil import atomic_write_text  # noqa: E402
from npp.nn.fuse import for_inference  # noqa: E402
from npp.nn.checkpoint import load_weights  # noqa: E402
from npp.nn.npp_net import NPP  # noqa: E402
from npp.nn.zoo import SHIPPED_NPP, build_npp  # noqa: E402


def median_ms(fn, repeat: int, sync=lambda: None) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def inference(config: dict, size: int, device: str, repeat: int) -> dict:
    torch.manual_seed(0)
    model = build_npp(config).to(device).eval()
    x = torch.rand(1, 3, size, size, device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    out = {}
    with torch.no_grad():
        out["eager_fp32"] = median_ms(lambda: model(x, 34), repeat, sync)
    with torch.inference_mode():
        out["inference_mode"] = median_ms(lambda: model(x, 34), repeat, sync)
        folded = for_inference(model, channels_last=False)
        out["folded_bn"] = median_ms(lambda: folded(x, 34), repeat, sync)
        fast = for_inference(model, channels_last=True)
        xc = x.contiguous(memory_format=torch.channels_last)
        out["folded_bn_channels_last"] = median_ms(lambda: fast(xc, 34), repeat, sync)
        if device.startswith("cuda"):
            half = fast.half()
            out["folded_bn_channels_last_fp16"] = median_ms(lambda: half(xc.half(), 34), repeat, sync)
    return out


def training_step(codec: str, options: dict, width: float, batch: int, crop: int, repeat: int) -> dict:
    from npp.nn.codec_layer import RealCodec, StraightThroughCodec
    from npp.nn.proxy import ProxyCodec
    from npp.train.data import PhotoCrops
    from npp.train.npp_fit import npp_loss
    from npp.vision import create_model

    import tempfile

    from PIL import Image
    from skimage import data as skdata

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("chelsea", "coffee", "astronaut", "rocket"):
            Image.fromarray(getattr(skdata, name)()).save(Path(tmp) / f"{name}.png")
        data = PhotoCrops(tmp, crop=crop)
    torch.manual_seed(0)
    npp = NPP(width)
    proxy = ProxyCodec().requires_grad_(False)
    st = StraightThroughCodec(proxy, RealCodec(codec, options, workers=2))
    teacher = create_model(task="cls", device=torch.device("cpu"))
    opt = torch.optim.Adam(npp.parameters(), lr=1e-4)
    rows = []
    try:
        for i in range(repeat + 1):
            x = torch.from_numpy(data.batch(0, i, 0, batch))
            t = time.perf_counter()
            loss, stats, _ = npp_loss(npp, st, teacher, x, torch.full((batch,), 34), 0.5, 5.0, 20.0)
            t1 = time.perf_counter()
            opt.zero_grad()
            loss.backward()
            opt.step()
            stats.update(backward_s=time.perf_counter() - t1, step_s=time.perf_counter() - t)
            if i:  # the first step warms up the codec pool
                rows.append(stats)
    finally:
        st.real.close()
    keys = ["npp_fwd_s", "proxy_fwd_s", "codec_s", "vision_fwd_s", "backward_s", "step_s"]
    return {k.replace("_s", "_ms"): round(1000 * statistics.median(r[k] for r in rows), 1) for k in keys}


def variants() -> list:
    """(name, architecture): the paper's width and two narrower ones, and the shipped weights' own
    architecture (its variants included), read from the file so the figure follows the weights."""
    out = [(f"width{w}", {"width": w}) for w in (1.0, 0.5, 0.25)]
    if SHIPPED_NPP.is_file():
        config = load_weights(SHIPPED_NPP, "npp")[1]
        out.append(("shipped:" + ",".join(f"{k}={v}" for k, v in sorted(config.items()) if k != "qa_hidden"), config))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--codec", default="bpg")
    ap.add_argument("--codec-level", type=int, default=2, help="codec speed level for the training step (bpg)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "npp.json"))
    args = ap.parse_args()
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                          "threads": torch.get_num_threads(), "load_avg_1m": os.getloadavg()[0],
                          "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
              "inference_ms": {}, "training_step_ms": {}}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for name, config in variants():
            for size in (224, 512):
                key = f"{device}/{name}/{size}x{size}"
                result["inference_ms"][key] = inference(config, size, device, args.repeat)
                print(key, result["inference_ms"][key], flush=True)
    options = {"level": args.codec_level} if args.codec == "bpg" else {}
    for width in (1.0, 0.25):
        key = f"cpu/width{width}/batch4/crop192/{args.codec}"
        result["training_step_ms"][key] = training_step(args.codec, options, width, 4, 192, max(3, args.repeat // 3))
        print(key, result["training_step_ms"][key], flush=True)
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
