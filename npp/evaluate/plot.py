"""`curves.png`: rate-accuracy curves in the style of the paper's figures (task metric
and PSNR against bpp, one line with markers per branch, the uncompressed reference as a
dashed line)."""
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
        for name, c in results["curves"].items():
            style = dict(marker="o", lw=2.0) if not name.startswith(("blur", "down")) else dict(marker=".", lw=1.0, ls="--")
            ax.plot(c["bpp"], c[f], label=name, **style)
        ref = results["reference"].get(f)
        if ref is not None:
            ax.axhline(ref, color="grey", ls=":", lw=1.2, label="uncompressed")
        ax.set_xlabel("bpp")
        ax.set_ylabel(LABELS.get(f, f))
        ax.grid(True, alpha=0.3)
        if f == "kl":
            ax.set_yscale("log")
    bd = results["bd_rate"].get(metric, {})
    npp = next((n for n in bd if n.startswith("npp+")), None)
    title = f"{results['config']['codec']} · {results['images']} images · {metric}"
    if npp and bd[npp]["value"] is not None and math.isfinite(bd[npp]["value"]):
        title += f" · BD-rate {npp}: {bd[npp]['value']:+.1f}%"
    fig.suptitle(title)
    axes[0].legend(fontsize=8)
    fig.tight_layout()

    def write(tmp: str) -> None:
        fig.savefig(tmp, format="png")

    try:
        atomic_write(path, write)
    finally:
        plt.close(fig)
