"""Private temporary folders for the app's per-request files (the real codec files users
download). Each request gets a fresh folder with an unguessable name under one private root;
folders older than `max_age_s` are swept on the next request and the root is removed at exit.

A killed app (SIGKILL, a crash, a power cut) runs no exit handler, so its root would stay for
good. Each root therefore holds an OWNER file naming its app process (pid and identity, see
`npp.processes`), and a new store removes the roots whose process has ended; a root without
one (an app from before owner files) goes once it is older than `max_age_s`."""
from __future__ import annotations

import atexit
import json
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Optional

from npp.fsutil import atomic_write_text
from npp.processes import is_alive, process_identity

OWNER = "owner.json"


class TempStore:
    def __init__(self, max_age_s: float = 3600.0, prefix: str = "npp-app-", parent: Optional[Path] = None) -> None:
        self.max_age_s = float(max_age_s)
        self.parent = Path(parent or tempfile.gettempdir())
        self.root = Path(tempfile.mkdtemp(prefix=prefix, dir=self.parent))
        self._claim()
        #: how many abandoned roots of ended apps this store removed when it started
        self.swept_abandoned = sweep_abandoned(self.parent, prefix, self.max_age_s)
        atexit.register(self.close)

    def _claim(self) -> None:
        identity = process_identity(os.getpid())
        if identity is not None:  # no /proc: no owner file, the age rule applies
            atomic_write_text(self.root / OWNER, json.dumps({"pid": os.getpid(), "identity": identity}))

    def new_dir(self) -> Path:
        """A fresh private folder (mode 0700) for one request's files."""
        self.sweep()
        if not self.root.is_dir():  # removed behind our back: make it ours again
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._claim()
        return Path(tempfile.mkdtemp(dir=self.root))

    def sweep(self) -> int:
        """Remove request folders older than max_age_s; returns how many were removed."""
        cutoff = time.time() - self.max_age_s
        removed = 0
        if not self.root.is_dir():
            return 0
        for d in self.root.iterdir():
            try:
                if d.is_dir() and d.stat().st_mtime < cutoff:
                    shutil.rmtree(d, ignore_errors=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def sweep_abandoned(parent: Path, prefix: str, max_age_s: float) -> int:
    """Remove this user's `parent/prefix*` roots whose app has ended; returns how many.

    A root is kept while the process its OWNER file names is alive (the identity check
    means a later process reusing the pid does not keep it); one without a readable OWNER
    file is kept until it is `max_age_s` old (a living app writes its file right after
    creating the folder, so only an old app's folder goes)."""
    removed = 0
    for d in Path(parent).glob(f"{prefix}*"):
        try:
            st = d.lstat()
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue
        try:
            owner = json.loads((d / OWNER).read_text())
            alive = is_alive(int(owner["pid"]), str(owner["identity"]))
        except (OSError, ValueError, KeyError, TypeError):
            alive = st.st_mtime > time.time() - max_age_s
        if not alive:
            shutil.rmtree(d, ignore_errors=True)
            removed += 1
    return removed
