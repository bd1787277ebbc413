"""The app's training jobs: each job is a real `python -m npp train-proxy|train ...` process
(list arguments, never a shell), run one at a time per server (the others wait in a queue),
with progress read from the JSON-lines log the command writes, a cancel, and the resulting
checkpoint offered to the Compare tab.

Jobs have unguessable ids, and only the holder of the owner token a job was submitted with
can cancel or resume it (the app keeps one token per browser session); job.json keeps a hash
of the token, never the token.

A job's process runs in its own session, so it outlives the app. job.json records its pid,
process group and identity (`npp.processes`), and a restarted runner re-attaches to a job
whose process is still that same process: it stays "running", its progress keeps coming
from its log, the runner notices its end, and cancel still stops its process group. A job
whose process ended while no runner watched it is "done" when its weights are those of its
last step. The run folder's lock (`npp.train.runlog`) refuses a second trainer whatever
happens here.

Photos come from uploads (copied into the job's private folder) or from a server folder on
the allow-list in `NPP_DATA_DIRS` (os.pathsep-separated); no other server path is accepted.
Public mode (`npp.hosting.public_mode`: on a Hugging Face Space by default, or `NPP_PUBLIC=1`)
switches training off."""
from __future__ import annotations

import atexit
import hashlib
import hmac
import itertools
import json
import os
import shutil
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from npp.errors import NppError
from npp.fsutil import atomic_write_text
from npp.hosting import public_mode, public_reason
from npp.processes import is_alive, process_identity
from npp.train.runlog import RunDir

KINDS = ("train-proxy", "train")
#: `npp train-proxy|train --out RUN` writes RUN/log.jsonl (one row per step) and exports
#: RUN/<model>.safetensors at each checkpoint.
RUN_NAME = "run"
MODEL_KIND = {"train-proxy": "proxy", "train": "npp"}
LOG_NAME = "log.jsonl"
#: A job is stopped after this long, whatever it is doing.
MAX_JOB_SECONDS = 6 * 3600
#: How often a re-attached job's process is checked (it is not this runner's child).
ATTACHED_POLL_S = 0.5
REPO_ROOT = Path(__file__).resolve().parents[1]


def new_token() -> str:
    """A fresh owner token: whoever holds it controls the jobs submitted with it."""
    return secrets.token_urlsafe(24)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
    id: str
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
    seq: int = 0  # submission order (the queue is FIFO)
    owner: str = ""  # sha256 of the owner token; "" = nobody's (a job from before tokens)
    pid: Optional[int] = None  # the training process, leader of its own process group
    identity: Optional[str] = None  # npp.processes.process_identity(pid) when it started
    #: started by an earlier runner (before an app restart) and watched by this one; not saved
    reattached: bool = False

    @property
    def log_path(self) -> Path:
        return self.dir / RUN_NAME / LOG_NAME

    @property
    def output_path(self) -> Path:
        return self.dir / "output.txt"

    @property
    def checkpoint_path(self) -> Path:
        return self.dir / RUN_NAME / f"{MODEL_KIND[self.kind]}.safetensors"

    @property
    def label(self) -> str:
        return f"job {self.id}: {self.title}"

    def owned_by(self, token: Optional[str]) -> bool:
        """True when `token` is the one this job was submitted with."""
        return bool(self.owner and token) and hmac.compare_digest(self.owner, _token_hash(str(token)))

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
        return {"id": self.id, "seq": self.seq, "kind": self.kind, "args": self.args, "title": self.title,
                "steps": self.steps, "state": self.state, "returncode": self.returncode, "created": self.created,
                "started": self.started, "ended": self.ended, "error": self.error, "owner": self.owner,
                "pid": self.pid, "pgid": self.pid, "identity": self.identity}

    @classmethod
    def from_json(cls, d: dict, job_dir: Path) -> "Job":
        pid = d.get("pid")
        if pid is not None and d.get("pgid", pid) != pid:
            raise ValueError("a job process leads its own process group")
        return cls(str(d["id"]), d["kind"], list(d["args"]), job_dir, d["title"], d.get("steps"), d["state"],
                   d.get("returncode"), d["created"], d.get("started"), d.get("ended"), d.get("error", ""),
                   int(d.get("seq", 0)), str(d.get("owner", "")), None if pid is None else int(pid), d.get("identity"))


