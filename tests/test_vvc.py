"""VVC specifics: 10-bit intra stream, the true-size SEI for odd sizes, damaged streams."""
from __future__ import annotations

import numpy as np
import pytest

from npp.codecs import create_codec
from npp.codecs.avstream import decode_picture
from npp.codecs.bitstream import nal_spans
from npp.errors import NppError

SPS, PPS, PREFIX_SEI = 15, 16, 23


def nal_types(data: bytes) -> list:
    return [data[s + 1] >> 3 for s, _ in nal_spans(data)]


@pytest.fixture(scope="module")
def codec():
    return create_codec("vvc", preset="faster")


def test_even_sizes_are_plain_vvenc_output(codec, photo):
    data = codec.encode(photo("chelsea")[:64, :96], 30).data
    assert PREFIX_SEI not in nal_types(data)
    planes, depth, chroma = decode_picture("vvc", data)
    assert (depth, chroma, planes[0].shape) == (10, "420", (64, 96))


@pytest.mark.parametrize("h, w, coded", [(63, 95, (64, 96)), (9, 40, (16, 40))])
def test_odd_or_tiny_sizes_carry_their_true_size(codec, photo, h, w, coded):
    rgb = np.ascontiguousarray(photo("chelsea")[:h, :w])
    data = codec.encode(rgb, 30).data
    assert nal_types(data).count(PREFIX_SEI) == 1
    planes, _, _ = decode_picture("vvc", data)
    assert planes[0].shape == coded  # what other VVC decoders show
    assert codec.decode(data).shape == (h, w, 3)


@pytest.mark.parametrize("nal", [SPS, PPS, "slice"])
def test_streams_missing_a_nal_unit_are_refused(codec, photo, nal):
    data = codec.encode(photo("chelsea")[:64, :96], 30).data
    types = nal_types(data)
    i = len(types) - 1 if nal == "slice" else types.index(nal)
    s, e = nal_spans(data)[i]
    with pytest.raises(NppError):
        codec.decode(data[:s - 3] + data[e:])


def test_unknown_preset_is_refused():
    with pytest.raises(NppError, match="preset"):
        create_codec("vvc", preset="placebo")


def test_pictures_beyond_8_bits_per_pixel_fail_clearly(codec, photo):
    # ffmpeg's libvvenc wrapper holds at most width x height bytes per picture
    rgb = np.ascontiguousarray(photo("coffee")[50:106, 60:124])
    with pytest.raises(NppError, match="8 bits per pixel"):
        codec.encode(rgb, 0)
    assert codec.encode(rgb, 5).bpp < 8
