"""Photo-folder training data: random crops with random rescaling and flips.

Photos are decoded once and kept in memory, downscaled so their shorter side is at most
`max_side` (multi-megapixel photos are otherwise mostly flat texture at crop size). Every
batch is a pure function of (seed, step, rank), so a resumed run sees exactly the batches
an uninterrupted one would have seen, with no sampler state to save.

`degrade=True` adds what everyday photos carry and clean wallpaper-grade photos do not:
sensor-like Gaussian noise (sigma 0-4 grey levels) and, on most crops, a JPEG round trip
(quality 60-95). The degraded crop is then the input NPP and the teacher both see. Without
it, NPP trained on the smooth mate-backgrounds photos learns nothing about removing the
noise and compression texture that dominate the bits of typical photos."""
from __future__ import annotations

import io
from pathlib import Path
from typing import List, Sequence

import numpy as np
from PIL import Image

from npp.errors import NppError
from npp.image import IMAGE_SUFFIXES, load_rgb


def list_photos(folder: str | Path) -> List[Path]:
    """Image files in `folder` (sorted); NppError if it is missing or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NppError(f"{folder}: no such data folder")
    files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise NppError(f"{folder}: data folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


class PhotoCrops:
    def __init__(self, folder: str | Path, crop: int = 256, max_side: int = 768, min_scale: float = 0.5,
                 degrade: bool = False) -> None:
        self.files = list_photos(folder)
        self.degrade = bool(degrade)
        self.crop = int(crop)
        self.min_scale = float(min_scale)
        self.photos: List[np.ndarray] = []
        for f in self.files:
            try:
                rgb = load_rgb(f)
            except NppError as exc:
                raise NppError(f"{f}: not a usable training image ({exc})") from None
            self.photos.append(_shrink(rgb, max_side))
        small = [f.name for f, p in zip(self.files, self.photos) if min(p.shape[:2]) < self.crop]
        if small:
            raise NppError(f"photos smaller than the {self.crop}px crop: {', '.join(small)} (use a smaller --crop)")

    def batch(self, seed: int, step: int, rank: int, size: int) -> np.ndarray:
        """BxCxHxW float32 in [0, 1]: `size` random crops for this (seed, step, rank)."""
        rng = np.random.default_rng([seed, step, rank])
        noise_rng = np.random.default_rng([seed, step, rank, 1])  # apart, so crops match a clean run's
        out = np.empty((size, 3, self.crop, self.crop), np.float32)
        for i in range(size):
            rgb = self.photos[rng.integers(len(self.photos))]
            h, w = rgb.shape[:2]
            scale = rng.uniform(self.min_scale, 1.0)
            side = min(h, w, max(self.crop, int(round(self.crop / scale))))
            y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
            patch = rgb[y : y + side, x : x + side]
            if side != self.crop:
                patch = np.asarray(Image.fromarray(patch).resize((self.crop, self.crop), Image.BICUBIC))
            if rng.random() < 0.5:
                patch = patch[:, ::-1]
            if self.degrade:
                patch = _degrade(np.ascontiguousarray(patch), noise_rng)
            out[i] = patch.transpose(2, 0, 1) / 255.0
        return out


def _degrade(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise (sigma 0-4 grey levels), then a JPEG round trip (quality 60-95) on 80% of crops."""
    noisy = patch + rng.normal(0.0, rng.uniform(0.0, 4.0), patch.shape)
    patch = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    if rng.random() < 0.8:
        buf = io.BytesIO()
        Image.fromarray(patch).save(buf, format="JPEG", quality=int(rng.integers(60, 96)))
        with Image.open(buf) as im:
            patch = np.asarray(im.convert("RGB"))
    return patch


def _shrink(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = max_side / min(h, w)
    if s >= 1:
        return rgb
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))


def sample_choice(values: Sequence, seed: int, step: int, rank: int, salt: int, size: int) -> list:
    """`size` values drawn from `values` for this (seed, step, rank)."""
    rng = np.random.default_rng([seed, step, rank, salt])
    return [values[i] for i in rng.integers(len(values), size=size)]
