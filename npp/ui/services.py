"""What the app's pages call, built once per process and nothing of it at import time: the
compare pipeline (models), the private folder for per-request files, the training job runner.
`Services.from_env()` only reads settings; models load in `start()` (before the server opens,
which also precomputes the example photos at the default codec, QP and methods) or on the
first request, so importing `app` in a test loads nothing."""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, TypeVar

from npp.hosting import public_mode
from npp.jobs import JobRunner
from npp.runtime import tune_allocator
from npp.tempstore import TempStore
from npp.zerogpu import gpu_task, start_device

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS = REPO_ROOT / "assets"
EXAMPLES = [ASSETS / n for n in ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg")]
#: the held-out set's curves the Curves tab shows beside a photo's (bench/heldout_curves.py)
HELDOUT_CURVES = ASSETS / "heldout_curves.json"
log = logging.getLogger("npp.app")
T = TypeVar("T")


def _call(fn: Callable[..., T], *args, **kwargs) -> T:
    return fn(*args, **kwargs)


@dataclass
class Services:
    public: bool
    jobs_dir: Path
    _pipeline: object = None
    _files: Optional[TempStore] = None
    _jobs: Optional[JobRunner] = None
    _on_device: Optional[Callable] = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def from_env(cls) -> "Services":
        """Settings from the environment: NPP_PUBLIC (no training, small uploads), NPP_JOBS_DIR."""
        return cls(public=public_mode(), jobs_dir=Path(os.environ.get("NPP_JOBS_DIR") or REPO_ROOT / "runs" / "app-jobs"))

    @property
    def browser_secret(self) -> str:
        """Encrypts the owner tokens browsers keep (gr.BrowserState); stable across restarts so a
        browser still controls its jobs after one: NPP_BROWSER_SECRET, else a 0600 file in jobs_dir."""
        env = os.environ.get("NPP_BROWSER_SECRET", "").strip()
        if env:
            return env
        path = self.jobs_dir / ".browser-secret"
        if not path.is_file():
            import secrets

            from npp.fsutil import atomic_write_text

            self.jobs_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def heldout_path(self) -> Path:
        return HELDOUT_CURVES

    @property
    def training(self) -> bool:
        return not self.public

    @property
    def max_upload(self) -> str:
        return "5mb" if self.public else "50mb"

    @property
    def pipeline(self):
        """The compare pipeline (vision models and NPP), loaded on first use."""
        with self._lock:
            if self._pipeline is None:
                tune_allocator()  # before the models load: keeps the classifier at its fast speed
                from npp.pipeline import ComparePipeline

                self._pipeline = ComparePipeline(device=start_device(), encode_cache=self.files.new_dir())
            return self._pipeline

    def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """`fn(*args, **kwargs)`, the page's model work, where the models compute: inside a
        `spaces.GPU` call on a ZeroGPU Space (`npp.zerogpu.gpu_task`), else simply here."""
        with self._lock:
            if self._on_device is None:
                self._on_device = gpu_task(_call)
        return self._on_device(fn, *args, **kwargs)

    @property
    def files(self) -> TempStore:
        """Private per-request folders (the real codec files users download)."""
        with self._lock:
            if self._files is None:
                self._files = TempStore()
            return self._files

    @property
    def jobs(self) -> Optional[JobRunner]:
        """The training job runner (None in public mode), started on first use."""
        if not self.training:
            return None
        with self._lock:
            if self._jobs is None:
                self._jobs = JobRunner(self.jobs_dir)
            return self._jobs

    def start(self, precompute: bool = True) -> None:
        """Load everything before the server opens, so the first visitor does not wait: the
        models, the job runner, and (unless `precompute` is off or NPP_PRECOMPUTE=0) every
        example photo at the default codec, QP and methods, Grad-CAM included."""
        from npp.pipeline import DEFAULT_METHODS, DEFAULT_QP, load_photo
        from npp.ui.common import default_codec

        pipeline = self.pipeline
        self.jobs  # noqa: B018  (re-attaches to jobs a previous server left running)
        if precompute and os.environ.get("NPP_PRECOMPUTE", "1") != "0":
            photos = [load_photo(e, name=e.name) for e in EXAMPLES]
            codec = default_codec()
            seconds = pipeline.warm(photos, codec, DEFAULT_QP, DEFAULT_METHODS, self.files.new_dir())
            log.info("precomputed %d example photos (%s, QP %d, %s) in %.1f s", len(photos), codec, DEFAULT_QP,
                     ", ".join(DEFAULT_METHODS), seconds)
