"""Private temporary folders for the app's per-request files (the real codec files users
download). Each request gets a fresh folder with an unguessable name under one private root;
folders older than `max_age_s` are swept on the next request and the root is removed at exit."""
from __future__ import annotations

import atexit
import shutil
import tempfile
import time
from pathlib import Path


class TempStore:
    def __init__(self, max_age_s: float = 3600.0, prefix: str = "npp-app-") -> None:
        self.max_age_s = float(max_age_s)
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        atexit.register(self.close)

    def new_dir(self) -> Path:
        """A fresh private folder (mode 0700) for one request's files."""
        self.sweep()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.root))

    def sweep(self) -> int:
        """Remove request folders older than max_age_s; returns how many were removed."""
        cutoff = time.time() - self.max_age_s
        removed = 0
        if not self.root.is_dir():
            return 0
        for d in self.root.iterdir():
            try:
                if d.stat().st_mtime < cutoff:
                    shutil.rmtree(d, ignore_errors=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
