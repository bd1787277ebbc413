"""The app's training jobs: each job is a real `python -m npp train-proxy|train ...` process
(list arguments, never a shell), run one at a time per server (the others wait in a queue),
with progress read from the JSON-lines log the command writes, a cancel, and the resulting
checkpoint offered to the Compare tab.

Photos come from uploads (copied into the job's private folder) or from a server folder on
the allow-list in `NPP_DATA_DIRS` (os.pathsep-separated); no other server path is accepted.
Public mode (`npp.hosting.public_mode`: on a Hugging Face Space by default, or `NPP_PUBLIC=1`)
switches training off."""
from __future__ import annotations

import atexit
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from npp.errors import NppError
from npp.fsutil import atomic_write_text
from npp.hosting import public_mode, public_reason

KINDS = ("train-proxy", "train")
#: `npp train-proxy|train --out RUN` writes RUN/log.jsonl (one row per step) and exports
#: RUN/<kind>.safetensors at each checkpoint.
RUN_NAME = "run"
WEIGHTS_NAME = {"train-proxy": "proxy.safetensors", "train": "npp.safetensors"}
LOG_NAME = "log.jsonl"
#: A job is stopped after this long, whatever it is doing.
MAX_JOB_SECONDS = 6 * 3600
REPO_ROOT = Path(__file__).resolve().parents[1]


def allowed_data_dirs() -> List[Path]:
    """Server photo folders users may train on (NPP_DATA_DIRS), existing ones only."""
    raw = os.environ.get("NPP_DATA_DIRS", "")
    return [Path(p).resolve() for p in raw.split(os.pathsep) if p.strip() and Path(p).is_dir()]


def resolve_data_dir(choice: str) -> Path:
    """The allow-listed folder named by `choice` (exact match), else NppError."""
    for d in allowed_data_dirs():
        if str(d) == str(choice):
            return d
    raise NppError(f"{choice!r} is not one of the server's photo folders (NPP_DATA_DIRS)")


