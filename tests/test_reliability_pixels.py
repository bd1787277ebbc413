"""True pixels or a clear refusal, for every image mode Pillow opens: real files written to disk
in each mode from a real photo, read back by `load_rgb` (and by the CLI for a refusal), and
compared with pixels computed here from the photo by the stated rule (docs/cli.md, "Image modes")."""
from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from npp.errors import NppError
from npp.image import load_rgb, to_rgb

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rgb(photo):
    return np.ascontiguousarray(photo("chelsea")[100:196, 120:248])


@pytest.fixture(scope="module")
def gray(rgb):
    return np.asarray(Image.fromarray(rgb).convert("L"))


def v257(a: np.ndarray) -> np.ndarray:
    """A 16-bit value v in 8 bits: v / 257, rounded (the rule, written independently)."""
    return ((a.astype(np.int64) * 2 + 257) // 514).astype(np.uint8)


def as_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def save(tmp_path: Path, img: Image.Image, name: str, **kw) -> Path:
    path = tmp_path / name
    img.save(path, **kw)
    return path


def png16(path: Path, planes: np.ndarray) -> Path:
    """A 16-bit PNG (grey HxW or RGB HxWx3) written byte by byte, so that nothing converts it."""
    h, w = planes.shape[:2]
    colour = planes.ndim == 3
    raw = b"".join(b"\x00" + planes[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2 if colour else 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def npp(*args):
    return subprocess.run([sys.executable, "-m", "npp", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def assert_one_line_exit_2(proc, *needles):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# --- 16-bit: v / 257, whatever the maximum -------------------------------------------------------

def test_16bit_png_with_values_up_to_255_is_dark_not_257x_too_bright(tmp_path, gray):
    # the photo's 8-bit values stored as 16-bit samples: a very dark 16-bit image
    out = load_rgb(png16(tmp_path / "dark16.png", gray.astype(np.uint16)))
    assert np.array_equal(out, as_rgb(v257(gray))) and out.max() <= 1


def test_16bit_png_full_range_gives_the_photo(tmp_path, gray):
    out = load_rgb(png16(tmp_path / "full16.png", gray.astype(np.uint16) * 257))
    assert np.array_equal(out, as_rgb(gray))


def test_16bit_rgb_png_is_within_one_level(tmp_path, rgb):
    # Pillow reads 16-bit RGB as 8-bit by its high byte: within one level of v / 257
    wide = rgb.astype(np.uint16) * 257 + np.random.default_rng(0).integers(0, 257, rgb.shape).astype(np.uint16)
    out = load_rgb(png16(tmp_path / "rgb16.png", wide))
    assert np.abs(out.astype(int) - v257(wide)).max() <= 1


@pytest.mark.parametrize("mode, fmt", [("I;16", "TIFF"), ("I;16B", "TIFF"), ("I;16L", "IM"), ("I;16", "PPM")])
def test_16bit_files_of_every_layout_scale_by_1_over_257(tmp_path, gray, mode, fmt):
    values = gray.astype(np.uint16) * 200  # 0..51000: neither 8-bit nor full 16-bit range
    order = ">u2" if mode == "I;16B" else "<u2"
    img = Image.frombytes(mode, (gray.shape[1], gray.shape[0]), values.astype(order).tobytes())
    out = load_rgb(save(tmp_path, img, f"x.{fmt.lower()}", format=fmt))
    assert np.array_equal(out, as_rgb(v257(values)))


def test_pgm_with_a_10_bit_maxval_is_scaled_to_its_maxval(tmp_path, gray):
    ten = (gray.astype(np.int64) * 1023 + 127) // 255
    path = tmp_path / "ten.pgm"
    path.write_bytes(f"P5\n{gray.shape[1]} {gray.shape[0]}\n1023\n".encode() + ten.astype(">u2").tobytes())
    assert np.abs(load_rgb(path).astype(int) - as_rgb(gray)).max() <= 1


# --- 32-bit integer: 16-bit samples, or refused -----------------------------------------------------

def test_int32_within_16_bits_is_read_as_16_bit(tmp_path, gray):
    values = gray.astype(np.int32) * 257
    out = load_rgb(save(tmp_path, Image.fromarray(values), "i32.tif"))
    assert np.array_equal(out, as_rgb(gray))


@pytest.mark.parametrize("scale", [1 << 16, -1])
def test_int32_beyond_16_bits_is_refused_naming_the_file(tmp_path, gray, scale):
    path = save(tmp_path, Image.fromarray(gray.astype(np.int32) * scale), "wide_int.tif")
    with pytest.raises(NppError, match=r"wide_int\.tif: 32-bit integer image"):
        load_rgb(path)


def test_int32_beyond_16_bits_is_one_line_exit_2_on_the_cli(tmp_path, gray):
    path = save(tmp_path, Image.fromarray(gray.astype(np.int32) * 70000), "white.tif")
    proc = npp("encode", path, "-o", tmp_path / "o.jpg", "--codec", "jpeg", "--qp", "30")
    assert_one_line_exit_2(proc, "npp encode: error:", "white.tif", "no standard white level")


# --- float: 0..1, clipped, NaN refused -----------------------------------------------------------

def test_float_tiff_is_taken_as_0_to_1(tmp_path, gray):
    values = gray.astype(np.float32) / 255
    out = load_rgb(save(tmp_path, Image.fromarray(values), "f.tif"))
    assert np.array_equal(out, as_rgb(gray))


def test_float_values_outside_0_1_are_clipped(tmp_path, gray):
    values = gray.astype(np.float32) / 255 * 3 - 1  # -1..2
    out = load_rgb(save(tmp_path, Image.fromarray(values), "f.tif"))
    expect = np.round(np.clip(values, 0, 1) * 255).astype(np.uint8)
    assert np.array_equal(out, as_rgb(expect))
    assert (out == 0).any() and (out == 255).any()


def test_float64_tiff_is_taken_as_0_to_1(tmp_path, gray):
    out = load_rgb(save(tmp_path, Image.fromarray(gray.astype(np.float64) / 255), "f64.tif"))
    assert np.array_equal(out, as_rgb(gray))


def test_one_nan_is_refused_naming_the_file_not_an_all_black_image(tmp_path, gray):
    values = gray.astype(np.float32) / 255
    values[10, 20] = np.nan
    path = save(tmp_path, Image.fromarray(values), "one_nan.tif")
    with pytest.raises(NppError, match=r"one_nan\.tif: float image holds 1 NaN"):
        load_rgb(path)
    proc = npp("encode", path, "-o", tmp_path / "o.jpg", "--codec", "jpeg", "--qp", "30")
    assert_one_line_exit_2(proc, "npp encode: error:", "one_nan.tif", "NaN")
    assert not (tmp_path / "o.jpg").exists()


# --- alpha and transparency: composited on white ----------------------------------------------------

def over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float64)[..., None] / 255
    return rgb * a + 255 * (1 - a)


@pytest.fixture(scope="module")
def alpha(rgb):
    h, w = rgb.shape[:2]
    return np.tile(np.linspace(0, 255, w).round().astype(np.uint8), (h, 1))


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_rgba_is_composited_on_white(tmp_path, rgb, alpha, fmt):
    path = save(tmp_path, Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), f"a.{fmt.lower()}", format=fmt)
    assert np.abs(load_rgb(path).astype(int) - over_white(rgb, alpha)).max() <= 1


def test_la_is_composited_on_white(tmp_path, gray, alpha):
    path = save(tmp_path, Image.fromarray(np.dstack([gray, alpha]), "LA"), "la.png")
    assert np.abs(load_rgb(path).astype(int) - as_rgb(over_white(gray[..., None], alpha)[..., 0])).max() <= 1


def test_pa_is_composited_on_white(tmp_path, rgb, alpha):
    p = Image.fromarray(rgb).convert("P")
    pa = Image.merge("PA", (p, Image.fromarray(alpha)))
    pa.putpalette(p.getpalette())
    path = save(tmp_path, pa, "pa.tif")
    palette_rgb = np.asarray(p.convert("RGB"))
    assert np.abs(load_rgb(path).astype(int) - over_white(palette_rgb, alpha)).max() <= 1


@pytest.mark.parametrize("mode", ["RGBa", "La"])
def test_premultiplied_alpha_is_composited_on_white(rgb, alpha, mode):
    straight = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    if mode == "La":
        straight = straight.convert("LA")
    premultiplied = straight.convert(mode)
    colour = np.asarray(straight)[..., :-1].astype(np.float64)
    expect = over_white(colour, alpha)
    expect = expect if mode == "RGBa" else np.repeat(expect, 3, axis=2)
    # premultiplying rounds the colour to 1/255 of alpha: at most one level
    assert np.abs(to_rgb(premultiplied).astype(int) - expect).max() <= 1.5


@pytest.mark.parametrize("mode", ["L", "RGB", "P"])
def test_a_transparent_colour_key_becomes_white(tmp_path, rgb, mode):
    img = Image.fromarray(rgb).convert(mode)
    key = img.getpixel((5, 7))
    path = save(tmp_path, img, "key.png", transparency=key)
    out = load_rgb(path)
    keyed = np.asarray(img) == key if mode != "RGB" else (np.asarray(img) == key).all(axis=2)
    assert (out[keyed] == 255).all()
    assert np.array_equal(out[~keyed], np.asarray(img.convert("RGB"))[~keyed])


def test_16bit_grey_colour_key_becomes_white(tmp_path, gray):
    values = gray.astype(np.uint16) * 257
    path = save(tmp_path, Image.fromarray(values), "key16.png", transparency=int(values[3, 4]))
    out = load_rgb(path)
    keyed = values == values[3, 4]
    assert (out[keyed] == 255).all() and np.array_equal(out[~keyed], as_rgb(gray)[~keyed])


# --- the 8-bit modes: Pillow's conversions ---------------------------------------------------------

@pytest.mark.parametrize("mode, fmt, tol", [
    ("1", "PNG", 0), ("L", "PNG", 0), ("P", "GIF", 0), ("RGB", "PNG", 0), ("RGB", "BMP", 0),
    ("CMYK", "TIFF", 0), ("CMYK", "JPEG", 3), ("YCbCr", "IM", 0), ("LA", "TIFF", 0), ("RGBX", "TIFF", 0),
])
def test_8_bit_modes_in_files_give_pillows_rgb(tmp_path, rgb, mode, fmt, tol):
    img = Image.fromarray(rgb).convert(mode)
    path = save(tmp_path, img, f"x.{fmt.lower()}", format=fmt)
    with Image.open(path) as back:
        expect = np.asarray(back.convert("RGBA" if "A" in back.mode else "RGB"))[..., :3].astype(int)
    assert np.abs(load_rgb(path).astype(int) - expect).max() <= tol
    # and that is the photo itself, up to what the mode keeps
    keeps = {"1": None, "L": None, "P": None, "RGB": 0, "CMYK": 5 if fmt == "JPEG" else 0, "YCbCr": 3, "LA": None,
             "RGBX": 0}
    if keeps[mode] is not None:
        assert np.abs(load_rgb(path).astype(int) - rgb).mean() <= max(keeps[mode], 0.5)


def test_cielab_tiff_gives_the_photo(tmp_path, rgb):
    lab = ImageCms.applyTransform(Image.fromarray(rgb), ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"))
    path = save(tmp_path, lab, "lab.tif")
    diff = np.abs(load_rgb(path).astype(int) - rgb)
    assert diff.mean() <= 1 and diff.max() <= 6  # 8-bit CIELab keeps about this much


def test_hsv_gives_the_photo(rgb):
    assert np.abs(to_rgb(Image.fromarray(rgb).convert("HSV")).astype(int) - rgb).max() <= 3


def test_every_pillow_mode_is_converted_or_refused(rgb, gray):
    """No mode Pillow knows falls through to a crash or to unrelated pixels."""
    for mode in Image.MODES:
        if mode.startswith("I;16") or mode in ("I", "F"):
            values = gray.astype(np.uint16) * 257
            order = {"I;16B": ">u2", "I;16N": "=u2"}.get(mode, "<u2")
            img = {"I": lambda: Image.fromarray(values.astype(np.int32)),
                   "F": lambda: Image.fromarray(values / 65535.0).convert("F")}.get(
                mode, lambda: Image.frombytes(mode, values.shape[::-1], values.astype(order).tobytes()))()
            expect = as_rgb(gray)
        elif mode in ("RGBa", "La"):
            img, expect = Image.fromarray(rgb).convert("RGBA").convert(mode), None
        else:
            img = Image.fromarray(rgb).convert(mode)
            expect = np.asarray(img.convert("RGB")) if mode not in ("1",) else None
        out = to_rgb(img)
        assert out.shape == rgb.shape and out.dtype == np.uint8, mode
        if expect is not None:
            assert np.abs(out.astype(int) - expect).max() <= 1, mode
