"""Pictures that explain a result: detections drawn on an image, error maps of what a method
and the codec lost, rate-accuracy plots with QP-labelled points, and a training run's live
curves. Every method keeps one colour everywhere (`method_colour`), so a reader can follow it
from the table to the panels and the plots."""
from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Iterable, List, Mapping, Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
            (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]

#: one colour per kind of method (matplotlib's tab10 hues): plain grey, NPP red, baselines cool;
#: the uncompressed photo (the reference) near black
_KIND_COLOURS = {"uncompressed": "#111111", "plain": "#7f7f7f", "npp": "#d62728", "resize": "#1f77b4",
                 "blur": "#2ca02c", "down": "#9467bd"}
_OTHER_COLOURS = ["#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e"]


def method_colour(name: str) -> str:
    """The colour of a method (by its kind: `blur:1.5` is a blur) in tables, panels and plots;
    a second method of the same kind (`blur:1.0` and `blur:2.0`) gets a shade of its own."""
    kind, _, value = name.partition(":")
    kind = kind.split("[")[0]
    base = _KIND_COLOURS.get(kind)
    if base is None:
        return _OTHER_COLOURS[zlib.crc32(name.encode()) % len(_OTHER_COLOURS)]
    if not value or kind == "plain":
        return base
    shade = (zlib.crc32(value.encode()) % 5 - 2) * 0.12  # -0.24 .. +0.24
    rgb = [int(base[i:i + 2], 16) for i in (1, 3, 5)]
    rgb = [round(c + (255 - c) * shade) if shade > 0 else round(c * (1 + shade)) for c in rgb]
    return "#" + "".join(f"{max(0, min(255, c)):02x}" for c in rgb)


def caption_font_size(height: int, width: int) -> int:
    """Detection captions stay legible when the image is shown at a fraction of its size."""
    return max(14, round(min(height, width) / 22))


def draw_detections(rgb: np.ndarray, detections: Iterable[Mapping], width: int | None = None) -> np.ndarray:
    """Boxes with `label score` captions over a copy of `rgb` (boxes in its pixels). Captions
    sit above a box, or inside it when the box touches the top, never leave the image (none
    hides at an edge) and never cover another caption; text is black or white, whichever reads
    on the box's colour."""
    img = Image.fromarray(np.ascontiguousarray(rgb))
    draw = ImageDraw.Draw(img)
    w, h = img.size
    lw = width or max(2, round(min(w, h) / 200))
    font = ImageFont.load_default(size=caption_font_size(h, w))
    colours: dict = {}
    placed: List[tuple] = []  # captions drawn so far: a new one moves down until it overlaps none
    for det in detections:
        label = str(det["label"])
        colour = colours.setdefault(label, _PALETTE[len(colours) % len(_PALETTE)])
        x0, y0, x1, y1 = (float(v) for v in det["box"])
        x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(w - 1.0, x1), min(h - 1.0, y1)
        draw.rectangle([x0, y0, x1, y1], outline=colour, width=lw)
        caption = f"{label} {float(det['score']):.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), caption, font=font)
        tw, th = right - left + 6, bottom - top + 4
        tx = min(max(0.0, x0), max(0.0, w - tw))
        ty = y0 - th if y0 >= th else min(y0 + lw, max(0.0, h - th))
        while any(tx < a1 and a0 < tx + tw and ty < b1 and b0 < ty + th for a0, b0, a1, b1 in placed) \
                and ty + 2 * th <= h:
            ty += th
        placed.append((tx, ty, tx + tw, ty + th))
        draw.rectangle([tx, ty, tx + tw, ty + th], fill=colour)
        ink = (0, 0, 0) if sum(c * k for c, k in zip(colour, (0.299, 0.587, 0.114))) > 140 else (255, 255, 255)
        draw.text((tx + 3 - left, ty + 2 - top), caption, fill=ink, font=font)
    return np.asarray(img)


def _inferno() -> np.ndarray:
    import matplotlib

    return (matplotlib.colormaps["inferno"](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


_LUT: Optional[np.ndarray] = None


def error_map(original: np.ndarray, decoded: np.ndarray, gain: float = 4.0) -> np.ndarray:
    """|decoded - original| (the largest of the three channels) times `gain`, as a heat
    colour: black where nothing was lost, bright where the method and the codec lost most.
    `gain` makes the codec's own damage at ordinary QPs visible."""
    global _LUT
    if original.shape != decoded.shape:
        raise ValueError(f"shapes differ: {original.shape} vs {decoded.shape}")
    if _LUT is None:
        _LUT = _inferno()
    diff = np.abs(original.astype(np.int16) - decoded.astype(np.int16)).max(axis=2)
    return _LUT[np.clip(np.round(diff * gain), 0, 255).astype(np.uint8)]


def write_pngs(images: Mapping[str, Optional[np.ndarray]], folder: Path) -> dict:
    """Write images for display as fast PNGs (zlib level 1, in parallel: zlib releases the GIL),
    lossless so that coded images are shown exactly as decoded. {name: path or None}."""
    from concurrent.futures import ThreadPoolExecutor

    def one(item):
        name, rgb = item
        if rgb is None:
            return name, None
        path = Path(folder) / f"{name}.png"
        Image.fromarray(np.ascontiguousarray(rgb)).save(path, format="PNG", compress_level=1)
        return name, str(path)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, images.items()))


