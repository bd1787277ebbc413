"""Training under faults, with real `python -m npp train-proxy` processes: one trainer per run
folder (a second one, or a resume, is refused while the first lives, and a killed trainer's
folder resumes at once), and a SIGKILLed trainer leaves no process behind (its codec workers
and the multiprocessing resource tracker end with it).

Waiting loops have generous deadlines; what a test asserts never depends on how long
anything took."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List

import pytest
from PIL import Image

from npp.cli import main
from npp.processes import descendants, is_alive

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, photo):
    d = tmp_path_factory.mktemp("photos")
    for name in ("chelsea", "coffee"):
        Image.fromarray(photo(name)[:128, :128]).save(d / f"{name}.png")
    return d


def train_args(data_dir: Path, out: Path, workers: int) -> List[str]:
    return ["train-proxy", "--codec", "jpeg", "--qps", "30,38", "--data", str(data_dir), "--out", str(out),
            "--batch", "2", "--crop", "48", "--workers", str(workers), "--save-every", "1",
            "--quiet", "--threads", "1"]


def start_trainer(args: List[str]) -> subprocess.Popen:
    """A real long training process in its own process group (so a failed test can clean up)."""
    return subprocess.Popen([sys.executable, "-m", "npp", *args, "--steps", "1000000"], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def wait_for(what: str, ready: Callable[[], bool], proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the trainer ended (status {proc.returncode}) before {what}: "
                        f"{proc.stderr.read().decode(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s")
        time.sleep(0.2)


def logged_steps(out: Path) -> List[int]:
    try:
        return [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    except FileNotFoundError:
        return []


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def assert_sigkill_leaves_nothing(proc: subprocess.Popen) -> None:
    """SIGKILL `proc` alone; every process below it must end too (within a generous minute:
    they end within a second or two, and without the fix they wait forever)."""
    tree = descendants(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 60
    while any(is_alive(p, ident) for p, ident in tree.items()) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [cmdline(p) for p, ident in tree.items() if is_alive(p, ident)]
    assert left == [], f"left behind after SIGKILL: {left}"


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def test_a_second_trainer_on_a_living_run_folder_is_refused(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    args = train_args(data_dir, out, workers=0)
    first = start_trainer(args)
    try:
        wait_for("checkpoint", lambda: (out / "last.pt").is_file() and len(logged_steps(out)) >= 2, first)
        for extra in ([], ["--resume"]):  # a new run and a resume are both refused, in one line
            assert main([*args, "--steps", "5", *extra]) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and "Traceback" not in err, err
            assert "another trainer" in err and f"pid {first.pid}" in err and err.startswith("npp train-proxy: error:")
        assert first.poll() is None  # the first trainer is untouched and still logging in order
        n = len(logged_steps(out))
        wait_for("more steps", lambda: len(logged_steps(out)) > n, first)
        steps = logged_steps(out)
        assert steps == list(range(1, len(steps) + 1))
    finally:
        kill_group(first)
    # the kernel dropped the dead trainer's lock: its folder resumes at once
    saved = len(logged_steps(out))
    assert main([*args, "--steps", str(saved + 2), "--resume"]) == 0
    steps = logged_steps(out)
    assert steps == list(range(1, len(steps) + 1)) and steps[-1] >= 3


def test_a_killed_trainer_leaves_no_process_behind(data_dir, tmp_path):
    out = tmp_path / "run"
    trainer = start_trainer(train_args(data_dir, out, workers=2))
    try:
        # its two codec workers exist once a step has gone through the codec (and they did the work)
        wait_for("codec workers", lambda: logged_steps(out) and sum(
            "multiprocessing" in cmdline(p) and "resource_tracker" not in cmdline(p)
            for p in descendants(trainer.pid)) >= 2, trainer)
        assert any("resource_tracker" in cmdline(p) for p in descendants(trainer.pid))
        assert_sigkill_leaves_nothing(trainer)
    finally:
        kill_group(trainer)


def test_a_killed_evaluation_leaves_no_process_behind():
    """`npp evaluate`'s process pool (make_executor) the same way, its workers busy in a task."""
    code = ("import sys, time\n"
            "from npp.evaluate.sweep import make_executor\n"
            "pool = make_executor(2)\n"
            "busy = [pool.submit(time.sleep, 3600) for _ in range(2)]\n"
            "time.sleep(3600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for("pool workers", lambda: sum("spawn_main" in cmdline(p) for p in descendants(proc.pid)) >= 2, proc)
        assert_sigkill_leaves_nothing(proc)
    finally:
        kill_group(proc)
