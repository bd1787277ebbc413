"""Input conversion: every Pillow mode becomes 8-bit RGB, EXIF orientation is applied."""
import io

import numpy as np
import pytest
from PIL import Image

from npp.errors import NppError
from npp.image import load_rgb


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16", "LA", "1"])
def test_modes_become_rgb(photo, mode):
    rgb = photo("chelsea")[:64, :80]
    img = Image.fromarray(rgb)
    if mode == "I;16":
        img = Image.fromarray((np.asarray(img.convert("L"), dtype=np.uint16) * 257))
    else:
        img = img.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    out = load_rgb(_png(img, format=fmt))
    assert out.shape == (64, 80, 3) and out.dtype == np.uint8
    if mode in ("L", "I;16", "LA"):
        gray = np.asarray(Image.fromarray(rgb).convert("L"), dtype=int)
        assert np.abs(out[..., 0].astype(int) - gray).max() <= 1
        assert (out[..., 0] == out[..., 1]).all()


def test_rgba_composited_on_white(photo):
    rgba = np.zeros((8, 8, 4), np.uint8)
    out = load_rgb(_png(Image.fromarray(rgba, "RGBA")))
    assert (out == 255).all()


def test_exif_orientation_applied(photo):
    rgb = photo("chelsea")[:60, :100]
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    data = _png(Image.fromarray(rgb), format="JPEG", quality=95, exif=exif)
    out = load_rgb(data)
    assert out.shape == (100, 60, 3)


def test_garbage_is_a_clear_error(tmp_path):
    p = tmp_path / "x.png"
    p.write_bytes(b"not an image at all")
    with pytest.raises(NppError, match="not a readable image"):
        load_rgb(p)
    with pytest.raises(NppError, match="no such file"):
        load_rgb(tmp_path / "missing.png")


def test_decompression_bomb_refused():
    img = Image.new("L", (1, 1))
    data = bytearray(_png(img))
    # Forge a 100000 x 100000 IHDR: Pillow must refuse it before decoding.
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data[8:8 + 25] = struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    with pytest.raises(NppError, match="limit"):
        load_rgb(bytes(data))


def test_written_files_get_ordinary_permissions(tmp_path, photo):
    import stat

    from npp.image import save_png

    from npp import fsutil

    save_png(photo("chelsea")[:16, :16], tmp_path / "a.png")
    assert stat.S_IMODE((tmp_path / "a.png").stat().st_mode) == 0o666 & ~fsutil._UMASK
