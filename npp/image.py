"""Reading any Pillow-readable image as 8-bit RGB, and writing PNGs.

Every entry point (CLI, app, training data) goes through `load_rgb` so that the same
photo gives the same pixels everywhere: EXIF orientation applied, alpha composited on
white, every mode Pillow opens converted to 8-bit RGB by a fixed rule (`to_rgb`), or refused
with a one-line reason naming the file.
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


#: 16-bit sample value v is v / 257 in 8 bits (65535 -> 255), whatever the image's maximum
SCALE_16_TO_8 = 255.0 / 65535.0


def to_rgb(img: Image.Image) -> np.ndarray:
    """Convert a Pillow image of any mode to an HxWx3 uint8 array (orientation applied).

    The rule is fixed per mode, never guessed from the pixel values (README, "Image modes"):
    8-bit modes are converted by Pillow; 16-bit modes (I;16*) are scaled by 1/257; 32-bit
    integer images (I) are read as 16-bit samples when every value lies in 0..65535 and are
    refused otherwise; float images (F) are taken as 0..1 with values outside clipped, and
    refused when they hold NaN; alpha (straight or premultiplied, or a transparent colour key)
    is composited on white. Raises NppError (without the file's name) for what it refuses."""
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode.startswith("I;16") or mode == "I":
        return _gray_to_rgb(_from_16bit(img))
    if mode == "F":
        return _gray_to_rgb(_from_float(np.asarray(img, dtype=np.float32)))
    if mode in ("La", "RGBa"):
        # premultiplied: colour c*a over white is c*a + 255*(1 - a), i.e. c_stored + 255 - a
        a = np.asarray(img, dtype=np.int16)
        rgb = a[..., :-1] + (255 - a[..., -1:])
        return np.ascontiguousarray(np.broadcast_to(rgb, a.shape[:2] + (3,)).astype(np.uint8))
    if mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def _from_16bit(img: Image.Image) -> np.ndarray:
    a = np.asarray(img)
    if img.mode == "I" and a.size and (a.min() < 0 or a.max() > 65535):
        raise NppError(f"32-bit integer image with values {a.min()}..{a.max()}: beyond 16 bits there is "
                       "no standard white level (save it with 8- or 16-bit samples)")
    out = np.round(a.astype(np.float32) * np.float32(SCALE_16_TO_8)).astype(np.uint8)
    key = img.info.get("transparency")
    if isinstance(key, int):  # a 16-bit grey PNG's tRNS colour key: transparent, so white
        out[a == key] = 255
    return out


def _from_float(a: np.ndarray) -> np.ndarray:
    nan = np.isnan(a)
    if nan.any():
        raise NppError(f"float image holds {int(nan.sum()):,} NaN (not-a-number) pixels")
    return np.round(np.clip(a, 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))


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
            try:
                rgb = to_rgb(img)
            except NppError as exc:
                raise NppError(f"{label}: {exc}") from None
    except NppError:
        raise
    except Image.DecompressionBombError:
        raise NppError(f"{label}: image is larger than the {MAX_PIXELS:,}-pixel limit") from None
    except MemoryError:
        raise NppError(f"{label}: not enough memory to read this image") from None
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
