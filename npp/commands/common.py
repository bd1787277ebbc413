"""What every command shares: expanding inputs, naming outputs, JSON lines."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Iterable, List, Sequence

from npp.errors import NppError
from npp.image import IMAGE_SUFFIXES


def expand_inputs(paths: Sequence[str], suffixes: Iterable[str] = IMAGE_SUFFIXES) -> List[Path]:
    """Files as given; a folder stands for the files in it with one of `suffixes` (sorted)."""
    wanted = {s.lower() for s in suffixes}
    out: List[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in wanted)
            if not found:
                raise NppError(f"{p}: folder holds no input files ({', '.join(sorted(wanted))})")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise NppError(f"{p}: no such file or folder")
    return out


def output_paths(inputs: Sequence[Path], out: str, ext: str) -> List[Path]:
    """With one input, `out` is a file (or an existing folder); with several, a folder of
    `<stem><ext>`. NppError when they could not be written (`check_writable`)."""
    paths = _output_paths(inputs, out, ext)
    check_writable(paths)
    return paths


def _output_paths(inputs: Sequence[Path], out: str, ext: str) -> List[Path]:
    target = Path(out)
    if len(inputs) == 1 and not target.is_dir():
        if target.suffix == "":
            target = target.with_suffix(ext)
        return [target]
    if target.exists() and not target.is_dir():
        raise NppError(f"-o {out}: with several inputs, -o must name a folder")
    paths = [target / f"{p.stem}{ext}" for p in inputs]
    seen: dict = {}
    for src, dst in zip(inputs, paths):
        if dst in seen:
            raise NppError(f"{src} and {seen[dst]} would both write {dst}")
        seen[dst] = src
    return paths


def check_writable(paths: Sequence[Path]) -> None:
    """Refuse, before any work, outputs whose folder cannot be made or written (the nearest
    existing folder above each must be a writable folder). Writing still checks again."""
    for folder in sorted({p.parent for p in paths}):
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise NppError(f"cannot write {folder}: {existing} is not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise NppError(f"cannot write {folder}: permission denied")


def print_json(obj: object) -> None:
    """One JSON object on one line of stdout."""
    sys.stdout.write(json.dumps(obj, separators=(", ", ": ")) + "\n")
    sys.stdout.flush()
