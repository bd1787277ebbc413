"""`npp compress` / `npp decompress` through the CLI: real files for every method the docs
names on every codec, `plain` byte-identical to `npp encode`, the documented JSON fields."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from npp.codecs import create_codec, list_codecs
from npp.image import load_rgb

METHODS = ("plain", "npp", "blur:1.0", "down:2", "resize:256")
AVAILABLE = [c for c in list_codecs() if create_codec(c).availability()[0]]


def npp(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "npp", *map(str, args)], capture_output=True, text=True, timeout=900)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize("codec", AVAILABLE)
def test_compress_every_method(codec, photo_path, tmp_path):
    src = photo_path("chelsea")  # 451 x 300
    ext = create_codec(codec).extension
    rows = {}
    for m in METHODS:
        out = tmp_path / m.replace(":", "_")
        row = json.loads(npp("compress", "--method", m, "--codec", codec, "--qp", 37, src, "-o", out / f"c{ext}",
                             "--json").stdout)
        assert set(row) >= {"input", "method", "codec", "qp", "width", "height", "bytes", "bpp"}
        assert (row["method"], row["codec"], row["qp"], row["width"], row["height"]) == (m, codec, 37, 451, 300)
        data = (out / f"c{ext}").read_bytes()
        assert row["bytes"] == len(data) and row["bpp"] == 8 * len(data) / (451 * 300)
        rows[m] = row
    enc = json.loads(npp("encode", "--codec", codec, "--qp", 37, src, "-o", tmp_path / f"e{ext}", "--json").stdout)
    assert (tmp_path / f"e{ext}").read_bytes() == (tmp_path / "plain" / f"c{ext}").read_bytes()
    assert enc["bpp"] == rows["plain"]["bpp"]
    assert rows["down:2"]["bytes"] < rows["plain"]["bytes"] and rows["npp"]["bytes"] < rows["plain"]["bytes"]


def test_decompress_restores_what_the_receiver_sees(photo_path, tmp_path):
    src = photo_path("chelsea")
    npp("compress", "--method", "resize:256", "--codec", "jpeg", "--qp", 30, src, "-o", tmp_path / "r.jpg")
    bad = npp("decompress", "--method", "resize:256", tmp_path / "r.jpg", "-o", tmp_path / "r.png", check=False)
    assert bad.returncode == 2 and "--size" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    row = json.loads(npp("decompress", "--method", "resize:256", "--size", "451x300", tmp_path / "r.jpg", "-o",
                         tmp_path / "r.png", "--json").stdout)
    assert (row["width"], row["height"]) == (451, 300)
    from npp.methods import code, create_method

    expected = code(create_method("resize:256"), create_codec("jpeg"), load_rgb(src), 30).decoded
    assert np.array_equal(load_rgb(tmp_path / "r.png"), expected)  # the CLI receiver = the engine's
    npp("compress", "--method", "down:2", "--codec", "jpeg", "--qp", 30, src, "-o", tmp_path / "d.jpg")
    row = json.loads(npp("decompress", "--method", "down:2", tmp_path / "d.jpg", "-o", tmp_path / "d.png",
                         "--json").stdout)
    assert (row["width"], row["height"]) == (452, 300)  # inferred from the factor: within a pixel


def test_several_inputs_and_bad_methods(photo_path, tmp_path):
    rows = [json.loads(line) for line in npp("compress", "--method", "blur:1.0", "--codec", "jpeg", "--qp", 35,
                                             photo_path("chelsea"), photo_path("coffee"), "-o", tmp_path / "out",
                                             "--json").stdout.splitlines()]
    assert [r["output"].rsplit("/", 1)[1] for r in rows] == ["chelsea.jpg", "coffee.jpg"]
    for method, message in [("sharpen:2", "unknown method"), ("blur:-1", "SIGMA")]:
        proc = npp("compress", "--method", method, "--codec", "jpeg", "--qp", 35, photo_path("chelsea"), "-o",
                   tmp_path / "x.jpg", check=False)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
