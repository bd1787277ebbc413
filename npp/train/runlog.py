"""A training run's folder: one trainer at a time (an exclusive lock held for the life of the
training process), atomic checkpoints, CSV and JSONL logs, a progress bar with ETA."""
from __future__ import annotations

import csv
import fcntl
import io
import json
import os
from pathlib import Path
from typing import Dict, List, Optional

import torch

from npp.errors import NppError
from npp.fsutil import atomic_write, atomic_write_text
from npp.nn.checkpoint import load_weights

CHECKPOINT = "last.pt"
#: flock(2)ed by the trainer writing the folder; holds its pid (for the refusal message only).
LOCK = "trainer.lock"


class RunDir:
    def __init__(self, out: str | Path) -> None:
        self.path = Path(out)
        self.checkpoint = self.path / CHECKPOINT
        self.csv = self.path / "log.csv"
        self.jsonl = self.path / "log.jsonl"
        self._lock_fd: Optional[int] = None

    def prepare(self, resume: bool) -> None:
        """Check the folder suits a new run or a resume and take its lock (see `lock`)."""
        if self.path.exists() and not self.path.is_dir():
            raise NppError(f"--out {self.path}: exists and is not a folder")
        if resume and not self.checkpoint.is_file():
            raise NppError(f"--resume: no checkpoint {self.checkpoint} to resume from")
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock()
        try:
            if not resume and self.checkpoint.is_file():
                raise NppError(f"{self.checkpoint} exists: pass --resume to continue that run, or choose another --out")
        except NppError:
            self.unlock()
            raise

    def lock(self) -> None:
        """Become the folder's only trainer, or NppError while another process is.

        An flock(2) on LOCK: the kernel drops it when the process ends, however it ends, so a
        killed run never leaves a stale lock and its resume needs no clean-up; the descriptor
        is not inherited by child processes (codec workers never hold it)."""
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            who = f"pid {holder}" if holder.isdigit() else "another process"
            raise NppError(f"another trainer ({who}) is writing the --out folder {self.path.name!r}; "
                           "wait for it to end or stop it first") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._lock_fd = fd

    def unlock(self) -> None:
        """Release the lock (the end of a run inside a longer-lived process, e.g. a test)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

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

    def finished(self, kind: str) -> bool:
        """True when the exported `<kind>.safetensors` is that of the run's last step: how a
        watcher that is not the trainer's parent (so gets no exit status) tells a completed
        run from one that ended early."""
        try:
            meta = load_weights(self.path / f"{kind}.safetensors", kind)[2]
            return int(meta["steps"]) - int(meta.get("prior_steps", 0)) >= int(meta["train"]["steps"])
        except (NppError, KeyError, TypeError, ValueError):
            return False

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

