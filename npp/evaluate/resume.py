"""The log that lets a killed `npp evaluate` resume where it stopped: each photo's finished
rows are appended to `OUT/rows.jsonl` as one line (flushed and synced photo by photo), and a
rerun with the same configuration skips the photos already there. The encode cache covers
the codec work of photos that were in flight; this log covers the vision work too."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Sequence


class RowLog:
    """JSON lines: a header with the config, then one line per photo (a list of its rows).
    A torn last line (killed mid-write) is cut off on opening; a log written for another
    configuration is started afresh."""

    def __init__(self, path: Path, config: dict) -> None:
        self.path = Path(path)
        self.config = config
        self.rows: Dict[str, List[dict]] = {}
        if not (self.path.is_file() and self._read()):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._write("w", [{"config": config}])

    def _read(self) -> bool:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        lines = data[:end].decode("utf-8", "replace").splitlines()
        try:
            if not lines or json.loads(lines[0]).get("config") != self.config:
                return False
            for line in lines[1:]:
                rows = json.loads(line)
                self.rows[rows[0]["image"]] = rows
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return False
        if end < len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(end)
        return True

    def _write(self, mode: str, lines: Sequence[object]) -> None:
        with open(self.path, mode) as fh:
            fh.write("".join(json.dumps(x) + "\n" for x in lines))
            fh.flush()
            os.fsync(fh.fileno())

    def done(self, image: str) -> bool:
        return image in self.rows

    def append(self, rows: List[dict]) -> None:
        """Log one photo's rows."""
        self._write("a", [rows])
        self.rows[rows[0]["image"]] = rows
