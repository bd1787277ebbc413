"""The BPG container: genuine bpgenc 0.9.8 files read as bpgdec reads them, our files laid
out as bpgenc's and decoded by Bellard's own decoder, damaged headers refused."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bellard import MIN_PSNR_DB, decoder_js, psnr, run_bellard
from npp.codecs import bpgfile, colour, create_codec
from npp.codecs.avstream import decode_picture
from npp.errors import NppError

EXPECTED = Path(__file__).parent / "expected"
GENUINE = {"420": (128, 96, 1), "444": (96, 64, 3), "odd": (53, 37, 1), "gray": (130, 100, 0),
           "exif": (96, 64, 1)}


@pytest.mark.parametrize("kind", sorted(GENUINE))
def test_genuine_bpgenc_files_decode_as_bpgdec_does(kind):
    data = (EXPECTED / f"genuine_{kind}.bpg").read_bytes()
    ref = np.asarray(Image.open(EXPECTED / f"genuine_{kind}.bpgdec.png").convert("RGB"))
    header, _ = bpgfile.read_header(data)
    assert (header.width, header.height, header.pixel_format) == GENUINE[kind]
    out = create_codec("bpg").decode(data)
    assert out.shape == ref.shape
    assert psnr(out, ref) >= MIN_PSNR_DB


@pytest.mark.parametrize("chroma", ["420", "444"])
def test_our_encoder_input_is_bpgenc_s(chroma, photo):
    # bpgenc -lossless codes exactly the YCbCr planes it made from the RGB input, padding included
    data = (EXPECTED / f"lossless_{chroma}.bpg").read_bytes()
    planes, depth, got = decode_picture("hevc", bpgfile.read_bpg(data)[1])
    assert (depth, got) == (8, chroma)
    rgb = photo("astronaut")[100:141, 200:259]  # 59x41
    ours = colour.pad_planes(colour.rgb_to_planes(rgb, chroma, 8), bpgfile.CB_PAD, chroma)
    for a, b in zip(ours, planes):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", sorted(set(GENUINE) - {"exif"}))  # the writer keeps no metadata
def test_rewriting_a_genuine_file_gives_its_bytes(kind, bellard):
    data = (EXPECTED / f"genuine_{kind}.bpg").read_bytes()
    header, annexb = bpgfile.read_bpg(data)
    rewritten = bpgfile.write_bpg(annexb, header)
    assert rewritten == data
    bellard.add(rewritten, create_codec("bpg").decode(rewritten), f"rewritten genuine {kind}")


@pytest.mark.parametrize("chroma, size", [("420", (96, 128)), ("444", (64, 96)), ("420", (37, 53))])
def test_default_level_files_decode_in_bellards_decoder(chroma, size, photo, npp_cache, tmp_path):
    h, w = size
    rgb = np.ascontiguousarray(photo("chelsea")[40:40 + h, 120:120 + w])
    codec = create_codec("bpg", chroma=chroma)  # level 8 = bpgenc's default
    data = codec.encode(rgb, 30).data
    header, _ = bpgfile.read_header(data)
    assert (header.width, header.height, header.chroma, header.bit_depth) == (w, h, chroma, 8)
    assert data[6 + len(bpgfile.put_ue7(w)) + len(bpgfile.put_ue7(h))] == 0  # length 0: to EOF
    path = tmp_path / "x.bpg"
    path.write_bytes(data)
    (theirs,) = run_bellard(decoder_js(npp_cache), [path], tmp_path)
    ours = codec.decode(data)
    assert theirs.shape == ours.shape == rgb.shape
    assert psnr(ours, theirs) >= MIN_PSNR_DB
    assert psnr(ours, rgb) > 30


def _damage(data: bytes, how: str) -> bytes:
    b = bytearray(data)
    if how == "alpha":
        b[4] |= 1 << 4
    elif how == "animation":
        b[5] |= 1
    elif how == "pixel format":
        b[4] = (b[4] & 0x1F) | (7 << 5)
    elif how == "bit depth":
        b[4] = (b[4] & 0xF0) | 7  # 15 bits: beyond BPG's 14
    elif how == "colour space":
        b[5] = (b[5] & 0x0F) | (9 << 4)
    elif how == "width":
        b[6] = 0x82  # 256 wide: twice the coded picture
    elif how == "hevc header length":
        b[10] = 0x7F  # hevc_header_length past the end of the file
    elif how == "no picture data":
        return bytes(b[:13])
    elif how == "slice removed":
        cut = bytes(b).rfind(b"\x00\x00\x01")
        return bytes(b[:cut])
    return bytes(b)


@pytest.mark.parametrize("how", ["alpha", "animation", "pixel format", "bit depth", "colour space",
                                 "width", "hevc header length", "no picture data", "slice removed"])
def test_damaged_headers_are_refused(how):
    data = (EXPECTED / "genuine_420.bpg").read_bytes()
    # width 128, height 96, picture_data_length 0, hevc_header_length 3: what _damage assumes
    assert data[6:11] == b"\x81\x00\x60\x00\x03"
    with pytest.raises(NppError):
        create_codec("bpg").decode(_damage(data, how))


@pytest.mark.parametrize("options", [{"level": 0}, {"level": 10}, {"level": True}, {"level": "x"},
                                     {"level": 2.5}, {"chroma": "422"}])
def test_bad_options_are_refused(options):
    with pytest.raises(NppError):
        create_codec("bpg", **options)


def test_level_selects_the_x265_preset(photo, bellard):
    rgb = photo("coffee")[100:164, 200:296]
    fast, slow = (create_codec("bpg", level=lv).encode(rgb, 30).data for lv in (1, 8))
    assert fast != slow
    for data in (fast, slow):
        bellard.add(data, create_codec("bpg").decode(data), "levels 1 and 8")


def test_headers_beyond_the_size_limit_are_refused_before_decoding():
    data = (EXPECTED / "genuine_420.bpg").read_bytes()
    huge = data[:6] + bpgfile.put_ue7(20000) + bpgfile.put_ue7(20000) + data[9:]
    with pytest.raises(NppError, match="limit"):
        create_codec("bpg").decode(huge)


@pytest.mark.parametrize("chroma", ["420", "444"])
def test_every_level_codes_small_pictures(chroma, photo, bellard):
    rgb = np.ascontiguousarray(photo("astronaut")[:20, :62])  # coded 24x64: x265 shrinks its CTU
    for level in range(1, 10):
        codec = create_codec("bpg", level=level, chroma=chroma)
        data = codec.encode(rgb, 30).data
        out = codec.decode(data)
        assert out.shape == rgb.shape and psnr(out, rgb) > 28
        bellard.add(data, out, f"small picture level {level} {chroma}")
