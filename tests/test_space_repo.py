"""The repository stays deployable as a Hugging Face Space (docs/spaces.md): the README's front
matter names the Gradio that requirements.txt pins and an existing app file, the Space-only
pre-requirements.txt installs the same torch as requirements.txt, and every tracked file the
Hub would refuse through plain git (a binary over 1 MB) goes through LFS."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HUB_BINARY_LIMIT = 1_000_000


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert m, "README.md must start with a YAML front matter block"
    return yaml.safe_load(m.group(1))


def pins(path: Path) -> dict:
    """{package: version} of the `name==version` lines of a requirements file."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\s*([A-Za-z0-9_.-]+)==([^\s#;]+)", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_front_matter_pins_what_the_space_runs():
    meta = front_matter()
    assert meta["sdk"] == "gradio"
    assert meta["sdk_version"] == pins(ROOT / "requirements.txt")["gradio"]
    assert str(meta["python_version"]) == "3.11"
    assert (ROOT / meta["app_file"]).is_file()


def test_pre_requirements_install_the_torch_that_requirements_pin():
    pre, req = pins(ROOT / "pre-requirements.txt"), pins(ROOT / "requirements.txt")
    assert set(pre) == {"torch", "torchvision"}
    assert all(pre[p] == req[p] for p in pre)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in (ROOT / "pre-requirements.txt").read_text()
    assert "download.pytorch.org" not in (ROOT / "requirements.txt").read_text()  # CI reaches PyPI only


def is_binary(path: Path) -> bool:
    """git's own test: a NUL byte in the first 8000 bytes."""
    with open(path, "rb") as fh:
        return b"\0" in fh.read(8000)


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_binaries_over_one_megabyte_go_through_lfs():
    large = [p for p in _git("ls-files", "-z").split("\0")
             if p and (ROOT / p).is_file() and (ROOT / p).stat().st_size > HUB_BINARY_LIMIT and is_binary(ROOT / p)]
    assert "weights/npp.safetensors" in large  # the check sees the files it is about
    attrs = _git("check-attr", "filter", "--", *large)
    untracked = [line for line in attrs.splitlines() if not line.endswith(": filter: lfs")]
    assert not untracked, f"add these to .gitattributes: {untracked}"
