"""`curves.png`: rate-accuracy curves in the style of the paper's figures (task metric
and PSNR against bpp, one line with QP-labelled markers per method, uniform baselines dashed,
the uncompressed reference dotted)."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from npp.fsutil import atomic_write  # noqa: E402

LABELS = {"top1": "Top-1 accuracy", "top5": "Top-5 accuracy", "agreement": "Top-1 agreement with uncompressed",
          "kl": "KL divergence to uncompressed (nats)", "map": "mAP@[.5:.95]", "map50": "mAP@.5",
          "psnr": "PSNR (dB)", "msssim": "MS-SSIM"}


def plot_curves(results: dict, path: Path) -> None:
    """Write the task-metric and PSNR curves of every branch to a PNG, atomically."""
    metric = results["metric"]
    panels = [metric, "psnr"] + (["kl"] if metric in ("top1", "agreement") else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), dpi=110)
    for ax, f in zip(axes, panels):
        baselines = set(results["config"].get("baselines", []))
        for name, c in results["curves"].items():
            style = dict(marker=".", lw=1.0, ls="--") if name in baselines else dict(marker="o", lw=2.0)
            (line,) = ax.plot(c["bpp"], c[f], label=name, **style)
            for x, y, qp in zip(c["bpp"], c[f], c["qp"]):
                if x is not None and y is not None and math.isfinite(x) and math.isfinite(y):
                    ax.annotate(str(qp), (x, y), xytext=(3, 3), textcoords="offset points", fontsize=6,
                                color=line.get_color())
        ref = results["reference"].get(f)
        if ref is not None:
            ax.axhline(ref, color="grey", ls=":", lw=1.2, label="uncompressed")
        ax.set_xlabel("bpp")
        ax.set_ylabel(LABELS.get(f, f))
        ax.grid(True, alpha=0.3)
        if f == "kl":
            ax.set_yscale("log")
    bd = results["bd_rate"].get(metric, {})
    cfg = results["config"]
    title = f"{cfg['codec']} · {cfg.get('protocol', 'full')} protocol · {results['images']} images · {metric}"
    if "npp" in bd and bd["npp"]["value"] is not None and math.isfinite(bd["npp"]["value"]):
        title += f" · BD-rate npp: {bd['npp']['value']:+.1f}%"
    fig.suptitle(title)
    axes[0].legend(fontsize=8)
    fig.tight_layout()

    def write(tmp: str) -> None:
        fig.savefig(tmp, format="png")

    try:
        atomic_write(path, write)
    finally:
        plt.close(fig)
