"""Atomic file writes: a killed process never leaves a half-written result or checkpoint.

A destination that cannot be written (no permission, a read-only or full disk, a folder that is
a file) raises NppError naming the destination, never the temp file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Union

from npp.errors import NppError

PathLike = Union[str, os.PathLike]


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = _read_umask()


def atomic_write(path: PathLike, write: Callable[[str], None]) -> None:
    """Call `write(tmp_path)` on a fresh temp file beside `path`, fsync it, then rename over `path`.

    The file gets the permissions a plain `open(path, "w")` would give (mkstemp's are 0600)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise NppError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise NppError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    atomic_write(path, write)


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))
