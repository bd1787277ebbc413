"""The colour conversion shared by BPG and VVC: BT.601 full range, centred 4:2:0 chroma."""
import numpy as np
import pytest

from bellard import psnr
from npp.codecs import colour


@pytest.mark.parametrize("bit_depth", [8, 10])
def test_full_range_bt601_levels(bit_depth):
    top = (1 << bit_depth) - 1
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [128, 128, 128], [255, 0, 0]]], dtype=np.uint8)
    y, cb, cr = colour.rgb_to_ycbcr(rgb, bit_depth)
    scale = top / 255
    assert y[0, :3].tolist() == [0, top, round(128 * scale)]
    assert cb[0, :3].tolist() == cr[0, :3].tolist() == [1 << (bit_depth - 1)] * 3
    assert y[0, 3] == round(0.299 * 255 * scale)
    assert cr[0, 3] == top  # pure red: Cr at its maximum (clipped)


@pytest.mark.parametrize("chroma, bit_depth, min_db", [("444", 8, 50), ("444", 10, 60),
                                                       ("420", 8, 40), ("420", 10, 40)])
def test_conversion_alone_is_nearly_lossless(photo, chroma, bit_depth, min_db):
    rgb = photo("astronaut")[:201, :303]
    planes = colour.pad_planes(colour.rgb_to_planes(rgb, chroma, bit_depth), 8, chroma)
    assert planes[0].shape == (208, 304)
    assert planes[1].shape == ((104, 152) if chroma == "420" else (208, 304))
    out = colour.planes_to_rgb(planes, 303, 201, chroma, bit_depth)
    assert out.shape == rgb.shape
    assert psnr(out, rgb) > min_db


def test_chroma_is_centred_between_luma_samples():
    # an edge between luma columns 3 and 4 lies between chroma columns 1 and 2 when chroma sits
    # half way between luma samples (BPG's default); co-sited MPEG-2 chroma would be lopsided
    left, right = (90, 120, 110), (160, 120, 130)
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    rgb[:, :4], rgb[:, 4:] = left, right
    _, _, cr444 = colour.rgb_to_ycbcr(rgb, 8)
    a, b = int(cr444[0, 0]), int(cr444[0, 7])
    assert abs(a - b) > 20
    _, _, cr = colour.rgb_to_planes(rgb, "420", 8)
    c = cr[0].astype(int)
    assert abs((c[1] + c[2]) - (a + b)) <= 1 and abs((c[0] + c[3]) - (a + b)) <= 1
    assert a < c[1] < c[2] < b
