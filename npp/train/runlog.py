"""A training run's folder: atomic checkpoints, CSV and JSONL logs, a progress bar with ETA."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Dict, List

import torch

from npp.errors import NppError
from npp.fsutil import atomic_write, atomic_write_text

CHECKPOINT = "last.pt"


class RunDir:
    def __init__(self, out: str | Path) -> None:
        self.path = Path(out)
        self.checkpoint = self.path / CHECKPOINT
        self.csv = self.path / "log.csv"
        self.jsonl = self.path / "log.jsonl"

    def prepare(self, resume: bool) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise NppError(f"--out {self.path}: exists and is not a folder")
        if resume and not self.checkpoint.is_file():
            raise NppError(f"--resume: no checkpoint {self.checkpoint} to resume from")
        if not resume and self.checkpoint.is_file():
            raise NppError(f"{self.checkpoint} exists: pass --resume to continue that run, or choose another --out")
        self.path.mkdir(parents=True, exist_ok=True)

    def save(self, state: dict) -> None:
        """torch.save to a temporary file in the folder, then rename: never a half-written checkpoint."""
        atomic_write(self.checkpoint, lambda tmp: torch.save(state, tmp))

    def write_json(self, name: str, obj: object) -> None:
        """A small JSON record next to the logs (written atomically)."""
        atomic_write_text(self.path / name, json.dumps(obj, indent=2) + "\n")

    def load(self) -> dict:
        try:
            return torch.load(self.checkpoint, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise NppError(f"{self.checkpoint}: unreadable checkpoint ({type(exc).__name__})") from None

    def read_log(self) -> List[dict]:
        if not self.jsonl.is_file():
            return []
        return [json.loads(line) for line in self.jsonl.read_text().splitlines() if line.strip()]

    def truncate_logs(self, step: int) -> None:
        """Drop rows a killed run logged after its last checkpoint, so a resumed log has no repeats."""
        rows = [r for r in self.read_log() if r["step"] <= step]
        atomic_write_text(self.jsonl, "".join(json.dumps(r) + "\n" for r in rows))
        if rows:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
            atomic_write_text(self.csv, buf.getvalue())
        elif self.csv.exists():
            self.csv.unlink()

    def log(self, row: Dict[str, object]) -> None:
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        new = not self.csv.exists()
        with open(self.csv, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)


def progress(total: int, start: int, desc: str, enabled: bool):
    """A tqdm bar (steps, rate, ETA) on stderr; silent on ranks other than 0."""
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc=desc, disable=not enabled, mininterval=2.0,
                dynamic_ncols=True, unit="step")

