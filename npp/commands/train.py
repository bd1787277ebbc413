"""`npp train-proxy`, `npp train` and `npp preprocess`: fit the proxy codec to a real codec,
train NPP through it, and filter photos with trained weights."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List

from npp.commands.common import check_writable, expand_inputs, output_paths, print_json
from npp.errors import NppError


def _floats(text: str) -> List[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _codec_options(pairs: List[str]) -> dict:
    out: dict = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise NppError(f"--codec-opt wants KEY=VALUE, got {pair!r}")
        out[key] = int(value) if value.lstrip("-").isdigit() else value
    return out


def _check_common(args: argparse.Namespace) -> None:
    from npp.codecs import codec_class, parse_qps

    codec_class(args.codec)
    args.qps = parse_qps(args.qps, what="--qps")
    for name in ("steps", "batch", "crop", "save_every"):
        if getattr(args, name) < 1:
            raise NppError(f"--{name.replace('_', '-')} must be at least 1")
    if args.workers < 0:
        raise NppError(f"--workers {args.workers}: give a number of codec processes (0 = encode in this process)")
    if args.threads is not None and args.threads < 1:
        raise NppError(f"--threads {args.threads}: must be at least 1")
    check_writable([Path(args.out) / "last.pt"])
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def run_train_proxy(args: argparse.Namespace) -> int:
    from npp.train.proxy_fit import ProxyConfig, train_proxy

    _check_common(args)
    cfg = ProxyConfig(data=args.data, out=args.out, steps=args.steps, codec=args.codec,
                      codec_options=_codec_options(args.codec_opt), qps=args.qps, batch=args.batch, crop=args.crop,
                      lr=args.lr, seed=args.seed, workers=args.workers, save_every=args.save_every,
                      progress=not args.quiet, arch=args.arch)
    path = train_proxy(cfg, resume=args.resume, init=args.init, device=args.device)
    print(path)
    return 0


def run_train(args: argparse.Namespace) -> int:
    from npp.train.npp_fit import NppConfig, train_npp

    _check_common(args)
    if not args.lambdas or min(args.lambdas) < 0:
        raise NppError("--lambdas must be non-negative numbers")
    if not 0 <= args.keep_tone <= 16:
        raise NppError(f"--keep-tone must be a sigma in 0..16 (0 = off), got {args.keep_tone}")
    if not 0 <= args.lowpass <= 2:
        raise NppError(f"--lowpass must be a sigma in 0..2 (0 = off), got {args.lowpass}")
    if not 0 <= args.qp_map <= 12:
        raise NppError(f"--qp-map must be a largest QP offset in 0..12 (0 = off), got {args.qp_map}")
    if args.max_side < args.crop or not 0 < args.min_scale <= 1:
        raise NppError("--max-side must be at least --crop and --min-scale in (0, 1]")
    cfg = NppConfig(data=args.data, out=args.out, steps=args.steps, proxy=args.proxy, task=args.task,
                    model=args.model, codec=args.codec, codec_options=_codec_options(args.codec_opt), qps=args.qps,
                    lambdas=args.lambdas, beta=args.beta, low_weight=args.low_weight, width=args.width, lowpass=args.lowpass, keep_tone=args.keep_tone,
                    degrade=args.degrade, calibrate_rate=args.calibrate_rate, log_rate=args.log_rate,
                    saliency=args.saliency, qp_map=args.qp_map, max_side=args.max_side, min_scale=args.min_scale,
                    input_side=args.input_side,
                    batch=args.batch, crop=args.crop, lr=args.lr, seed=args.seed, workers=args.workers,
                    save_every=args.save_every, progress=not args.quiet)
    path = train_npp(cfg, resume=args.resume, init=args.init, device=args.device)
    print(path)
    return 0


def run_preprocess(args: argparse.Namespace) -> int:
    from npp.codecs import check_qp
    from npp.image import load_rgb, save_png
    from npp.nn.zoo import load_npp, preprocess_rgb

    check_qp(args.qp)
    inputs = expand_inputs(args.inputs)
    outputs = output_paths(inputs, args.output, ".png")
    model = load_npp(args.weights, device=args.device)
    for src, dst in zip(inputs, outputs):
        out = preprocess_rgb(model, load_rgb(src), args.qp)
        save_png(out, dst)
        if args.json:
            print_json({"input": str(src), "output": str(dst), "qp": args.qp, "width": out.shape[1], "height": out.shape[0]})
    return 0


def _training_args(p: argparse.ArgumentParser, qps: str, batch: int, crop: int, lr: float, save_every: int) -> None:
    p.add_argument("--data", required=True, help="folder of training photos (no labels needed)")
    p.add_argument("--steps", type=int, required=True, help="total optimisation steps (a resumed run counts on)")
    p.add_argument("--out", required=True, help="run folder: last.pt, log.csv, log.jsonl and the exported weights")
    p.add_argument("--codec", default="bpg", help="real codec in the loop (default bpg)")
    p.add_argument("--codec-opt", action="append", metavar="KEY=VALUE", help="codec option, e.g. level=2 (repeatable)")
    p.add_argument("--qps", default=qps, help=f"QPs drawn per image: 28,31 or 28 31 or 26-43 (default {qps})")
    p.add_argument("--batch", type=int, default=batch, help=f"crops per step and process (default {batch})")
    p.add_argument("--crop", type=int, default=crop, help=f"crop side in pixels (default {crop})")
    p.add_argument("--lr", type=float, default=lr, help=f"Adam learning rate (default {lr})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="codec processes (0 = encode in this process)")
    p.add_argument("--save-every", type=int, default=save_every, help="checkpoint every N steps")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--init", metavar="WEIGHTS", help="start from these weights (steps and time accumulate)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: CUDA when available; torchrun sets one per rank)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-proxy", help="fit the proxy codec to a real codec's bits and decoded images")
    _training_args(p, "26-43", 8, 128, 5e-4, 50)
    p.add_argument("--arch", default="dct", help="proxy architecture: dct (default) or hyperprior (CompressAI)")
    p.set_defaults(func=run_train_proxy)

    p = sub.add_parser("train", help="train NPP through the real codec (proxy gradients, distilled vision model)")
    _training_args(p, "28,31,34,37,41", 4, 192, 2e-4, 25)
    p.add_argument("--proxy", metavar="WEIGHTS", help="proxy weights (default: the shipped BPG proxy)")
    p.add_argument("--task", choices=["cls", "det"], default="cls", help="distil a classifier or a detector")
    p.add_argument("--model", help="vision model name (default: the task's offline model)")
    p.add_argument("--lambdas", type=_floats, default=[0.5], help="D_machine weights drawn per step (default 0.5)")
    p.add_argument("--beta", type=float, default=5.0, help="D_pre weight (default 5)")
    p.add_argument("--low-weight", type=float, default=20.0, help="extra weight of low frequencies in D_pre (default 20)")
    p.add_argument("--width", type=float, default=0.5, help="U-Net width multiplier; 1 = the paper's network (default 0.5)")
    p.add_argument("--lowpass", type=float, default=0.0, metavar="SIGMA",
                   help="project variant: start the pixel branch as a learnable Gaussian blur of this sigma "
                        "(default 0 = the paper's identity start)")
    p.add_argument("--keep-tone", type=float, default=0.0, metavar="SIGMA",
                   help="project variant: remove the Gaussian(SIGMA) low-pass part of NPP's change, so it alters "
                        "detail but not tone or colour (default 0 = off)")
    p.add_argument("--calibrate-rate", action="store_true",
                   help="scale the proxy's rate gradient per QP so a blur changes its bpp as much as the real codec's")
    p.add_argument("--log-rate", action="store_true",
                   help="rate term log(bpp) instead of bpp, as BD-rate measures it (lambda then near the plain "
                        "codec's -dlog(bpp)/dD_machine, about 3 for a classifier)")
    p.add_argument("--saliency", action="store_true",
                   help="project variant: NPP also sees where the sender's classifier looks (its Grad-CAM map)")
    p.add_argument("--qp-map", type=float, default=0.0, metavar="A",
                   help="project variant: NPP also outputs a QP offset in [-A, A] per 16x16 block (codecs that "
                        "take them: bpg); 0 = off")
    p.add_argument("--max-side", type=int, default=768,
                   help="photos are shrunk to this shorter side before cropping (256-320: the classifier's scale)")
    p.add_argument("--input-side", type=int, default=0,
                   help="record in the weights that the npp method resizes photos to this shorter side before NPP "
                        "(the scale it was trained at, e.g. 256; default 0 = full resolution)")
    p.add_argument("--min-scale", type=float, default=0.5,
                   help="a crop covers crop/min-scale to crop pixels of the shrunk photo (default 0.5)")
    p.add_argument("--degrade", action="store_true",
                   help="add sensor-like noise and JPEG texture to the crops, as everyday photos carry")
    p.set_defaults(func=run_train)

    p = sub.add_parser("preprocess", help="filter images with NPP for a codec QP (PNG out)")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-o", "--output", required=True, help="PNG file (one input) or folder")
    p.add_argument("--qp", type=int, required=True, help="the QP the filtered image will be coded at")
    p.add_argument("--weights", help="NPP weights (.safetensors or an npp train last.pt; default: shipped)")
    p.add_argument("--device", help="cpu or cuda (default: CUDA when available)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.set_defaults(func=run_preprocess)
