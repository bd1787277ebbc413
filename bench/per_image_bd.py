"""Per-image BD-rates of an `npp evaluate` run: for every photo, each method's BD-rate against
the run's anchor (`plain`) on that photo's own curve; then, over photos, their median and the
2.5-97.5 percentile range, and how many photos had no common quality range. The pooled curves
and their bootstrap interval say how the set behaves on average; this says how much photos
differ (one photo in the app is one draw from this spread).

Usage: .venv/bin/python bench/per_image_bd.py RUN_DIR [RUN_DIR...] [--metric kl] [--out JSON]
Prints one line per run and method; writes the figures to --out (default: print only)."""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.evaluate.bdrate import bd_rate  # noqa: E402
from npp.evaluate.report import DIRECTION  # noqa: E402
from npp.fsutil import atomic_write_text  # noqa: E402


def per_image(results: dict, metric: str) -> dict:
    """{method: {"median", "p2_5", "p97_5", "images", "no_overlap"}} against the first method."""
    methods = results["config"]["methods"]
    anchor, sign = methods[0], DIRECTION[metric]
    curves = defaultdict(lambda: defaultdict(list))  # method -> image -> [(qp, bpp, quality)]
    for r in results["rows"]:
        if r["method"] in methods and r.get(metric) is not None and r.get("bpp") is not None:
            curves[r["method"]][r["image"]].append((r["qp"], r["bpp"], sign * r[metric]))
    out = {}
    for m in methods[1:]:
        values, missing = [], 0
        for image, pts in curves[m].items():
            ref = sorted(curves[anchor].get(image, []))
            pts = sorted(pts)
            v = bd_rate([p[1] for p in ref], [p[2] for p in ref], [p[1] for p in pts], [p[2] for p in pts])
            if np.isfinite(v):
                values.append(v)
            else:
                missing += 1
        if values:
            lo, med, hi = np.percentile(values, [2.5, 50, 97.5])
            out[m] = {"median": round(float(med), 2), "p2_5": round(float(lo), 2), "p97_5": round(float(hi), 2),
                      "share_negative": round(float(np.mean(np.asarray(values) < 0)), 3),
                      "images": len(values), "no_overlap": missing}
        else:
            out[m] = {"images": 0, "no_overlap": missing}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="npp evaluate output folders (results.json)")
    ap.add_argument("--metric", default="kl")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    report = {}
    for run in args.runs:
        results = json.loads((run / "results.json").read_text())
        figures = per_image(results, args.metric)
        cfg = results["config"]
        report[str(run)] = {"protocol": cfg.get("protocol", "full"), "model": cfg.get("model"),
                            "codec": cfg["codec"], "metric": args.metric, "anchor": cfg["methods"][0],
                            "methods": figures}
        for m, f in figures.items():
            if f["images"]:
                print(f"{run.name}: {m}: median {f['median']:+.1f}% [{f['p2_5']:+.1f}, {f['p97_5']:+.1f}] over "
                      f"{f['images']} photos ({100 * f['share_negative']:.0f}% negative; {f['no_overlap']} without overlap)")
            else:
                print(f"{run.name}: {m}: no photo with a common {args.metric} range")
    if args.out:
        atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
