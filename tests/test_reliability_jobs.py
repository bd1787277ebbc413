"""The Train tab's jobs and the app's temp folders under faults, with real processes: an app
(a real process running a JobRunner) is SIGKILLed while its job trains; a new runner on the
same folder re-attaches to the living job (it stays running, its progress advances, its end
is noticed, cancel stops it), jobs are controlled only with their owner's token, and the temp
folders of killed apps are swept while living apps' folders are kept.

The trainer is frozen (SIGSTOP) from before its first step until the new runner has
re-attached, so nothing here depends on how fast anything runs; waits have generous deadlines."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
from PIL import Image

from npp.errors import NppError
from npp.jobs import JobRunner, new_token
from npp.processes import is_alive, process_identity
from npp.tempstore import OWNER, TempStore

ROOT = Path(__file__).resolve().parents[1]

#: The app's part, in a process of its own: a runner, one submitted job, then nothing.
OLD_APP = """
import os, sys, time
from pathlib import Path
from npp.jobs import JobRunner, training_args
root, photos, steps = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
runner = JobRunner(root)
d = runner.new_job_dir()
args = training_args("train-proxy", photos, d, "jpeg", "30,38", steps, 1e-4)
args += ["--batch", "2", "--crop", "48", "--workers", "0", "--threads", "1", "--save-every", "5", "--quiet"]
job = runner.submit("train-proxy", args, d, token=os.environ["NPP_TEST_TOKEN"], title="t", steps=steps)
print(job.id, flush=True)
time.sleep(3600)
"""


@pytest.fixture(scope="module")
def photos(tmp_path_factory, photo):
    d = tmp_path_factory.mktemp("photos")
    for name in ("chelsea", "coffee"):
        Image.fromarray(photo(name)[:128, :128]).save(d / f"{name}.png")
    return d


def wait_until(what: str, ready: Callable[[], bool], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s")
        time.sleep(0.1)


def job_record(job_dir: Path) -> dict:
    try:
        return json.loads((job_dir / "job.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


@pytest.fixture
def orphaned_job(tmp_path, photos):
    """start(steps) -> (root, job id, token, trainer pid): an app process submits a job and is
    SIGKILLed once the job's process exists; the trainer is left frozen (SIGSTOP) and alive."""
    started = []

    def start(steps: int):
        root, token = tmp_path / "jobs", new_token()
        app = subprocess.Popen([sys.executable, "-c", OLD_APP, str(root), str(photos), str(steps)], cwd=ROOT,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True,
                               env={**os.environ, "NPP_TEST_TOKEN": token, "OMP_NUM_THREADS": "1"})
        started.append(app)
        job_id = app.stdout.readline().decode().strip()
        assert job_id, "the app process printed no job id"
        job_dir = next(p.parent for p in root.glob("*/job.json") if job_record(p.parent).get("id") == job_id)
        wait_until("job process", lambda: job_record(job_dir).get("pid") is not None)
        pid = job_record(job_dir)["pid"]
        os.killpg(pid, signal.SIGSTOP)  # frozen before its first step: it cannot end on its own now
        started.append(pid)
        os.kill(app.pid, signal.SIGKILL)  # the app dies without any clean-up
        app.wait(timeout=60)
        assert is_alive(pid, job_record(job_dir)["identity"]), "the job died with its app"
        return root, job_id, token, pid

    yield start
    for p in started:  # a failed test leaves nothing running
        try:
            os.killpg(p if isinstance(p, int) else p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_restarted_runner_reattaches_to_a_living_job_and_sees_it_end(orphaned_job):
    root, job_id, token, pid = orphaned_job(steps=12)
    runner = JobRunner(root)
    job = runner.get(job_id)
    assert job.state == "running" and job.reattached and job.progress()["step"] == 0 and job in runner.jobs(token)
    with pytest.raises(NppError, match="is running"):  # no second trainer on its folder
        runner.resume(job_id, token)
    os.killpg(pid, signal.SIGCONT)
    wait_until("end of the job", lambda: job.state != "running")
    assert job.state == "done", (job.error, job.output_tail())
    assert job.progress()["step"] == 12 and [r["step"] for r in job.records()] == list(range(1, 13))
    assert job.checkpoint() is not None and job.returncode is None  # not our child: no exit status
    assert json.loads((job.dir / "job.json").read_text())["state"] == "done"
    assert not is_alive(pid, job.identity)


def test_a_job_that_ended_while_no_runner_watched_is_judged_by_its_files(orphaned_job):
    root, job_id, token, pid = orphaned_job(steps=3)
    identity = json.loads(next(root.glob("*/job.json")).read_text())["identity"]
    os.killpg(pid, signal.SIGCONT)  # it finishes while no app is running
    wait_until("end of the trainer", lambda: not is_alive(pid, identity))
    job = JobRunner(root).get(job_id)
    assert job.state == "done" and not job.reattached and job.checkpoint() is not None, (job.error, job.output_tail())


def test_a_reattached_job_keeps_progressing_and_only_its_owner_can_cancel_it(orphaned_job):
    root, job_id, token, pid = orphaned_job(steps=1_000_000)
    runner = JobRunner(root)
    job = runner.get(job_id)
    assert job.state == "running"
    os.killpg(pid, signal.SIGCONT)
    wait_until("progress", lambda: job.progress()["step"] >= 2)
    for other in (new_token(), "", None):
        with pytest.raises(NppError, match="another session") as err:
            runner.cancel(job_id, other)
        assert len(str(err.value).splitlines()) == 1
    assert job.state == "running" and is_alive(pid, job.identity)
    runner.cancel(job_id, token)
    wait_until("cancellation", lambda: job.state != "running")
    assert job.state == "cancelled"
    wait_until("end of its process group", lambda: not is_alive(pid, job.identity))
    # a restart after that knows it as cancelled, not running
    assert JobRunner(root).get(job_id).state == "cancelled"


def test_jobs_have_unguessable_ids_and_need_their_token(tmp_path):
    runner, token = JobRunner(tmp_path / "jobs"), new_token()
    jobs = [runner.submit("train", ["--help"], runner.new_job_dir(), token=token) for _ in range(3)]
    ids = [j.id for j in jobs]
    assert len(set(ids)) == 3 and all(len(i) >= 12 and not i.isdigit() for i in ids)
    for j in jobs:
        runner.wait(j.id, 120)
    for action in (runner.cancel, runner.resume):
        with pytest.raises(NppError, match="started by another session"):
            action(ids[0], new_token())
    with pytest.raises(NppError, match="owner's token"):
        runner.submit("train", ["--help"], runner.new_job_dir(), token="")
    stored = (jobs[0].dir / "job.json").read_text()
    assert token not in stored and json.loads(stored)["owner"]  # only a hash of it
    assert runner.jobs(new_token()) == [] and [j.id for j in runner.jobs(token)] == ids


#: An app's temp store in a process of its own: print its root, then wait to be killed.
APP_STORE = """
import sys, time
from npp.tempstore import TempStore
print(TempStore(parent=sys.argv[1]).root, flush=True)
time.sleep(3600)
"""


def test_temp_folders_of_killed_apps_are_swept_and_living_ones_kept(tmp_path):
    apps = [subprocess.Popen([sys.executable, "-c", APP_STORE, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                             stdin=subprocess.DEVNULL) for _ in range(2)]
    try:
        living, killed = (Path(a.stdout.readline().decode().strip()) for a in apps)
        (killed / "request").mkdir()
        os.kill(apps[1].pid, signal.SIGKILL)  # no exit handler runs: its folder stays
        apps[1].wait(timeout=60)
        assert killed.is_dir() and living.is_dir()
        reused = tmp_path / "npp-app-reused"  # its owner's pid now names another process
        reused.mkdir()
        (reused / OWNER).write_text(json.dumps({"pid": os.getpid(), "identity": "another boot:1"}))
        old, fresh, other = tmp_path / "npp-app-old", tmp_path / "npp-app-fresh", tmp_path / "not-ours"
        for d in (old, fresh, other):
            d.mkdir()
        os.utime(old, (time.time() - 7200, time.time() - 7200))  # from before owner files
        os.utime(other, (time.time() - 7200, time.time() - 7200))
        store = TempStore(max_age_s=3600, parent=tmp_path)
        try:
            assert store.swept_abandoned == 3
            assert not killed.exists() and not reused.exists() and not old.exists()
            assert living.is_dir() and fresh.is_dir() and other.is_dir() and store.root.is_dir()
            assert json.loads((store.root / OWNER).read_text())["identity"] == process_identity(os.getpid())
        finally:
            store.close()
        assert living.is_dir()  # a living app's folder survives every sweep
    finally:
        for a in apps:
            a.kill()
            a.wait(timeout=60)
