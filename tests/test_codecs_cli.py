"""`npp encode/decode/info` with the real codecs: written files, JSON rows, one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bellard import psnr
from npp.codecs import bpgfile, create_codec, list_codecs

ROOT = Path(__file__).resolve().parents[1]
FLAGS = {"bpg": ["--level", "2", "--chroma", "444"], "vvc": ["--preset", "faster"], "jpeg": ["--quality", "90"]}
OPTIONS = {"bpg": {"level": 2, "chroma": "444"}, "vvc": {"preset": "faster"}, "jpeg": {"quality": 90}}


def npp(*args, env=None):
    return subprocess.run([sys.executable, "-m", "npp", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def small_png(tmp_path_factory, photo):
    path = tmp_path_factory.mktemp("in") / "cat.png"
    Image.fromarray(photo("chelsea")[60:156, 130:258]).save(path)
    return path


def _one_line_error(proc, *words):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.parametrize("name", list_codecs())
def test_encode_decode_with_default_options(name, small_png, tmp_path, bellard):
    enc = npp("encode", "--codec", name, "--qp", "30", small_png, "-o", tmp_path / "x", "--json")
    assert enc.returncode == 0, enc.stderr
    row = json.loads(enc.stdout)
    out = Path(row["output"])
    assert out.suffix == create_codec(name).extension
    assert row["bytes"] == out.stat().st_size
    assert row["bpp"] == pytest.approx(8 * out.stat().st_size / (128 * 96))
    assert (row["codec"], row["qp"], row["width"], row["height"]) == (name, 30, 128, 96)
    assert {k: row[k] for k in create_codec(name).options()} == create_codec(name).options()
    dec = npp("decode", out, "-o", tmp_path / "back.png", "--json")
    assert dec.returncode == 0, dec.stderr
    assert json.loads(dec.stdout)["codec"] == name
    back = np.asarray(Image.open(tmp_path / "back.png").convert("RGB"))
    src = np.asarray(Image.open(small_png).convert("RGB"))
    assert back.shape == src.shape and psnr(back, src) > 30
    if name == "bpg":
        bellard.add(out.read_bytes(), back, "CLI default level")


@pytest.mark.parametrize("name", list_codecs())
def test_codec_flags_reach_the_codec(name, small_png, tmp_path, bellard):
    proc = npp("encode", "--codec", name, "--qp", "30", *FLAGS[name], small_png, "-o", tmp_path / "x", "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    data = Path(row["output"]).read_bytes()
    assert {k: row[k] for k in OPTIONS[name]} == OPTIONS[name]
    assert data == create_codec(name, **OPTIONS[name]).encode(
        np.asarray(Image.open(small_png).convert("RGB")), 30).data
    if name == "bpg":
        assert bpgfile.read_header(data)[0].chroma == "444"
        bellard.add(data, create_codec(name, **OPTIONS[name]).decode(data), "CLI --level 2 --chroma 444")


@pytest.mark.parametrize("name", list_codecs())
def test_truncated_and_corrupt_files_fail_in_one_line(name, small_png, tmp_path, bellard):
    proc = npp("encode", "--codec", name, "--qp", "30", *FLAGS[name], small_png, "-o", tmp_path / "x", "--json")
    data = Path(json.loads(proc.stdout)["output"]).read_bytes()
    if name == "bpg":
        bellard.add(data, create_codec(name, **OPTIONS[name]).decode(data), "CLI before damage")
    cut = tmp_path / f"cut{create_codec(name).extension}"
    cut.write_bytes(data[: len(data) * 3 // 4])
    _one_line_error(npp("decode", cut, "-o", tmp_path / "c.png"), str(cut))
    assert not (tmp_path / "c.png").exists()
    bad = tmp_path / f"bad{create_codec(name).extension}"
    bad.write_bytes(data[:4] + b"\x00" * 64)
    _one_line_error(npp("decode", bad, "-o", tmp_path / "b.png"), str(bad))
    assert not (tmp_path / "b.png").exists()


def test_missing_vvc_encoder_is_reported(small_png, tmp_path):
    # imageio-ffmpeg honours IMAGEIO_FFMPEG_EXE: point it at an ffmpeg-less "ffmpeg"
    env = {"IMAGEIO_FFMPEG_EXE": "/bin/false"}
    info = json.loads(npp("info", "--json", env=env).stdout)
    assert info["codecs"]["vvc"]["available"] is False and "libvvenc" in info["codecs"]["vvc"]["reason"]
    assert info["codecs"]["bpg"]["available"] is True
    _one_line_error(npp("encode", "--codec", "vvc", "--qp", "30", small_png, "-o", tmp_path / "x", env=env),
                    "vvc", "not available", "libvvenc")


def test_info_lists_every_codec_as_available_here():
    info = json.loads(npp("info", "--json").stdout)
    assert set(info["codecs"]) == set(list_codecs())
    assert all(c["available"] and c["reason"] == "" for c in info["codecs"].values())


@pytest.mark.parametrize("args, words", [
    (["--codec", "bpg", "--qp", "52"], ["QP must be"]),
    (["--codec", "bpg", "--qp", "30", "--level", "0"], ["--level"]),
    (["--codec", "vvc", "--qp", "30", "--preset", "placebo"], ["--preset"]),
    (["--codec", "bpg", "--qp", "30", "--chroma", "422"], ["--chroma"]),
])
def test_bad_codec_arguments_fail_in_one_line(args, words, small_png, tmp_path):
    proc = npp("encode", *args, small_png, "-o", tmp_path / "x")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert all(w in proc.stderr for w in words), proc.stderr


def test_decode_reads_genuine_bpgenc_files(tmp_path):
    expected = ROOT / "tests" / "expected"
    files = sorted(expected.glob("genuine_*.bpg"))
    proc = npp("decode", *files, "-o", tmp_path, "--json")
    assert proc.returncode == 0, proc.stderr
    for f in files:
        ours = np.asarray(Image.open(tmp_path / f"{f.stem}.png").convert("RGB"))
        ref = np.asarray(Image.open(expected / f"{f.stem}.bpgdec.png").convert("RGB"))
        assert ours.shape == ref.shape and psnr(ours, ref) >= 37
