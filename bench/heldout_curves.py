"""The held-out set's curves that the app's Curves tab shows beside a photo's: a small JSON made
from `npp evaluate` results on the held-out photos (never used in training), one entry per codec
in assets/heldout_curves.json.

The photos and commands (BPG shown; the app's sweep QPs, methods and protocol):

    .venv/bin/python bench/heldout_set.py runs/heldout-512 --max-side 512
    .venv/bin/python -m npp evaluate --data runs/heldout-512 --codec bpg --qps 28,31,34,37,41,45 \\
        --task cls --baselines blur:1.0,down:2,resize:256 --out runs/agg-bpg-cls --cache runs/agg-cache-bpg
    .venv/bin/python -m npp evaluate --data runs/heldout-512 --codec bpg --qps 28,31,34,37,41,45 \\
        --task det --baselines blur:1.0,down:2,resize:256 --out runs/agg-bpg-det --cache runs/agg-cache-bpg
    .venv/bin/python bench/heldout_curves.py --codec bpg --max-side 512 runs/agg-bpg-cls runs/agg-bpg-det

The photos are shrunk to a 512 px longer side: at 1024 px, BPG level 8 over 110 photos, 6 QPs and
5 methods took about 90 s a photo on this 2-core machine, at 512 px about 9 s (the app itself
downscales uploads to about 1280x800; bpp at 512 px is higher than at full size for the same
QP, which is why the tab shows this set's curves as their own panel). The det run reuses the cls
run's encodes through the shared cache. The classifier metrics (kl, confidence, agreement) come
from the cls run, detections kept (`detection_f1`, F1 against the detector's own boxes on the
uncompressed photo) from the det run; bpp is the same in both (checked)."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.fsutil import atomic_write_text  # noqa: E402

OUT = ROOT / "assets" / "heldout_curves.json"
#: what the app plots and tabulates
CLS_METRICS = ("kl", "confidence", "agreement", "psnr")


def commands(cfg: dict, cls_dir: Path, det_dir: Path, max_side: int) -> list:
    """The commands that made the results (from their config), for the record."""
    common = (f"--codec {cfg['codec']} --qps {','.join(map(str, cfg['qps']))} "
              f"--baselines {','.join(cfg['baselines'])}")
    data = f"runs/heldout-{max_side}"
    out = [f"python bench/heldout_set.py {data} --max-side {max_side}",
           f"python -m npp evaluate --data {data} {common} --task cls --out {cls_dir}"]
    if det_dir:
        out.append(f"python -m npp evaluate --data {data} {common} --task det --out {det_dir}")
    return out + [f"python bench/heldout_curves.py --codec {cfg['codec']} --max-side {max_side} {cls_dir} "
                  f"{det_dir or ''}".strip()]


def entry(cls_dir: Path, det_dir: Path, max_side: int) -> dict:
    cls = json.loads((cls_dir / "results.json").read_text())
    det = json.loads((det_dir / "results.json").read_text()) if det_dir else None
    cfg = cls["config"]
    curves, bd = {}, {}
    for name, c in cls["curves"].items():
        curves[name] = {"qp": c["qp"], "bpp": c["bpp"], **{m: c[m] for m in CLS_METRICS if m in c}}
        if det:
            d = det["curves"][name]
            if [round(x, 9) for x in d["bpp"]] != [round(x, 9) for x in c["bpp"]]:
                raise SystemExit(f"{name}: the cls and det runs disagree on bpp (different photos or settings?)")
            curves[name]["detection_f1"] = d["detection_f1"]
    for name in list(cls["curves"])[1:]:
        bd[name] = {m: cls["bd_rate"][m][name] for m in ("kl", "confidence") if m in cls["bd_rate"]}
        if det:
            bd[name]["detection_f1"] = det["bd_rate"]["detection_f1"][name]
    images = sorted({r["image"] for r in cls["rows"]})
    options = cfg.get("codec_options", {})
    return {
        "images": cls["images"],
        "photos": images,
        "photos_note": (f"bench/photo_sets.json's held-out set, shrunk to a {max_side} px longer side by "
                        f"bench/heldout_set.py --max-side {max_side}"),
        "max_side": max_side,
        "command": "bench/heldout_curves.py (npp evaluate on the held-out photos; commands below)",
        "commands": commands(cfg, cls_dir, det_dir, max_side),
        "codec_options": options,
        "codec_label": ", ".join(f"{k} {v}" for k, v in options.items()),
        "protocol": cfg.get("protocol", "full"),
        "qps": cfg["qps"],
        "method_keys": cfg.get("method_keys", {}),
        "curves": curves,
        "reference": {**cls["reference"], **({"detection_f1": det["reference"].get("detection_f1")} if det else {})},
        "bd_rate": bd,
        "best_baseline": cls["best_baseline"],
        "seconds": (cls.get("seconds") or 0) + ((det or {}).get("seconds") or 0),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cls_run", type=Path, help="npp evaluate --task cls output folder")
    ap.add_argument("det_run", type=Path, nargs="?", help="npp evaluate --task det output folder (same photos)")
    ap.add_argument("--codec", required=True)
    ap.add_argument("--max-side", type=int, default=512, help="the longer side the photos were shrunk to")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    e = entry(args.cls_run, args.det_run, args.max_side)
    if e["commands"][1].split("--codec ")[1].split()[0] != args.codec:
        raise SystemExit(f"{args.cls_run} is not a {args.codec} run")
    if e["protocol"] != "full":
        raise SystemExit("the app sweeps with the full protocol; evaluate with --protocol full")
    data = json.loads(args.out.read_text()) if args.out.is_file() else {}
    data.setdefault("codecs", {})[args.codec] = e
    data["about"] = ("Curves of npp evaluate on the held-out photos, shown by the app's Curves tab beside one "
                     "photo's curve; made by bench/heldout_curves.py (its docstring has the commands).")
    data.setdefault("made", {})[args.codec] = {"date": time.strftime("%Y-%m-%d"), "checkout": _git_head()}
    atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
    print(f"{args.out}: {args.codec}, {e['images']} photos, methods {', '.join(e['curves'])}")
    return 0


def _git_head() -> str:
    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    return r.stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
