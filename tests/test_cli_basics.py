"""The CLI contract: one JSON object per input, `<stem>.<ext>` outputs, one-line errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def npp(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "npp", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc


def test_encode_several_inputs_to_folder(tmp_path, photo_path):
    out = tmp_path / "out"
    proc = npp("encode", "--codec", "jpeg", "--qp", "32", photo_path("chelsea"),
               photo_path("coffee"), "-o", out, "--json")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [Path(r["output"]).name for r in rows] == ["chelsea.jpg", "coffee.jpg"]
    for r in rows:
        size = (out / Path(r["output"]).name).stat().st_size
        assert r["bytes"] == size
        assert r["bpp"] == pytest.approx(8 * size / (r["width"] * r["height"]))
        assert {"codec", "qp", "width", "height", "bytes", "bpp", "encode_ms"} <= set(r)


@pytest.mark.parametrize("args, message", [
    (["encode", "--codec", "jpeg", "--qp", "60", "IMG", "-o", "OUT"], "QP must be"),
    (["encode", "--codec", "jpeg", "--qp", "30", "NOTIMG", "-o", "OUT"], "not a readable image"),
    (["decode", "NOTIMG", "-o", "OUT"], "unrecognised file"),
])
def test_errors_are_one_line(tmp_path, photo_path, args, message):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x00garbage")
    args = [{"IMG": photo_path("chelsea"), "NOTIMG": bad, "OUT": tmp_path / "o"}.get(a, a) for a in args]
    proc = npp(*args, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_codec_is_refused(tmp_path, photo_path):
    proc = npp("encode", "--codec", "webp", "--qp", "30", photo_path("chelsea"), "-o", tmp_path / "x", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "webp" in proc.stderr
