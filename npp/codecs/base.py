"""The codec interface and its registry.

A codec turns an RGB uint8 image into the exact bytes of a file a user could save and
open elsewhere, and back. Bits per pixel are always counted from those bytes.
"""
from __future__ import annotations

import argparse
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, Type

import numpy as np

from npp.codecs.qp import check_qp
from npp.codecs.qpmap import check_offsets
from npp.errors import NppError


@dataclass(frozen=True)
class Encoded:
    """One real encode: the file's bytes and what it took to make them."""

    data: bytes
    codec: str
    qp: int
    width: int
    height: int
    encode_ms: float
    options: Dict[str, object] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return len(self.data)

    @property
    def bpp(self) -> float:
        """Bits per pixel of the written file: 8 * bytes / (W * H)."""
        return 8.0 * len(self.data) / (self.width * self.height)


class Codec(ABC):
    """Encode HxWx3 uint8 RGB at a QP (bpgenc's meaning) to file bytes, and decode them.

    Implementations must be safe to call from several threads and processes at once
    (no shared temp names, no global state) and must raise NppError for bad input,
    corrupt or truncated data and missing tools."""

    #: registry name, e.g. "bpg"
    name: str = ""
    #: file extension including the dot, e.g. ".bpg"
    extension: str = ""
    #: other file name endings of this format that `npp decode` accepts in a folder
    aliases: Tuple[str, ...] = ()
    #: whether `encode` takes per-block QP offsets (`npp.codecs.qpmap`)
    supports_qp_offsets: bool = False

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add this codec's options to a command's parser (CompressAI's bench codecs do the
        same): each flag names the codec it is for in its help."""

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> Dict[str, object]:
        """The constructor options a parsed command line asks for (those `add_arguments` added)."""
        return {}

    def options(self) -> Dict[str, object]:
        """The settings that change the bitstream (part of any cache key)."""
        return {}

    def availability(self) -> tuple[bool, str]:
        """(True, "") when this codec can run here, else (False, one-line reason)."""
        return True, ""

    @abstractmethod
    def encode_bytes(self, rgb: np.ndarray, qp: int) -> bytes:
        """Encode an HxWx3 uint8 image; return the complete file's bytes."""

    def encode_bytes_with_offsets(self, rgb: np.ndarray, qp: int, offsets: np.ndarray) -> bytes:
        """Encode with per-16x16-block QP offsets (codecs with `supports_qp_offsets`)."""
        raise NotImplementedError

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decode complete file bytes to HxWx3 uint8 RGB; NppError if corrupt or truncated."""

    @classmethod
    @abstractmethod
    def sniff(cls, data: bytes) -> bool:
        """True when `data` looks like this codec's file format (used by `npp decode`)."""

    def encode(self, rgb: np.ndarray, qp: int, qp_offsets: Optional[np.ndarray] = None) -> Encoded:
        """Validate, encode and time one image; `qp_offsets` (one per 16x16 block, see
        `npp.codecs.qpmap`) vary the QP spatially, and all zeros give the plain file."""
        rgb = check_rgb(rgb)
        qp = check_qp(qp)
        ok, reason = self.availability()
        if not ok:
            raise NppError(f"codec {self.name} is not available here: {reason}")
        if qp_offsets is not None:
            qp_offsets = check_offsets(qp_offsets, rgb.shape[0], rgb.shape[1])
            if not qp_offsets.any():
                qp_offsets = None
            elif not self.supports_qp_offsets:
                raise NppError(f"codec {self.name} cannot vary the QP per block")
        t0 = time.perf_counter()
        data = (self.encode_bytes(rgb, qp) if qp_offsets is None
                else self.encode_bytes_with_offsets(rgb, qp, qp_offsets))
        ms = (time.perf_counter() - t0) * 1000.0
        h, w = rgb.shape[:2]
        return Encoded(data, self.name, int(qp), w, h, ms, dict(self.options()))


def check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise NppError(f"expected an HxWx3 uint8 RGB image, got shape {rgb.shape} dtype {rgb.dtype}")
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise NppError("empty image")
    return np.ascontiguousarray(rgb)


_REGISTRY: Dict[str, Type[Codec]] = {}


def register_codec(name: str) -> Callable[[Type[Codec]], Type[Codec]]:
    """Class decorator: make a codec available by name (as CompressAI's register_model)."""

    def deco(cls: Type[Codec]) -> Type[Codec]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def list_codecs() -> list[str]:
    return sorted(_REGISTRY)


def codec_class(name: str) -> Type[Codec]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NppError(f"unknown codec {name!r} (choose from {', '.join(list_codecs())})") from None


def add_codec_arguments(parser: argparse.ArgumentParser) -> None:
    """Every registered codec's options as flags of one command (encode, compress, evaluate)."""
    for name in list_codecs():
        _REGISTRY[name].add_arguments(parser)


def codec_from_args(args: argparse.Namespace) -> "Codec":
    """The codec `args.codec` with the options the command line gave for it."""
    cls = codec_class(args.codec)
    return cls(**cls.options_from_args(args))


def codec_suffixes() -> List[str]:
    """File name endings of every registered codec's files (what `npp decode` reads in a folder)."""
    return sorted({s for c in _REGISTRY.values() for s in (c.extension, *c.aliases)})


def create_codec(name: str, **options: object) -> Codec:
    """Build a codec by registry name with its options (e.g. level=8 for bpg)."""
    return codec_class(name)(**options)


def detect_codec(data: bytes) -> str:
    """Recognise a file's codec from its content."""
    for name in list_codecs():
        if _REGISTRY[name].sniff(data):
            return name
    raise NppError("unrecognised file: not a BPG, JPEG or VVC bitstream")
