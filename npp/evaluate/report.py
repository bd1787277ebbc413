"""From per-image rows to what a user reads: aggregate curves, BD-rates with bootstrap
intervals, `results.json`, `results.csv`, and the one-object `--json` summary."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from npp.evaluate.bdrate import bd_rate, bootstrap_bd_rate, pooled_curve
from npp.fsutil import atomic_write_text

#: +1 when higher is better, -1 when lower is better (KL divergence)
DIRECTION = {"psnr": 1, "msssim": 1, "kl": -1, "agreement": 1, "top1": 1, "top5": 1, "map": 1, "map50": 1}
#: metrics that are a mean of per-image values (bootstrap intervals apply)
PER_IMAGE = ("psnr", "msssim", "kl", "agreement", "top1", "top5")
CSV_COLUMNS = ("image", "branch", "qp", "width", "height", "bits", "bpp", "psnr", "msssim", "kl",
               "agreement", "pred", "label", "top1", "top5", "detections", "encode_ms", "cached")
BOOTSTRAP_SAMPLES = 200


def headline_metric(config: dict) -> str:
    """The task metric of the summary: top1 with labels, map for detection, else agreement."""
    if config["task"] == "det":
        return "map"
    return "top1" if config.get("labels") else "agreement"


def _finite(x: float) -> Optional[float]:
    return float(x) if x is not None and math.isfinite(x) else None


def jsonable(obj: object) -> object:
    """NaN and infinities become null (JSON has neither)."""
    if isinstance(obj, float):
        return _finite(obj)
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    return obj


def sort_rows(rows: Sequence[dict], config: dict) -> List[dict]:
    order = {name: i for i, name in enumerate(["reference"] + list(config["branches"]))}
    return sorted(rows, key=lambda r: (r["image"], order.get(r["branch"], len(order)), r["qp"] or 0))


def _matrix(rows: Sequence[dict], images: List[str], qps: List[int], field: str) -> np.ndarray:
    """(images x QPs) array of one row field, NaN where missing."""
    at = {(r["image"], r["qp"]): r.get(field) for r in rows}
    return np.array([[np.nan if at.get((im, qp)) is None else at[(im, qp)] for qp in qps] for im in images],
                    dtype=np.float64)


def build_results(config: dict, rows: Sequence[dict], seconds: Optional[float] = None) -> dict:
    """Aggregate rows into curves and BD-rates. Deterministic in the rows (whatever their
    order), so merged shards give exactly what one run gives."""
    from npp.evaluate.detection import detection_curves

    rows = sort_rows(rows, config)
    metric = headline_metric(config)
    qps = list(config["qps"])
    images = sorted({r["image"] for r in rows})
    metrics = ["psnr", "msssim"] + (["map", "map50"] if config["task"] == "det" else
                                    ["kl", "agreement"] + (["top1", "top5"] if config.get("labels") else []))
    by_branch: Dict[str, List[dict]] = {}
    for r in rows:
        by_branch.setdefault(r["branch"], []).append(r)
    reference = {"images": len(images)}
    ref_rows = by_branch.get("reference", [])
    for m in ("top1", "top5"):
        if config.get("labels") and ref_rows:
            reference[m] = float(np.mean([r[m] for r in ref_rows]))
    det = detection_curves(config, by_branch, images) if config["task"] == "det" else {}

    curves: Dict[str, dict] = {}
    mats: Dict[str, dict] = {}
    for name in config["branches"]:
        brows = by_branch.get(name, [])
        m = {f: _matrix(brows, images, qps, f) for f in ("bits", "pixels") + PER_IMAGE}
        mats[name] = m
        bpp, _ = pooled_curve(m["bits"], m["pixels"], m["psnr"])
        curve = {"qp": qps, "bpp": bpp.tolist()}
        for f in metrics:
            curve[f] = det[name][f] if f in det.get(name, {}) else np.mean(m[f], axis=0).tolist()
        curves[name] = curve

    plain = config["branches"][0]
    bd: Dict[str, dict] = {}
    for f in metrics:
        bd[f] = {}
        for name in config["branches"][1:]:
            bd[f][name] = _bd(curves, mats, plain, name, f)
    baselines = [b for b in config["branches"] if b.split("+")[0].startswith(("blur", "down"))]
    npp = next((b for b in config["branches"] if b.startswith("npp+")), None)
    best = None  # the baseline with the lowest BD-rate on the summary metric
    scored = [(bd[metric][b]["value"], b) for b in baselines if _finite(bd[metric][b]["value"]) is not None]
    if scored:
        best = min(scored)[1]
    vs_best = {f: _bd(curves, mats, best, npp, f) for f in metrics} if (best and npp) else {}
    return {
        "config": config,
        "metric": metric,
        "images": len(images),
        "seconds": seconds,
        "reference": reference,
        "curves": curves,
        "bd_rate": bd,
        "best_baseline": best,
        "npp_vs_best_baseline": vs_best,
        "bd_rate_fit": "bjontegaard pchip on log10(bpp) vs quality, operational upper envelope",
        "rows": rows,
    }


def _bd(curves: dict, mats: dict, anchor: str, test: str, f: str) -> dict:
    sign = DIRECTION[f]
    ca, ct = curves[anchor], curves[test]
    value = bd_rate(ca["bpp"], sign * np.asarray(ca[f], dtype=float), ct["bpp"], sign * np.asarray(ct[f], dtype=float))
    ci = [float("nan"), float("nan")]
    if f in PER_IMAGE:
        a, t = mats[anchor], mats[test]
        ci = list(bootstrap_bd_rate((a["bits"], a["pixels"], sign * a[f]), (t["bits"], t["pixels"], sign * t[f]),
                                    samples=BOOTSTRAP_SAMPLES))
    return {"value": value, "ci95": ci}


def summary(results: dict) -> dict:
    """The `--json` summary: codec, task, metric, curves (qp, bpp, psnr, metric) and the
    BD-rate of each branch against the plain codec on the task metric."""
    cfg, metric = results["config"], results["metric"]
    curves = {name: {"qp": c["qp"], "bpp": c["bpp"], "psnr": c["psnr"], metric: c[metric]}
              for name, c in results["curves"].items()}
    bd = {name: v["value"] for name, v in results["bd_rate"][metric].items()}
    return jsonable({"codec": cfg["codec"], "task": cfg["task"], "metric": metric, "curves": curves, "bd_rate": bd})


def rows_csv(rows: Sequence[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        row = dict(r)
        if "detections" in row:
            row["detections"] = len(row["detections"])
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def write_results(out: Path, results: dict, plot: bool = True) -> None:
    """results.json, results.csv and (unless `plot` is False) curves.png, each atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "results.json", json.dumps(jsonable(results), indent=1) + "\n")
    atomic_write_text(out / "results.csv", rows_csv(results["rows"]))
    if plot:
        from npp.evaluate.plot import plot_curves

        plot_curves(results, out / "curves.png")
