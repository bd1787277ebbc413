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
from npp.evaluate.protocol import REFERENCE
from npp.fsutil import atomic_write_text

#: +1 when higher is better, -1 when lower is better (KL divergence)
DIRECTION = {"psnr": 1, "msssim": 1, "kl": -1, "agreement": 1, "confidence": 1, "top1": 1, "top5": 1,
             "detection_f1": 1, "map": 1, "map50": 1}
#: metrics that are a mean of per-image values (bootstrap intervals apply)
PER_IMAGE = ("psnr", "msssim", "kl", "agreement", "confidence", "top1", "top5", "detection_f1")
CSV_COLUMNS = ("image", "method", "qp", "width", "height", "bits", "bpp", "psnr", "msssim", "kl",
               "agreement", "confidence", "pred", "label", "top1", "top5", "detections", "detection_f1",
               "encode_ms", "cached")
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
    order = {name: i for i, name in enumerate([REFERENCE] + list(config["methods"]))}
    return sorted(rows, key=lambda r: (r["image"], order.get(r["method"], len(order)), r["qp"] or 0))


def metric_names(config: dict) -> List[str]:
    """The metrics a results object has curves for, from what the sweep measured."""
    tasks = config.get("tasks", [config["task"]])
    out = ["psnr"] + (["msssim"] if config.get("msssim", True) else [])
    if "cls" in tasks:
        out += ["kl", "agreement", "confidence"] + (["top1", "top5"] if config.get("labels") else [])
    if "det" in tasks:
        out += ["detection_f1"] + (["map", "map50"] if config["task"] == "det" else [])
    return out


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
    metrics = metric_names(config)
    by_method: Dict[str, List[dict]] = {}
    for r in rows:
        by_method.setdefault(r["method"], []).append(r)
    reference = {"images": len(images)}
    ref_rows = by_method.get(REFERENCE, [])
    for m in ("top1", "top5"):
        if config.get("labels") and ref_rows:
            reference[m] = float(np.mean([r[m] for r in ref_rows]))
    for m in ("agreement", "confidence", "detection_f1"):
        if m in metrics and ref_rows:
            reference[m] = float(np.mean([r[m] for r in ref_rows]))
    det = detection_curves(config, by_method, images) if "map" in metrics else {}

    curves: Dict[str, dict] = {}
    mats: Dict[str, dict] = {}
    for name in config["methods"]:
        mrows = by_method.get(name, [])
        m = {f: _matrix(mrows, images, qps, f) for f in ("bits", "pixels") + PER_IMAGE}
        mats[name] = m
        bpp, _ = pooled_curve(m["bits"], m["pixels"], m["psnr"])
        curve = {"qp": qps, "bpp": bpp.tolist()}
        for f in metrics:
            curve[f] = det[name][f] if f in det.get(name, {}) else np.mean(m[f], axis=0).tolist()
        curves[name] = curve

    anchor = config["methods"][0]
    bd: Dict[str, dict] = {}
    for f in metrics:
        bd[f] = {}
        for name in config["methods"][1:]:
            bd[f][name] = _bd(curves, mats, anchor, name, f)
    baselines = [b for b in config["methods"] if b in config.get("baselines", [])]
    best = None  # the baseline with the lowest BD-rate on the summary metric
    scored = [(bd[metric][b]["value"], b) for b in baselines if _finite(bd[metric][b]["value"]) is not None]
    if scored:
        best = min(scored)[1]
    others = [m for m in config["methods"][1:] if m not in baselines]
    vs_best = {name: {f: _bd(curves, mats, best, name, f) for f in metrics} for name in others} if best else {}
    return {
        "config": config,
        "metric": metric,
        "images": len(images),
        "seconds": seconds,
        "reference": reference,
        "curves": curves,
        "bd_rate": bd,
        "best_baseline": best,
        "vs_best_baseline": vs_best,
        "npp_vs_best_baseline": vs_best.get("npp", {}),
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
    """The `--json` summary: codec, task, protocol, metric, curves per method (qp, bpp, psnr,
    metric) and the BD-rate of each method against the first (the plain codec) on the task
    metric; methods are keyed by their names (`plain`, `npp`, `blur:1.0`, ...)."""
    cfg, metric = results["config"], results["metric"]
    curves = {name: {"qp": c["qp"], "bpp": c["bpp"], "psnr": c["psnr"], metric: c[metric]}
              for name, c in results["curves"].items()}
    bd = {name: v["value"] for name, v in results["bd_rate"][metric].items()}
    return jsonable({"codec": cfg["codec"], "task": cfg["task"], "protocol": cfg.get("protocol", "full"),
                     "metric": metric, "curves": curves, "bd_rate": bd, "best_baseline": results["best_baseline"]})


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
