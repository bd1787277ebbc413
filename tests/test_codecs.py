"""Every registered codec, on real photos: round trips, bits counted from the written file,
rate and quality against QP, odd sizes, truncated and corrupt files, concurrency."""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from bellard import psnr
from npp.codecs import create_codec, detect_codec, list_codecs
from npp.errors import NppError
from npp.fsutil import atomic_write_bytes

CODECS = list_codecs()
#: fast settings where the speed/quality trade-off does not matter (default level 8 and the
#: default preset are checked in test_bpg.py and test_codecs_cli.py)
QUICK = {"bpg": {"level": 3}, "vvc": {"preset": "faster"}}


def make(name: str, **extra):
    return create_codec(name, **{**QUICK.get(name, {}), **extra})


def encode_checked(bellard, name, rgb, qp, label, **extra):
    """Encode and decode; .bpg files also go to Bellard's decoder at the end of the session."""
    codec = make(name, **extra)
    enc = codec.encode(rgb, qp)
    out = codec.decode(enc.data)
    if name == "bpg":
        bellard.add(enc.data, out, f"{label} qp{qp} {codec.options()}")
    return enc, out


@pytest.fixture(scope="module")
def crop(photo):
    return photo("astronaut")[96:352, 128:384]  # 256x256: face, badge, flag


@pytest.mark.parametrize("name", CODECS)
def test_round_trip(name, photo, bellard):
    rgb = photo("coffee")[100:196, 200:328]
    enc, out = encode_checked(bellard, name, rgb, 27, "round trip")
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert psnr(out, rgb) > 30
    assert detect_codec(enc.data) == name
    assert (enc.codec, enc.qp, enc.width, enc.height) == (name, 27, 128, 96)
    assert enc.options == make(name).options()


@pytest.mark.parametrize("name", CODECS)
def test_bpp_is_counted_from_the_written_file(name, photo, tmp_path, bellard):
    rgb = photo("chelsea")[:150, :201]
    codec = make(name)
    enc = codec.encode(rgb, 32)
    path = tmp_path / f"x{codec.extension}"
    atomic_write_bytes(path, enc.data)
    size = path.stat().st_size
    assert enc.nbytes == size
    assert enc.bpp == pytest.approx(8 * size / (201 * 150), rel=1e-12)
    assert np.array_equal(codec.decode(path.read_bytes()), codec.decode(enc.data))
    if name == "bpg":
        bellard.add(enc.data, codec.decode(enc.data), "written file")


@pytest.mark.parametrize("name", CODECS)
def test_rate_falls_and_quality_is_sane_with_qp(name, crop, bellard):
    qps = [22, 27, 32, 37, 42]
    rows = [encode_checked(bellard, name, crop, qp, "qp sweep") for qp in qps]
    bpp = [enc.bpp for enc, _ in rows]
    db = [psnr(out, crop) for _, out in rows]
    assert all(a > b for a, b in zip(bpp, bpp[1:])), bpp
    assert all(a > b for a, b in zip(db, db[1:])), db
    assert db[0] > 32, db
    assert 28 < db[2] < 38, db
    assert 24 < db[4] < 33, db
    assert 0.1 < bpp[2] < 1.5, bpp


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("h, w", [(9, 9), (17, 33), (37, 21), (101, 67)])
def test_odd_sizes(name, h, w, photo, bellard):
    rgb = np.ascontiguousarray(photo("rocket")[200:200 + h, 150:150 + w])
    enc, out = encode_checked(bellard, name, rgb, 27, f"odd {h}x{w}")
    assert out.shape == (h, w, 3)
    assert (enc.width, enc.height) == (w, h)
    assert psnr(out, rgb) > (28 if h * w >= 400 else 24)


#: codecs that cannot code tiny pictures say so (x265 through FFmpeg needs 16x16 and BPG pads
#: only to 8); the others code them
TOO_SMALL_FOR = {"bpg"}


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("h, w", [(1, 1), (15, 2), (3, 40)])
def test_tiny_images(name, h, w, photo):
    rgb = np.ascontiguousarray(photo("rocket")[200:200 + h, 150:150 + w])
    codec = make(name)
    if name in TOO_SMALL_FOR:
        with pytest.raises(NppError, match="at least"):
            codec.encode(rgb, 27)
        return
    out = codec.decode(codec.encode(rgb, 27).data)
    assert out.shape == (h, w, 3)
    assert np.abs(out.astype(int) - rgb).mean() < 12


@pytest.fixture(scope="module")
def encoded(photo, bellard):
    rgb = photo("chelsea")[:128, :192]
    out = {name: make(name).encode(rgb, 32).data for name in CODECS}
    bellard.add(out["bpg"], make("bpg").decode(out["bpg"]), "before damage")
    return out


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("keep", ["header", "half", "most"])
def test_truncated_files_are_refused(name, keep, encoded):
    data = encoded[name]
    n = {"header": 12, "half": len(data) // 2, "most": len(data) - 4}[keep]
    with pytest.raises(NppError):
        make(name).decode(data[:n])


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("damage", ["empty", "magic", "garbage", "other codec"])
def test_corrupt_files_are_refused(name, damage, encoded):
    data = encoded[name]
    other = encoded[next(n for n in CODECS if n != name)]
    bad = {
        "empty": b"",
        "magic": bytes([data[0] ^ 0xFF]) + data[1:],
        "garbage": np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes(),
        "other codec": other,
    }[damage]
    with pytest.raises(NppError):
        make(name).decode(bad)


def _encode_job(job) -> bytes:
    name, options, rgb, qp = job
    return create_codec(name, **options).encode(rgb, qp).data


@pytest.mark.parametrize("name", CODECS)
def test_concurrent_encodes_in_threads_match_serial_ones(name, photo, bellard):
    rgb = photo("motorcycle_left")[100:228, 200:360]
    jobs = [(name, QUICK.get(name, {}), rgb, qp) for qp in (24, 30, 36, 42)]
    serial = [_encode_job(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(_encode_job, jobs + jobs))
    assert threaded == serial + serial
    if name == "bpg":
        for data in serial:
            bellard.add(data, make(name).decode(data), "threads")


def test_concurrent_encodes_in_processes_match_in_process_ones(photo, bellard):
    rgb = photo("motorcycle_left")[100:164, 200:296]
    jobs = [(name, QUICK.get(name, {}), rgb, qp) for name in CODECS for qp in (28, 38)]
    here = [_encode_job(j) for j in jobs]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        there = list(pool.map(_encode_job, jobs))
    assert there == here
    for (name, options, _, _), data in zip(jobs, here):
        if name == "bpg":
            bellard.add(data, create_codec(name, **options).decode(data), "processes")


def test_vvc_is_smaller_than_bpg_at_qp32_with_default_settings(crop, bellard):
    vvc = create_codec("vvc").encode(crop, 32)  # preset medium
    bpg = create_codec("bpg").encode(crop, 32)  # level 8 (bpgenc's default)
    assert vvc.nbytes < bpg.nbytes
    bellard.add(bpg.data, create_codec("bpg").decode(bpg.data), "default level, vs VVC")


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("qp", [0, 1, 51])
def test_extreme_qps(name, qp, photo, bellard):
    rgb = photo("coffee")[100:148, 200:264]
    enc, out = encode_checked(bellard, name, rgb, qp, "extreme qp")
    assert out.shape == rgb.shape
    assert psnr(out, rgb) > (40 if qp <= 1 else 18)
