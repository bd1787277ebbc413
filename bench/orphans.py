"""Time from a SIGKILL of a training process to the end of every process below it (its codec
workers and the multiprocessing resource tracker, which before the fix waited forever).

Starts a real `python -m npp train-proxy --workers 2` (JPEG, 48 px crops of two scikit-image
photos) in its own process group, waits until a step has gone through its codec workers,
SIGKILLs the trainer alone and polls the process table every 10 ms until none of its
descendants is alive (or --limit seconds pass: then they are listed, killed, and the exit
status is 1). Repeated --runs times.

Usage: .venv/bin/python bench/orphans.py [--runs 3] [--limit 120]
Writes bench/results/orphans.json."""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.fsutil import atomic_write_text  # noqa: E402
from npp.processes import descendants, is_alive  # noqa: E402


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def one_run(data: Path, out: Path, limit: float) -> dict:
    cmd = [sys.executable, "-m", "npp", "train-proxy", "--codec", "jpeg", "--qps", "30,38", "--data", str(data),
           "--out", str(out), "--batch", "2", "--crop", "48", "--workers", "2", "--steps", "1000000", "--quiet",
           "--threads", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not ((out / "log.jsonl").is_file() and sum("spawn_main" in cmdline(p) for p in descendants(proc.pid)) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the trainer ended or started no workers (status {proc.poll()})")
            time.sleep(0.1)
        tree = descendants(proc.pid)
        kinds = sorted("resource tracker" if "resource_tracker" in cmdline(p) else "codec worker" for p in tree)
        t0 = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        while any(is_alive(p, i) for p, i in tree.items()) and time.monotonic() - t0 < limit:
            time.sleep(0.01)
        seconds = time.monotonic() - t0
        left = [cmdline(p) for p, i in tree.items() if is_alive(p, i)]
        return {"descendants": kinds, "seconds_to_none_left": round(seconds, 3), "left": left}
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=float, default=120.0, help="give up (and report what is left) after this long")
    args = ap.parse_args()
    import skimage
    from PIL import Image

    runs = []
    with tempfile.TemporaryDirectory(prefix="npp-orphans-") as tmp:
        data = Path(tmp) / "photos"
        data.mkdir()
        for name in ("chelsea", "coffee"):
            with Image.open(Path(skimage.__file__).parent / "data" / f"{name}.png") as im:
                im.convert("RGB").crop((0, 0, 128, 128)).save(data / f"{name}.png")
        for i in range(args.runs):
            runs.append(one_run(data, Path(tmp) / f"run{i}", args.limit))
            print(json.dumps(runs[-1]), flush=True)
    secs = [r["seconds_to_none_left"] for r in runs]
    result = {"runs": runs, "median_s": statistics.median(secs), "max_s": max(secs),
              "all_ended": all(not r["left"] for r in runs), "loadavg_1min": round(os.getloadavg()[0], 2),
              "cpus": os.cpu_count(), "python": platform.python_version()}
    atomic_write_text(ROOT / "bench" / "results" / "orphans.json", json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}))
    return 0 if result["all_ended"] else 1


if __name__ == "__main__":
    sys.exit(main())
