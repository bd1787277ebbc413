"""Pictures that explain a result: detections drawn on an image, and an amplified
difference showing what a pre-filter removed."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Optional

import numpy as np
from PIL import Image, ImageDraw

_PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
            (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]


def draw_detections(rgb: np.ndarray, detections: Iterable[Mapping], width: int | None = None) -> np.ndarray:
    """Boxes with `label score` captions over a copy of `rgb` (boxes in its pixels)."""
    img = Image.fromarray(np.ascontiguousarray(rgb))
    draw = ImageDraw.Draw(img)
    lw = width or max(2, round(min(img.size) / 200))
    colours: dict = {}
    for det in detections:
        label = str(det["label"])
        colour = colours.setdefault(label, _PALETTE[len(colours) % len(_PALETTE)])
        x0, y0, x1, y1 = (float(v) for v in det["box"])
        draw.rectangle([x0, y0, x1, y1], outline=colour, width=lw)
        caption = f"{label} {float(det['score']):.2f}"
        tx0, ty0, tx1, ty1 = draw.textbbox((x0, y0), caption)
        th = ty1 - ty0
        ty = y0 - th - 2 if y0 >= th + 2 else y0 + lw  # above the box, or inside it at the top edge
        draw.rectangle([x0, ty, x0 + (tx1 - tx0) + 4, ty + th + 2], fill=colour)
        draw.text((x0 + 2, ty), caption, fill=(0, 0, 0))
    return np.asarray(img)


def amplified_difference(original: np.ndarray, filtered: np.ndarray, gain: float = 4.0) -> np.ndarray:
    """Mid-grey where nothing changed; brighter/darker where the filter removed/added signal,
    multiplied by `gain` so that subtle smoothing becomes visible."""
    if original.shape != filtered.shape:
        raise ValueError(f"shapes differ: {original.shape} vs {filtered.shape}")
    diff = original.astype(np.float32) - filtered.astype(np.float32)
    return np.clip(np.round(128.0 + gain * diff), 0, 255).astype(np.uint8)


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
