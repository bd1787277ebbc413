"""Start the app the way a user does (`python app.py` with GRADIO_SERVER_PORT) in a
subprocess, wait until it answers, and stop it afterwards."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]


def has_command(name: str) -> bool:
    """Whether `python -m npp <name>` exists in this checkout (parts land at different times)."""
    from npp.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return name in sub.choices


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(env: dict | None = None, timeout: float = 240.0, cwd: Path = ROOT) -> Iterator[str]:
    """Yield the base URL of a freshly started app (`python app.py` in `cwd`, with `env` over this
    process's environment, a None value removing the variable); its output goes to a temp log file."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="npp-app-test-", suffix=".log", delete=False)
    full_env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1",
                    GRADIO_ANALYTICS_ENABLED="False", **(env or {}))
    full_env = {k: v for k, v in full_env.items() if v is not None}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=cwd, env=full_env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited with {proc.returncode}:\n{Path(log.name).read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "gradio_api/info", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"app did not answer within {timeout:.0f} s:\n{Path(log.name).read_text()[-3000:]}")
            time.sleep(1.0)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        os.unlink(log.name)
