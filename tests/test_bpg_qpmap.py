"""Spatially varying QP in BPG: offsets move the bits the way they say, leave the QP of every
block without an offset where bpgenc's constant QP puts it, and the files stay valid .bpg."""
from __future__ import annotations

import numpy as np
import pytest

from bellard import psnr
from npp.codecs import bpgfile, colour, create_codec
from npp.codecs.bpg import intra_qp, x265_encode
from npp.codecs.qpmap import map_shape
from npp.codecs.roi import MAX_REGIONS, offset_regions, whole_steps
from npp.errors import NppError


@pytest.fixture(scope="module")
def crop(photo):
    """256x256 of chelsea: the cat's head on the left half, the background on the right."""
    return np.ascontiguousarray(photo("chelsea")[20:276, 60:316])


def planes_of(rgb: np.ndarray, chroma: str = "420"):
    return colour.pad_planes(colour.rgb_to_planes(rgb, chroma, 8), bpgfile.CB_PAD, chroma)


def halves(value_left: float, value_right: float, size: int = 256) -> np.ndarray:
    m = np.full(map_shape(size, size), value_right, dtype=np.float32)
    m[:, : m.shape[1] // 2] = value_left
    return m


def test_offsets_change_the_bits_in_their_direction(crop, bellard):
    codec = create_codec("bpg")
    zeros = np.zeros(map_shape(256, 256), np.float32)
    plain = codec.encode(crop, 32)
    up = codec.encode(crop, 32, zeros + 6)
    down = codec.encode(crop, 32, zeros - 6)
    half = codec.encode(crop, 32, halves(6, 0))
    assert down.nbytes > plain.nbytes * 1.5
    assert up.nbytes < plain.nbytes / 1.5
    assert up.nbytes < half.nbytes < plain.nbytes
    for enc, label in ((up, "+6"), (down, "-6"), (half, "+6 left")):
        ours = codec.decode(enc.data)
        assert ours.shape == crop.shape
        bellard.add(enc.data, ours, f"QP offsets {label}")


@pytest.mark.parametrize("level", [1, 8])
def test_the_offset_route_keeps_bpgenc_qp_where_offsets_are_zero(level, photo):
    # x265 reports the average QP over the picture's blocks: with a zero map the offset route
    # (CRF, AQ on) gives every block the QP of the constant-QP encode, at every QP
    rgb = np.ascontiguousarray(photo("coffee")[100:164, 200:296])
    planes = planes_of(rgb)
    zeros = np.zeros(map_shape(64, 96), np.float32)
    for qp in range(0, 52, 3):
        plain = x265_encode(planes, "420", qp, level)
        routed = x265_encode(planes, "420", qp, level, zeros)
        assert plain.avg_qp == routed.avg_qp == intra_qp(qp)
        # the streams differ only by the signalled per-block QP syntax and what it changes
        assert abs(len(routed.stream) / len(plain.stream) - 1) < 0.06


@pytest.mark.parametrize("qp", [22, 37])
def test_offsets_are_qp_steps_from_bpgenc_qp(qp, crop):
    planes = planes_of(crop)
    base = intra_qp(qp)
    assert x265_encode(planes, "420", qp, 8).avg_qp == base
    for k in (-4, 5):
        got = x265_encode(planes, "420", qp, 8, np.full(map_shape(256, 256), k, np.float32)).avg_qp
        assert got == pytest.approx(base + k, abs=0.1)
    # the left half is two columns of 64x64 coding tree units: the average is exactly half way
    assert x265_encode(planes, "420", qp, 8, halves(6, 0)).avg_qp == pytest.approx(base + 3, abs=0.1)
    # fractions of a step round half up, as x265 rounds a block's QP
    assert x265_encode(planes, "420", qp, 8, halves(5.5, 0.49)).avg_qp == pytest.approx(base + 3, abs=0.1)


def test_tiny_offsets_give_the_plain_file(crop):
    codec = create_codec("bpg")
    plain = codec.encode(crop, 37).data
    assert codec.encode(crop, 37, np.zeros(map_shape(256, 256), np.float32)).data == plain
    assert codec.encode(crop, 37, halves(0.3, -0.4)).data == plain


def test_the_picture_is_worse_where_offsets_are_positive(crop):
    codec = create_codec("bpg")
    plain = codec.decode(codec.encode(crop, 32).data)
    mapped = codec.decode(codec.encode(crop, 32, halves(8, -4)).data)
    left, right = np.s_[:, :128], np.s_[:, 128:]
    assert psnr(mapped[left], crop[left]) < psnr(plain[left], crop[left]) - 2.0
    assert psnr(mapped[right], crop[right]) > psnr(plain[right], crop[right]) + 1.0


@pytest.mark.parametrize("chroma, size, level", [("420", (37, 53), 8), ("444", (48, 80), 8), ("420", (20, 24), 9),
                                                 ("420", (90, 70), 1)])
def test_odd_sizes_chroma_and_levels_stay_valid_bpg(chroma, size, level, photo, bellard):
    h, w = size
    rgb = np.ascontiguousarray(photo("astronaut")[30:30 + h, 180:180 + w])
    codec = create_codec("bpg", chroma=chroma, level=level)
    offsets = np.zeros(map_shape(h, w), np.float32)
    offsets[-1, :] = 10  # the last block row lies partly in the padding
    offsets[0, 0] = -6
    plain = codec.encode(rgb, 30)
    enc = codec.encode(rgb, 30, offsets)
    assert enc.data != plain.data
    header, _ = bpgfile.read_header(enc.data)
    assert (header.width, header.height, header.chroma) == (w, h, chroma)
    ours = codec.decode(enc.data)
    assert ours.shape == rgb.shape and psnr(ours, rgb) > 25
    bellard.add(enc.data, ours, f"QP offsets {chroma} {w}x{h} level {level}")


@pytest.mark.parametrize("bad, match", [
    (np.zeros((3, 3), np.float32), "expected a"),
    (np.full(map_shape(64, 64), np.nan, np.float32), "finite"),
    (np.full(map_shape(64, 64), 30.0, np.float32), "within"),
    (np.full(map_shape(64, 64), -25.0, np.float32), "within"),
])
def test_bad_maps_are_refused(bad, match, photo):
    rgb = np.ascontiguousarray(photo("astronaut")[:64, :64])
    with pytest.raises(NppError, match=match) as info:
        create_codec("bpg").encode(rgb, 30, bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name, options", [("jpeg", {}), ("vvc", {"preset": "faster"})])
def test_codecs_without_qp_maps_refuse_them(name, options, photo):
    rgb = np.ascontiguousarray(photo("astronaut")[:48, :64])
    codec = create_codec(name, **options)
    ok, reason = codec.availability()
    if not ok:
        pytest.skip(reason)
    offsets = np.zeros(map_shape(48, 64), np.float32)
    assert codec.encode(rgb, 30, offsets).data == codec.encode(rgb, 30).data
    offsets[1, 2] = 3
    with pytest.raises(NppError, match=f"codec {name} cannot vary the QP per block") as info:
        codec.encode(rgb, 30, offsets)
    assert "\n" not in str(info.value)


def test_regions_cover_exactly_the_non_zero_blocks():
    rng = np.random.default_rng(0)
    steps = whole_steps(rng.choice([-2.2, 0.0, 0.0, 3.0, 3.4], size=(9, 11)).astype(np.float32))
    steps[2:7, 3:9] = 4  # a block of equal offsets merges into one rectangle
    width, height = 11 * 16 - 5, 9 * 16 - 3  # the last row and column of blocks are partial
    regions = offset_regions(steps, width, height)
    painted = np.zeros_like(steps)
    for x, y, w, h, k in regions:
        assert k != 0 and x % 16 == 0 and y % 16 == 0 and x + w <= width and y + h <= height
        view = painted[y // 16:-(-(y + h) // 16), x // 16:-(-(x + w) // 16)]
        assert not view.any()  # no overlaps
        view[...] = k
    assert np.array_equal(painted, steps)
    assert len(offset_regions(np.full((40, 30), 5), 480, 640)) == 1
    assert offset_regions(np.zeros((4, 4), np.int32), 64, 64) == []


def test_maps_too_fragmented_for_the_filter_graph_are_refused():
    steps = (np.indices((190, 190)).sum(axis=0) % 2).astype(np.int32)  # a checkerboard
    with pytest.raises(NppError, match=f"at most {MAX_REGIONS}"):
        offset_regions(steps, 190 * 16, 190 * 16)