class _JobProcess:
    """A job's training process, started by this runner (`popen`) or by an earlier one that
    stopped (re-attached: not our child, so no exit status; its identity tells it apart from
    a later process with the same pid)."""

    def __init__(self, pid: int, identity: Optional[str], popen: Optional[subprocess.Popen] = None) -> None:
        self.pid, self.identity, self.popen = pid, identity, popen

    def running(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return is_alive(self.pid, self.identity)

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        """Its exit status (None for a re-attached process); TimeoutExpired after `timeout` s."""
        if self.popen is not None:
            return self.popen.wait(timeout)
        end = None if timeout is None else time.monotonic() + timeout
        while self.running():
            if end is not None and time.monotonic() >= end:
                raise subprocess.TimeoutExpired([str(self.pid)], timeout)
            time.sleep(ATTACHED_POLL_S)
        return None

    def signal_group(self, sig: int) -> None:
        """Signal its process group (the trainer and its codec workers), only while it runs:
        the group id is never signalled once it may name someone else's processes."""
        if self.running():
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self, grace: float = 10.0) -> None:
        """SIGTERM the group now, SIGKILL it if it still runs `grace` seconds later."""
        if not self.running():
            return
        self.signal_group(signal.SIGTERM)

        def reap() -> None:
            try:
                self.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)

        threading.Thread(target=reap, daemon=True).start()


