"""What users compare: a *method* is what a sender does to a photo before a standard codec and
what the receiver does after decoding it. The plain codec, NPP + codec and the simple things
anyone could do instead (blur, downscale, resize to the vision model's input size, spatial QP
maps) are all methods, so the app, `npp compress` and `npp evaluate` treat them alike.

A method turns an RGB image and a QP into what the codec gets (`Prepared`: pixels, and
optionally per-block QP offsets for codecs that take them) and turns the decoded pixels back
into what the receiver uses (`restore`, e.g. upscaling to the original size). Bits are always
counted from the real file and divided by the ORIGINAL image's pixels (`npp.methods.engine`)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np
from PIL import Image

from npp.errors import NppError


@dataclass(frozen=True)
class Prepared:
    """What the codec gets: HxWx3 uint8 pixels and optional QP offsets, one per 16x16 block of
    those pixels (rows x columns, QP units added to the frame's QP; see `npp.codecs.qpmap`)."""

    rgb: np.ndarray
    qp_offsets: Optional[np.ndarray] = None


class Method(ABC):
    """One way to prepare images for a codec. Subclasses set `kind` (by `register_method`) and
    implement `prepare`; those that change the image size also implement `restore`."""

    #: registry name, e.g. "blur" (set by `register_method`)
    kind: str = ""
    #: a uniform simple alternative (blur, downscale, resize): every learned or semantic method
    #: is reported against the best of these, never only against the plain codec
    baseline: bool = False
    #: runs a neural network: the evaluation prepares such images in its main process, in
    #: batches, instead of in the codec worker processes
    uses_models: bool = False
    #: one line for the app's legend and `npp info`
    description: str = ""

    @property
    def name(self) -> str:
        """The canonical spec that `create_method` turns back into this method (e.g. "blur:1.0");
        it names the method in every result: CLI JSON, results files, plots and app labels."""
        return self.kind

    @property
    def key(self) -> str:
        """Identifies the output in cache keys: the name plus anything else that changes the
        pixels (a method with weights adds their hash)."""
        return self.name

    @abstractmethod
    def prepare(self, rgb: np.ndarray, qp: int) -> Prepared:
        """What the codec gets for this HxWx3 uint8 photo and QP."""

    def original_shape(self, decoded_shape: Sequence[int]) -> Optional[tuple]:
        """The (H, W) a receiver restores to when only the decoded image is known, or None
        when the method cannot tell (the original size must then be sent along)."""
        return tuple(decoded_shape[:2])

    def restore(self, decoded: np.ndarray, shape: Sequence[int]) -> np.ndarray:
        """What the receiver uses: the decoded pixels at the original `shape` (H, W, ...)."""
        return resize_to(decoded, shape)

    def __repr__(self) -> str:
        return f"<method {self.name}>"


def resize_to(rgb: np.ndarray, shape: Sequence[int], resample: int = Image.BICUBIC) -> np.ndarray:
    """`rgb` resized to `shape[:2]` (H, W); the same array when it already has that size."""
    h, w = int(shape[0]), int(shape[1])
    if rgb.shape[:2] == (h, w):
        return rgb
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((w, h), resample))


def number(value: Optional[str], spec: str, low: float, high: float, what: str, default: Optional[float] = None,
           low_open: bool = False) -> float:
    """The numeric argument of a method spec (`blur:1.0` -> 1.0) within its range."""
    if value is None:
        if default is None:
            raise NppError(f"method {spec!r}: give {what}, e.g. {spec.split(':')[0]}:{high / 2:g}")
        return default
    try:
        x = float(value)
    except ValueError:
        raise NppError(f"method {spec!r}: {value!r} is not a number ({what})") from None
    if not (low < x if low_open else low <= x) or not x <= high or not np.isfinite(x):
        raise NppError(f"method {spec!r}: {what} must be in {'(' if low_open else '['}{low:g}, {high:g}]")
    return x


def fmt(x: float, decimals: int = 1) -> str:
    """A number as it appears in a canonical method name: 1 -> "1.0", 0.75 -> "0.75"."""
    text = f"{x:.{decimals}f}"
    return text if float(text) == x else repr(float(x))


def no_params(spec: str, params: Dict[str, str]) -> None:
    if params:
        raise NppError(f"method {spec!r}: takes no [key=value] parameters (got {', '.join(params)})")
