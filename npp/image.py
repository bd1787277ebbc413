"""Reading any Pillow-readable image as 8-bit RGB, and writing PNGs.

Every entry point (CLI, app, training data) goes through `load_rgb` so that the same
photo gives the same pixels everywhere: EXIF orientation applied, alpha composited on
white, grayscale/palette/CMYK/16-bit converted to 8-bit RGB.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps

from npp.errors import NppError

#: Largest accepted image, in pixels (about 8K x 4K). Larger ones are refused, not
#: half-read; the app downscales uploads above its own, smaller limit instead.
MAX_PIXELS = 40_000_000
#: Pillow refuses anything this large outright (decompression-bomb guard).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

Source = Union[str, os.PathLike, bytes, BinaryIO]
#: File name endings of the images a folder input stands for (CLI, evaluation, training, uploads).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif"})


def to_rgb(img: Image.Image) -> np.ndarray:
    """Convert a Pillow image of any mode to an HxWx3 uint8 array (orientation applied)."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if a.max() > 255 else 255.0
        a = np.clip(np.round(a * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    if img.mode == "F":
        a = np.asarray(img, dtype=np.float64)
        top = 1.0 if a.max() <= 1.0 else 255.0
        a = np.clip(np.round(a * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def load_rgb(source: Source, name: str | None = None) -> np.ndarray:
    """Read an image file (path, bytes or file object) as HxWx3 uint8 RGB.

    Raises NppError with a one-line reason for anything that is not a readable image."""
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "input")
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise NppError(f"{label}: no such file")
    try:
        with Image.open(source) as img:
            if img.width * img.height > MAX_PIXELS:
                raise NppError(
                    f"{label}: {img.width}x{img.height} is larger than the {MAX_PIXELS:,}-pixel limit"
                )
            img.load()
            rgb = to_rgb(img)
    except NppError:
        raise
    except Image.DecompressionBombError:
        raise NppError(f"{label}: image is larger than the {MAX_PIXELS:,}-pixel limit") from None
    except Exception as exc:  # Pillow raises many types for unreadable data
        raise NppError(f"{label}: not a readable image ({type(exc).__name__}: {exc})") from None
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise NppError(f"{label}: empty image")
    return rgb


def resize_shorter_side(rgb: np.ndarray, side: int, resample: int = Image.BILINEAR,
                        enlarge: bool = True) -> np.ndarray:
    """`rgb` scaled (Pillow, antialiased) so its shorter side is `side` px; a smaller image is
    enlarged only with `enlarge`, else returned as it is."""
    h, w = rgb.shape[:2]
    if min(h, w) == side or (min(h, w) < side and not enlarge):
        return rgb
    scale = side / min(h, w)
    size = (max(side, round(w * scale)), max(side, round(h * scale)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize(size, resample))


def save_png(rgb: np.ndarray, path: Union[str, os.PathLike]) -> None:
    """Write an HxWx3 uint8 array as PNG atomically (temp file in the same folder, then rename)."""
    from npp.fsutil import atomic_write_bytes

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
