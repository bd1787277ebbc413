"""One line, exit 2, for every user error on the CLI: argparse's own usage errors, bad devices,
outputs that cannot be written and invalid worker counts, each run as a real `npp` process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def npp(*args, timeout: int = 300):
    return subprocess.run([sys.executable, "-m", "npp", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line(proc, command: str, *needles: str) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"{command}: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture()
def img(photo_path):
    return photo_path("chelsea")


@pytest.fixture()
def data_dir(tmp_path, photo_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "chelsea.png").write_bytes(photo_path("chelsea").read_bytes())
    return d


# --- argparse's own errors -------------------------------------------------------------------------

@pytest.mark.parametrize("args, command, needle", [
    (["encode", "IMG", "-o", "OUT", "--codec", "jpeg", "--qp", "abc"], "npp encode", "argument --qp: invalid int value: 'abc'"),
    (["encode", "IMG", "-o", "OUT", "--codec", "webp", "--qp", "30"], "npp encode", "argument --codec: invalid choice: 'webp'"),
    (["encode", "IMG", "--qp", "30"], "npp encode", "the following arguments are required: -o/--output, --codec"),
    (["preprocess", "IMG", "-o", "OUT", "--qp", "3x"], "npp preprocess", "argument --qp: invalid int value"),
    (["evaluate", "--data", "IMG", "--codec", "jpeg", "--out", "OUT", "--jobs", "two"], "npp evaluate", "argument --jobs"),
    (["train", "--data", "IMG", "--steps", "many", "--out", "OUT"], "npp train", "argument --steps"),
    (["classify"], "npp classify", "the following arguments are required: INPUT"),
    (["decode", "IMG", "-o", "OUT", "--bogus"], "npp decode", "unrecognized arguments: --bogus"),
    (["bogus"], "npp", "argument COMMAND: invalid choice: 'bogus'"),
    ([], "npp", "the following arguments are required: COMMAND"),
])
def test_usage_errors_are_one_line(tmp_path, img, args, command, needle):
    args = [{"IMG": img, "OUT": tmp_path / "out"}.get(a, a) for a in args]
    assert_one_line(npp(*args), command, needle)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["--help"], ["encode", "--help"], ["evaluate", "-h"]])
def test_help_still_prints_the_whole_usage(args):
    proc = npp(*args)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: npp") and len(proc.stdout.splitlines()) > 10


def test_version_still_works():
    proc = npp("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("npp ")


# --- devices ---------------------------------------------------------------------------------------

DEVICE_COMMANDS = {
    "preprocess": ["preprocess", "IMG", "-o", "OUT/x.png", "--qp", "30"],
    "classify": ["classify", "IMG"],
    "detect": ["detect", "IMG"],
    "pose": ["pose", "IMG"],
    "gradcam": ["gradcam", "IMG", "-o", "OUT/x.png"],
    "train": ["train", "--data", "DATA", "--steps", "1", "--out", "OUT/run", "--workers", "0"],
    "train-proxy": ["train-proxy", "--data", "DATA", "--steps", "1", "--out", "OUT/run", "--codec", "jpeg", "--workers", "0"],
}


@pytest.mark.parametrize("command, device, needle", [(c, "bogus", "not a device name") for c in sorted(DEVICE_COMMANDS)]
                         + [("preprocess", "mps", "only cpu and cuda"), ("classify", "cuda:99", "cuda")])
def test_bad_devices_are_one_line_for_every_command(tmp_path, img, data_dir, command, device, needle):
    args = [{"IMG": img, "DATA": data_dir}.get(a, a) for a in DEVICE_COMMANDS[command]]
    args = [str(a).replace("OUT", str(tmp_path / "out")) for a in args]
    assert_one_line(npp(*args, "--device", device), f"npp {command}", f"device", needle)
    assert not (tmp_path / "out" / "x.png").exists() and not (tmp_path / "out" / "run" / "last.pt").exists()


# --- outputs that cannot be written ---------------------------------------------------------------------

def test_output_in_a_folder_nobody_may_write_is_one_line(img):
    # sysfs refuses new files even to root
    target = Path("/sys/npp-reliability-test.jpg")
    assert not target.exists()
    line = assert_one_line(npp("encode", img, "-o", target, "--codec", "jpeg", "--qp", "30"), "npp encode",
                           f"cannot write {target}", "Permission denied")
    assert ".tmp" not in line  # the destination is named, not the temp file


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a read-only folder")
def test_output_in_a_read_only_folder_is_refused_before_any_work(tmp_path, img):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert_one_line(npp("preprocess", img, "-o", locked / "x.png", "--qp", "30"), "npp preprocess",
                        f"cannot write {locked}", "permission denied")
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("command", ["encode", "decode", "preprocess", "gradcam"])
def test_output_under_a_file_is_one_line(tmp_path, img, command):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = blocker / "x.png"
    if command == "decode":
        coded = tmp_path / "c.jpg"
        assert npp("encode", img, "-o", coded, "--codec", "jpeg", "--qp", "30").returncode == 0
        args = ["decode", coded, "-o", out]
    else:
        args = {"encode": ["encode", img, "-o", out, "--codec", "jpeg", "--qp", "30"],
                "preprocess": ["preprocess", img, "-o", out, "--qp", "30"],
                "gradcam": ["gradcam", img, "-o", out]}[command]
    assert_one_line(npp(*args), f"npp {command}", f"cannot write {blocker}", "is not a folder")


@pytest.mark.parametrize("command", ["evaluate", "train", "train-proxy", "evaluate-merge"])
def test_run_and_result_folders_under_a_file_are_one_line(tmp_path, data_dir, command):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = blocker / "run"
    args = {"evaluate": ["evaluate", "--data", data_dir, "--codec", "jpeg", "--out", out],
            "train": ["train", "--data", data_dir, "--steps", "1", "--out", out],
            "train-proxy": ["train-proxy", "--data", data_dir, "--steps", "1", "--out", out, "--codec", "jpeg"],
            "evaluate-merge": ["evaluate-merge", tmp_path / "missing", "--out", out]}[command]
    assert_one_line(npp(*args), f"npp {command}", "cannot write", "is not a folder")


# --- worker counts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("jobs", ["-1", "100000"])
def test_evaluate_refuses_impossible_job_counts(tmp_path, data_dir, jobs):
    assert_one_line(npp("evaluate", "--data", data_dir, "--codec", "jpeg", "--out", tmp_path / "ev", "--jobs", jobs),
                    "npp evaluate", f"--jobs {jobs}")
    assert not (tmp_path / "ev").exists()


@pytest.mark.parametrize("command", ["train", "train-proxy"])
@pytest.mark.parametrize("flag, value", [("--workers", "-1"), ("--threads", "0"), ("--threads", "-2")])
def test_training_refuses_impossible_worker_and_thread_counts(tmp_path, data_dir, command, flag, value):
    extra = ["--codec", "jpeg"] if command == "train-proxy" else []
    proc = npp(command, "--data", data_dir, "--steps", "1", "--out", tmp_path / "run", *extra, flag, value)
    assert_one_line(proc, f"npp {command}", f"{flag} {value}")
    assert not (tmp_path / "run").exists()
