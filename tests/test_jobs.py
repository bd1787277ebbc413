"""The Train tab's job runner: real `python -m npp ...` processes, one at a time, cancel,
progress from the JSON-lines log, allow-listed server folders, public mode."""
from __future__ import annotations

import hashlib
import json
import time

import pytest

from npp.errors import NppError
from npp.codecs import parse_qps
from npp.jobs import (JobRunner, allowed_data_dirs, copy_uploads, new_token, resolve_data_dir,
                      training_args)
from tests.appserver import has_command


@pytest.fixture
def runner(tmp_path):
    return JobRunner(tmp_path / "jobs")


@pytest.fixture
def token():
    return new_token()


def test_failed_job_reports_its_last_line(runner, token, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    job_dir = runner.new_job_dir()
    job = runner.submit("train-proxy", training_args("train-proxy", empty, job_dir, "jpeg", "37", 2, 1e-4), job_dir,
                        token=token)
    job = runner.wait(job.id, 120)
    assert job.state == "failed" and job.returncode not in (0, None)
    assert job.error and "Traceback" not in job.error
    assert json.loads((job_dir / "job.json").read_text())["state"] == "failed"
    assert job.checkpoint() is None and runner.checkpoints("train-proxy") == {}


def test_progress_is_read_from_the_log(runner, token):
    job_dir = runner.new_job_dir()
    job = runner.submit("train", ["--help"], job_dir, token=token, steps=4)
    job.log_path.parent.mkdir()
    job.log_path.write_text('{"step": 1, "steps": 4, "loss": 2.5}\n{"step": 2, "steps": 4, "loss": 1.5}\n{"st')
    pr = job.progress()
    assert pr["step"] == 2 and pr["steps"] == 4 and pr["fraction"] in (0.5, 1.0)
    assert pr["losses"] == [(1, 2.5), (2, 1.5)]
    runner.wait(job.id, 120)


@pytest.mark.skipif(not has_command("train-proxy"), reason="npp train-proxy has not landed in this checkout")
def test_one_job_at_a_time_and_cancel(runner, token, photo_path, tmp_path):
    photos = copy_uploads([str(photo_path(n)) for n in ("chelsea", "coffee")], tmp_path / "photos")
    jobs = []
    for _ in range(2):
        d = runner.new_job_dir()
        jobs.append(runner.submit("train-proxy", training_args("train-proxy", photos, d, "jpeg", "37", 100000, 1e-4), d,
                                 token=token, steps=100000))
    first, second = jobs
    deadline = time.monotonic() + 300
    while first.progress()["step"] < 1 and time.monotonic() < deadline and first.state in ("queued", "running"):
        time.sleep(0.5)
    assert first.state == "running" and first.progress()["step"] >= 1, first.output_tail()
    assert second.state == "queued"
    runner.cancel(second.id, token)
    assert second.state == "cancelled"
    runner.cancel(first.id, token)
    assert runner.wait(first.id, 60).state == "cancelled"
    assert runner.jobs()[-1].state == "cancelled"


def test_public_mode_switches_training_off(runner, token, monkeypatch):
    monkeypatch.setenv("NPP_PUBLIC", "1")
    with pytest.raises(NppError, match="switched off"):
        runner.submit("train", [], runner.new_job_dir(), token=token)


def test_server_folders_come_from_the_allow_list(tmp_path, monkeypatch):
    ok = tmp_path / "photos"
    ok.mkdir()
    monkeypatch.setenv("NPP_DATA_DIRS", f"{ok}:{tmp_path / 'missing'}")
    assert allowed_data_dirs() == [ok.resolve()]
    from npp.commands.info import collect

    assert collect()["app"]["data_dirs"] == [str(ok.resolve())]
    assert resolve_data_dir(str(ok.resolve())) == ok.resolve()
    for bad in ("/etc", str(tmp_path), f"{ok}/..", str(tmp_path / "missing")):
        with pytest.raises(NppError, match="not one of the server's photo folders"):
            resolve_data_dir(bad)


def test_uploads_are_copied_under_fresh_names(photo_path, tmp_path):
    out = copy_uploads([str(photo_path("chelsea")), str(photo_path("rocket"))], tmp_path / "p")
    assert sorted(p.name for p in out.iterdir()) == ["photo0000.png", "photo0001.jpg"]
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    with pytest.raises(NppError, match="not an image file"):
        copy_uploads([str(notes)], tmp_path / "q")
    with pytest.raises(NppError, match="no photos"):
        copy_uploads([], tmp_path / "r")


def test_argument_checks():
    assert parse_qps("28, 31 34") == [28, 31, 34]
    for bad in ("", "a,b", "28, 60"):
        with pytest.raises(NppError):
            parse_qps(bad)
    with pytest.raises(NppError, match="steps"):
        training_args("train", "p", "d", "jpeg", "37", 0, 1e-4)
    with pytest.raises(NppError, match="learning rate"):
        training_args("train", "p", "d", "jpeg", "37", 10, 5.0)
    with pytest.raises(NppError, match="unknown codec"):
        training_args("train", "p", "d", "webp", "37", 10, 1e-4)


def test_a_restarted_server_knows_its_jobs(tmp_path, token):
    first = JobRunner(tmp_path / "jobs")
    d = first.new_job_dir()
    done = first.wait(first.submit("train", ["--no-such-flag"], d, token=token, steps=3).id, 120)
    ghost = first.new_job_dir()  # a job the previous server was starting when it died (no process recorded)
    (ghost / "job.json").write_text(json.dumps({"id": "gH0st", "seq": 7, "kind": "train-proxy", "args": ["--data", "x"],
                                                "title": "t", "steps": 10, "state": "running", "created": 0.0,
                                                "owner": hashlib.sha256(token.encode()).hexdigest()}))
    second = JobRunner(tmp_path / "jobs")
    jobs = {j.id: j for j in second.jobs()}
    assert jobs[done.id].state == "failed" and jobs["gH0st"].state == "failed" and "interrupted" in jobs["gH0st"].error
    with pytest.raises(NppError, match="no checkpoint"):
        second.resume("gH0st", token)
    (ghost / "run").mkdir()
    (ghost / "run" / "last.pt").write_bytes(b"")  # what a killed training run leaves behind
    resumed = second.resume("gH0st", token)
    assert resumed.id not in jobs and resumed.args[-1] == "--resume" and resumed.dir == ghost
    assert [j.id for j in second.jobs()][-1] == resumed.id and resumed.owned_by(token)
    second.wait(resumed.id, 120)
    helped = second.wait(second.submit("train", ["--help"], second.new_job_dir(), token=token).id, 120)
    with pytest.raises(NppError, match="only a failed or cancelled job" if helped.state == "done" else "no checkpoint"):
        second.resume(helped.id, token)
