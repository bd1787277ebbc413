"""Markdown tables of an `npp evaluate` results.json, for the docs: the curves (bpp, PSNR,
KL, agreement/accuracy per QP) and the BD-rates against the plain codec with their 95%
bootstrap intervals.

    .venv/bin/python bench/results_table.py OUT/results.json"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def fmt(v: object, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def bd_cell(entry: dict) -> str:
    lo, hi = entry["ci95"]
    if entry["value"] is None:
        return "n/a"
    ci = f" [{lo:+.0f}, {hi:+.0f}]" if lo is not None and hi is not None else ""
    return f"{entry['value']:+.1f}%{ci}"


def main(path: str) -> int:
    res = json.loads(Path(path).read_text())
    task_metrics = [m for m in ("top1", "agreement", "kl", "map", "map50") if m in next(iter(res["curves"].values()))]
    print(f"{res['images']} photos, codec {res['config']['codec']} {res['config']['codec_options'] or ''}, "
          f"model {res['config'].get('model')}\n")
    print(f"protocol: {res['config'].get('protocol', 'full')}\n")
    print("| method | QP | bpp | PSNR (dB) | MS-SSIM | " + " | ".join(task_metrics) + " |")
    print("|---|---|---|---|---|" + "---|" * len(task_metrics))
    for name, c in res["curves"].items():
        for i, qp in enumerate(c["qp"]):
            cells = [fmt(c[m][i], ".3f") for m in task_metrics]
            print(f"| {name} | {qp} | {fmt(c['bpp'][i], '.3f')} | {fmt(c['psnr'][i], '.2f')} | "
                  f"{fmt(c.get('msssim', [None] * len(c['qp']))[i], '.4f')} | " + " | ".join(cells) + " |")
    metrics = [m for m in ("kl", "agreement", "top1", "map", "psnr", "msssim") if m in res["bd_rate"]]
    print("\nBD-rate against the plain codec (95% bootstrap interval over photos):\n")
    print("| method | " + " | ".join(metrics) + " |")
    print("|---|" + "---|" * len(metrics))
    for name in list(res["curves"])[1:]:
        print(f"| {name} | " + " | ".join(bd_cell(res["bd_rate"][m][name]) for m in metrics) + " |")
    for name, vs in res.get("vs_best_baseline", {}).items():
        print(f"| {name} vs {res['best_baseline']} | " + " | ".join(bd_cell(vs[m]) for m in metrics) + " |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