@dataclass
class Job:
    id: int
    kind: str
    args: List[str]
    dir: Path
    title: str
    steps: Optional[int] = None
    state: str = "queued"
    returncode: Optional[int] = None
    created: float = field(default_factory=time.time)
    started: Optional[float] = None
    ended: Optional[float] = None
    error: str = ""

    @property
    def log_path(self) -> Path:
        return self.dir / RUN_NAME / LOG_NAME

    @property
    def output_path(self) -> Path:
        return self.dir / "output.txt"

    @property
    def checkpoint_path(self) -> Path:
        return self.dir / RUN_NAME / WEIGHTS_NAME[self.kind]

    @property
    def label(self) -> str:
        return f"job {self.id}: {self.title}"

    def command(self) -> List[str]:
        return [sys.executable, "-m", "npp", self.kind, *self.args]

    def records(self) -> List[dict]:
        """The JSON objects in the job's log so far (a half-written last line is skipped)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def progress(self) -> dict:
        """{"step", "steps", "fraction", "losses": [(step, loss)], "last": record}."""
        recs = [r for r in self.records() if "step" in r]
        steps = self.steps
        step = recs[-1]["step"] if recs else 0
        losses = [(r["step"], r["loss"]) for r in recs if isinstance(r.get("loss"), (int, float))]
        frac = 1.0 if self.state == "done" else (min(1.0, step / steps) if steps else 0.0)
        return {"step": step, "steps": steps, "fraction": frac, "losses": losses,
                "last": recs[-1] if recs else None}

    def output_tail(self, lines: int = 15) -> str:
        try:
            text = self.output_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def checkpoint(self) -> Optional[Path]:
        return self.checkpoint_path if self.state == "done" and self.checkpoint_path.is_file() else None

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "args": self.args, "title": self.title, "steps": self.steps,
                "state": self.state, "returncode": self.returncode, "created": self.created,
                "started": self.started, "ended": self.ended, "error": self.error}


class JobRunner:
    """A FIFO queue of jobs and one worker thread that runs them one after another."""

    def __init__(self, root: Optional[Path] = None, max_seconds: float = MAX_JOB_SECONDS) -> None:
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="npp-jobs-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_seconds = max_seconds
        self._jobs: Dict[int, Job] = {}
        self._procs: Dict[int, subprocess.Popen] = {}
        self._cancel: set = set()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._load_previous()
        self._ids = itertools.count(max(self._jobs, default=0) + 1)
        self._worker = threading.Thread(target=self._run_forever, name="npp-jobs", daemon=True)
        self._worker.start()
        atexit.register(self.shutdown)

    def shutdown(self) -> None:
        """Cancel everything (the server is stopping); a training run resumes with --resume later."""
        with self._lock:
            for job in self._jobs.values():
                if job.state == "queued":
                    job.state, job.ended = "cancelled", time.time()
                    self._save(job)
            procs = list(self._procs.items())
            self._cancel.update(pid for pid, _ in procs)
        for _, proc in procs:
            _terminate(proc)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def _load_previous(self) -> None:
        """Jobs a previous server left in `root`: finished ones keep offering their weights; ones
        it was running when it stopped are marked interrupted (resume them with `resume`)."""
        for meta in sorted(self.root.glob("*/job.json")):
            try:
                d = json.loads(meta.read_text())
                job = Job(int(d["id"]), d["kind"], list(d["args"]), meta.parent, d["title"], d.get("steps"),
                          d["state"], d.get("returncode"), d["created"], d.get("started"), d.get("ended"),
                          d.get("error", ""))
            except (ValueError, KeyError, TypeError):
                continue
            if job.state in ("queued", "running"):
                job.state, job.error = "failed", "interrupted: the server stopped"
                self._save(job)
            self._jobs[job.id] = job

    def resume(self, job_id: int) -> Job:
        """Queue a stopped job again; the training command continues from its last checkpoint."""
        old = self.get(job_id)
        if old.state in ("queued", "running", "done"):
            raise NppError(f"job {job_id} is {old.state}; only a failed or cancelled job can be resumed")
        if not (old.dir / RUN_NAME / "last.pt").is_file():
            raise NppError(f"job {job_id} left no checkpoint to resume from; start it again instead")
        args = [a for a in old.args if a != "--resume"] + ["--resume"]
        return self.submit(old.kind, args, old.dir, title=f"{old.title} (resumed)", steps=old.steps)

    # -- queue ---------------------------------------------------------------------------
    def new_job_dir(self) -> Path:
        """A private folder for a job about to be submitted (uploads are copied into it)."""
        return Path(tempfile.mkdtemp(prefix="job-", dir=self.root))

    def submit(self, kind: str, args: Sequence[str], job_dir: Path, title: str = "",
               steps: Optional[int] = None) -> Job:
        if public_mode():
            raise NppError(f"training is switched off on this public server ({public_reason()})")
        if kind not in KINDS:
            raise NppError(f"unknown job kind {kind!r} (choose from {', '.join(KINDS)})")
        with self._lock:
            job = Job(next(self._ids), kind, [str(a) for a in args], Path(job_dir), title or kind, steps)
            self._jobs[job.id] = job
            self._save(job)
            self._wake.notify_all()
        return job

    def cancel(self, job_id: int) -> Job:
        job = self.get(job_id)
        with self._lock:
            if job.state == "queued":
                job.state, job.ended = "cancelled", time.time()
                self._save(job)
            elif job.state == "running":
                self._cancel.add(job.id)
                proc = self._procs.get(job.id)
                if proc is not None:
                    _terminate(proc)
            return job

    def get(self, job_id: int) -> Job:
        with self._lock:
            job = self._jobs.get(int(job_id))
        if job is None:
            raise NppError(f"no job {job_id}")
        return job

    def jobs(self) -> List[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.id)

    def checkpoints(self, kind: str) -> Dict[str, Path]:
        """{label: checkpoint} of the finished jobs of `kind` that left one."""
        return {j.label: j.checkpoint() for j in self.jobs() if j.kind == kind and j.checkpoint()}

    def wait(self, job_id: int, timeout: float) -> Job:
        """Block until the job has ended or `timeout` seconds pass; returns the job."""
        end = time.monotonic() + timeout
        job = self.get(job_id)
        while job.state in ("queued", "running") and time.monotonic() < end:
            time.sleep(0.2)
        return job

    # -- worker --------------------------------------------------------------------------
    def _next(self) -> Job:
        with self._lock:
            while True:
                queued = [j for j in self._jobs.values() if j.state == "queued"]
                if queued:
                    job = min(queued, key=lambda j: j.id)
                    job.state, job.started = "running", time.time()
                    self._save(job)
                    return job
                self._wake.wait()

    def _run_forever(self) -> None:
        while True:
            job = self._next()
            try:
                self._run(job)
            except Exception as exc:  # the worker must survive any one job
                with self._lock:
                    job.state, job.error, job.ended = "failed", f"{type(exc).__name__}: {exc}", time.time()
                    self._save(job)

    def _run(self, job: Job) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(job.output_path, "wb") as out:
            proc = subprocess.Popen(job.command(), cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
            with self._lock:
                self._procs[job.id] = proc
                cancelled_early = job.id in self._cancel
            if cancelled_early:
                _terminate(proc)
            try:
                rc = proc.wait(timeout=self.max_seconds)
                timed_out = False
            except subprocess.TimeoutExpired:
                _terminate(proc)
                rc, timed_out = proc.wait(), True
        with self._lock:
            self._procs.pop(job.id, None)
            job.returncode, job.ended = rc, time.time()
            if job.id in self._cancel:
                job.state = "cancelled"
            elif timed_out:
                job.state, job.error = "failed", f"stopped after {self.max_seconds:.0f} s"
            elif rc == 0:
                job.state = "done"
            else:
                job.state = "failed"
                job.error = _last_line(job.output_tail(5)) or f"exit status {rc}"
            self._save(job)

    def _save(self, job: Job) -> None:
        atomic_write_text(job.dir / "job.json", json.dumps(job.to_json(), indent=1))


def _terminate(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the job's own process group (it was started in a new session), SIGKILL after `grace`."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return

    def reap() -> None:
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    threading.Thread(target=reap, daemon=True).start()


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def copy_uploads(paths: Sequence[str], dest: Path, max_files: int = 500) -> Path:
    """Copy uploaded photos into `dest` under fresh names (never the uploader's names or paths)."""
    from npp.image import IMAGE_SUFFIXES

    if not paths:
        raise NppError("no photos uploaded")
    if len(paths) > max_files:
        raise NppError(f"{len(paths)} photos uploaded; at most {max_files} per job")
    dest.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, p in enumerate(paths):
        suffix = Path(str(p)).suffix.lower()
        if suffix not in IMAGE_SUFFIXES:
            raise NppError(f"{Path(str(p)).name}: not an image file ({', '.join(sorted(IMAGE_SUFFIXES))})")
        shutil.copyfile(p, dest / f"photo{i:04d}{suffix}")
        n += 1
    return dest


def training_args(kind: str, photos: Path, job_dir: Path, codec: str, qps: str, steps: int, lr: float,
                  proxy: Optional[Path] = None) -> List[str]:
    """The command-line arguments of `npp <kind>` for a job writing into `job_dir`/run."""
    if kind not in KINDS:
        raise NppError(f"unknown job kind {kind!r}")
    if not 1 <= int(steps) <= 1_000_000:
        raise NppError(f"steps must be in 1..1000000, got {steps}")
    if not 0 < float(lr) < 1:
        raise NppError(f"learning rate must be in (0, 1), got {lr}")
    from npp.codecs import codec_class

    codec_class(codec)  # NppError for an unknown codec, before a process is started
    from npp.codecs import parse_qps

    qp_list = parse_qps(qps)
    args = ["--data", str(photos), "--out", str(Path(job_dir) / RUN_NAME), "--steps", str(int(steps)),
            "--codec", codec, "--qps", ",".join(map(str, qp_list)), "--lr", repr(float(lr))]
    if kind == "train" and proxy is not None:
        args += ["--proxy", str(proxy)]
    return args