# -- plots --------------------------------------------------------------------------------------
#: what each metric's axis says
AXIS = {"kl": "KL to uncompressed (nats, lower = closer)", "detection_f1": "detections kept (F1, higher = more)",
        "confidence": "confidence in the uncompressed top-1", "psnr": "PSNR (dB)"}
#: the uncompressed photo's own value, where it is the same for every photo
UNCOMPRESSED = {"kl": 0.0, "detection_f1": 1.0}


class Panel:
    """One rate-accuracy plot: `curves` {method: {"qp", "bpp", metric}} of one metric."""

    def __init__(self, title: str, curves: Mapping[str, Mapping], metric: str,
                 baselines: Sequence[str] = (), reference: Optional[float] = None) -> None:
        self.title, self.curves, self.metric = title, curves, metric
        self.baselines = set(baselines)
        self.reference = UNCOMPRESSED.get(metric) if reference is None else reference


def plot_panels(panels: Sequence[Panel], path: Path, columns: int = 1, panel_size=(6.4, 4.0), dpi: int = 100) -> Path:
    """Write the panels to one PNG: a line per method in its colour with each point labelled
    by its QP, uniform baselines dashed, the uncompressed photo's value dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(panel_size[0] * columns, panel_size[1] * rows), dpi=dpi,
                             squeeze=False)
    try:
        for ax, p in zip(axes.flat, panels):
            for name, c in p.curves.items():
                pts = [(x, y, q) for x, y, q in zip(c["bpp"], c.get(p.metric, []), c["qp"])
                       if _num(x) and _num(y)]
                if not pts:
                    continue
                colour = method_colour(name)
                baseline = name in p.baselines
                style = dict(marker="s", ms=4, lw=1.4, ls="--") if baseline else dict(marker="o", ms=5, lw=2.2)
                ax.plot([x for x, _, _ in pts], [y for _, y, _ in pts], color=colour, label=name, **style)
                for x, y, q in pts:
                    ax.annotate(str(q), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=8, color=colour)
            if p.reference is not None:
                ax.axhline(p.reference, color="#222222", ls=":", lw=1.5, label="uncompressed")
            ax.set_title(p.title, fontsize=11)
            ax.set_xlabel("bits per pixel (bpp)")
            ax.set_ylabel(AXIS.get(p.metric, p.metric))
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8, loc="best")
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return Path(path)


def plot_training(records: Sequence[Mapping], path: Path, steps: Optional[int] = None) -> Path:
    """A training run's live curves from its `log.jsonl` records: the bits NPP saves against
    the plain codec on the same crops, and the classifier's KL with and without NPP (both
    logged every few steps), or the loss for runs that log neither (a proxy fit). Steps are
    whole numbers on the axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    saved = [(r["step"], r["bpp_saved_pct"]) for r in records if _num(r.get("bpp_saved_pct"))]
    kl = [(r["step"], r["d_machine"], r["plain_d_machine"]) for r in records
          if _num(r.get("d_machine")) and _num(r.get("plain_d_machine"))]
    loss = [(r["step"], r["loss"]) for r in records if _num(r.get("loss"))]
    panels: List[tuple] = []
    if saved or kl:
        panels = [("bits saved vs plain codec (%)", [("NPP", saved, "#d62728", "-")]),
                  ("KL to uncompressed (training crops)",
                   [("NPP + codec", [(s, a) for s, a, _ in kl], "#d62728", "-"),
                    ("plain codec", [(s, b) for s, _, b in kl], method_colour("plain"), "--")])]
    else:
        panels = [("loss", [("loss", loss, "#1f77b4", "-")])]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.0), dpi=100, squeeze=False)
    try:
        for ax, (title, lines) in zip(axes.flat, panels):
            for label, pts, colour, ls in lines:
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colour, ls=ls, marker=".", label=label)
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("step")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if steps:
                ax.set_xlim(0, steps)
            ax.grid(True, alpha=0.3)
            if len(lines) > 1:
                ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return Path(path)


def _num(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