class JobRunner:
    """A FIFO queue of jobs and one worker thread that runs them one after another (first
    watching, until they end, the jobs an earlier runner on `root` left running)."""

    def __init__(self, root: Optional[Path] = None, max_seconds: float = MAX_JOB_SECONDS) -> None:
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="npp-jobs-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_seconds = max_seconds
        self._jobs: Dict[str, Job] = {}
        self._procs: Dict[str, _JobProcess] = {}
        self._cancel: set = set()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        attached = self._load_previous()
        self._seq = itertools.count(max((j.seq for j in self._jobs.values()), default=0) + 1)
        self._worker = threading.Thread(target=self._run_forever, args=(attached,), name="npp-jobs", daemon=True)
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
            self._cancel.update(job_id for job_id, _ in procs)
        for _, proc in procs:
            proc.signal_group(signal.SIGTERM)
        for _, proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.signal_group(signal.SIGKILL)

    def _load_previous(self) -> List[Job]:
        """Jobs a previous runner left in `root`; returns the ones still running, re-attached.

        Finished ones keep offering their weights; a running one whose process has ended is
        concluded from its files; queued ones are marked interrupted (resume them)."""
        attached = []
        for meta in self.root.glob("*/job.json"):
            try:
                job = Job.from_json(json.loads(meta.read_text()), meta.parent)
            except (ValueError, KeyError, TypeError):
                continue
            self._jobs[job.id] = job
            if job.state == "running" and is_alive(job.pid, job.identity):
                self._procs[job.id] = _JobProcess(job.pid, job.identity)
                job.reattached = True
                attached.append(job)
            elif job.state == "running" and job.pid is not None:
                self._conclude(job, None, timed_out=False)
            elif job.state in ("queued", "running"):
                job.state, job.error = "failed", "interrupted: the server stopped"
                self._save(job)
        return sorted(attached, key=lambda j: j.seq)

    def resume(self, job_id: str, token: str) -> Job:
        """Queue a stopped job of `token`'s again; the training command continues from its last
        checkpoint (the run folder's lock refuses it while any trainer still writes there)."""
        old = self._owned(job_id, token, "resume")
        if old.state in ("queued", "running", "done"):
            raise NppError(f"job {job_id} is {old.state}; only a failed or cancelled job can be resumed")
        if not (old.dir / RUN_NAME / "last.pt").is_file():
            raise NppError(f"job {job_id} left no checkpoint to resume from; start it again instead")
        args = [a for a in old.args if a != "--resume"] + ["--resume"]
        return self._enqueue(old.kind, args, old.dir, old.owner, f"{old.title} (resumed)", old.steps)

    # -- queue ---------------------------------------------------------------------------
    def new_job_dir(self) -> Path:
        """A private folder for a job about to be submitted (uploads are copied into it)."""
        return Path(tempfile.mkdtemp(prefix="job-", dir=self.root))

    def submit(self, kind: str, args: Sequence[str], job_dir: Path, *, token: str, title: str = "",
               steps: Optional[int] = None) -> Job:
        """Queue `npp <kind> <args>` in `job_dir`; `token` (from `new_token`) controls it."""
        if public_mode():
            raise NppError(f"training is switched off on this public server ({public_reason()})")
        if kind not in KINDS:
            raise NppError(f"unknown job kind {kind!r} (choose from {', '.join(KINDS)})")
        if not isinstance(token, str) or len(token) < 16:
            raise NppError("a job needs its owner's token (new_token())")
        return self._enqueue(kind, [str(a) for a in args], Path(job_dir), _token_hash(token), title or kind, steps)

    def _enqueue(self, kind: str, args: List[str], job_dir: Path, owner: str, title: str,
                 steps: Optional[int]) -> Job:
        with self._lock:
            job = Job(secrets.token_urlsafe(9), kind, args, job_dir, title, steps, seq=next(self._seq), owner=owner)
            self._jobs[job.id] = job
            self._save(job)
            self._wake.notify_all()
        return job

    def cancel(self, job_id: str, token: str) -> Job:
        """Cancel a queued or running job of `token`'s (its whole process group is stopped)."""
        job = self._owned(job_id, token, "cancel")
        with self._lock:
            if job.state == "queued":
                job.state, job.ended = "cancelled", time.time()
                self._save(job)
            elif job.state == "running":
                self._cancel.add(job.id)
                proc = self._procs.get(job.id)
                if proc is not None:
                    proc.terminate()
            return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(str(job_id))
        if job is None:
            raise NppError(f"no job {job_id}")
        return job

    def _owned(self, job_id: str, token: str, action: str) -> Job:
        job = self.get(job_id)
        if not job.owned_by(token):
            raise NppError(f"job {job_id} was started by another session; only its owner can {action} it")
        return job

    def jobs(self, token: Optional[str] = None) -> List[Job]:
        """All jobs in submission order, or only `token`'s."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: (j.seq, j.created))
        return [j for j in jobs if token is None or j.owned_by(token)]

    def checkpoints(self, kind: str) -> Dict[str, Path]:
        """{label: checkpoint} of the finished jobs of `kind` that left one."""
        return {j.label: j.checkpoint() for j in self.jobs() if j.kind == kind and j.checkpoint()}

    def wait(self, job_id: str, timeout: float) -> Job:
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
                    job = min(queued, key=lambda j: j.seq)
                    job.state, job.started = "running", time.time()
                    self._save(job)
                    return job
                self._wake.wait()

    def _run_forever(self, attached: List[Job]) -> None:
        for job in attached:  # one job at a time: the queue waits for the re-attached ones
            self._guarded(self._supervise, job, self._procs[job.id])
        while True:
            job = self._next()
            self._guarded(self._run, job)

    def _guarded(self, fn, job: Job, *args) -> None:
        try:
            fn(job, *args)
        except Exception as exc:  # the worker must survive any one job
            with self._lock:
                self._procs.pop(job.id, None)
                job.state, job.error, job.ended = "failed", f"{type(exc).__name__}: {exc}", time.time()
                self._save(job)

    def _run(self, job: Job) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(job.output_path, "wb") as out:
            popen = subprocess.Popen(job.command(), cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        proc = _JobProcess(popen.pid, process_identity(popen.pid), popen)
        with self._lock:
            job.pid, job.identity = proc.pid, proc.identity
            self._save(job)  # what a restarted runner re-attaches by
            self._procs[job.id] = proc
            cancelled_early = job.id in self._cancel
        if cancelled_early:
            proc.terminate()
        self._supervise(job, proc)

    def _supervise(self, job: Job, proc: _JobProcess) -> None:
        """Wait for the job's process to end (stopping it at max_seconds) and record how it ended."""
        left = self.max_seconds - (time.time() - (job.started or time.time()))
        try:
            rc, timed_out = proc.wait(timeout=max(0.0, left)), False
        except subprocess.TimeoutExpired:
            proc.terminate()
            rc, timed_out = proc.wait(), True
        with self._lock:
            self._procs.pop(job.id, None)
            self._conclude(job, rc, timed_out)

    def _conclude(self, job: Job, rc: Optional[int], timed_out: bool) -> None:
        """Record the end of a job whose process has ended (`rc` None: exit status unknown).

        job.json is written before the Job shows the end, so whoever sees a job ended (a
        poller, a runner started next) finds the same in its file."""
        state, error = job.state, job.error
        if job.id in self._cancel:
            state = "cancelled"
        elif timed_out:
            state, error = "failed", f"stopped after {self.max_seconds:.0f} s"
        elif rc == 0 or (rc is None and RunDir(job.dir / RUN_NAME).finished(MODEL_KIND[job.kind])):
            state = "done"
        else:
            state = "failed"
            error = _last_line(job.output_tail(5)) or (f"exit status {rc}" if rc is not None else
                                                       "its process ended before the last step")
        ended = replace(job, state=state, error=error, returncode=rc, ended=time.time())
        self._save(ended)
        job.state, job.error, job.returncode, job.ended = ended.state, ended.error, ended.returncode, ended.ended

    def _save(self, job: Job) -> None:
        atomic_write_text(job.dir / "job.json", json.dumps(job.to_json(), indent=1))


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
