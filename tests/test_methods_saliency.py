"""The untrained semantic methods: `saliency-qp` (the sender's classifier's Grad-CAM becomes
per-block QP offsets, finer on the object; the pixels go to the codec unchanged and the file is
a valid, no larger .bpg) and `saliency-blur` (blur where the classifier does not look)."""
from __future__ import annotations

import numpy as np
import pytest

from bellard import psnr
from npp.codecs import create_codec
from npp.codecs.qpmap import map_shape
from npp.errors import NppError
from npp.evaluate.protocol import centre_crop
from npp.methods import code, create_method, list_methods
from npp.methods.saliency_qp import DEFAULT_STRENGTH, SaliencyQp, block_means, offsets_from_means


@pytest.fixture(scope="module")
def chelsea(photo):
    return photo("chelsea")  # 451x300, the cat's face in the middle, fur and a wall around it


def test_offsets_are_finer_on_the_cat(chelsea):
    offsets = create_method("saliency-qp").offsets(chelsea)
    assert offsets.shape == map_shape(*chelsea.shape[:2]) == (19, 29)
    assert offsets.dtype == np.float32
    assert -DEFAULT_STRENGTH <= offsets.min() and offsets.max() <= DEFAULT_STRENGTH
    face = offsets[100 // 16:260 // 16, 100 // 16:330 // 16]  # eyes, nose and cheeks
    background = np.concatenate([offsets[:, 410 // 16:].ravel(), offsets[:3, :6].ravel()])  # right edge, top left
    assert face.mean() < -1.5
    assert background.mean() > 4.0
    assert np.isclose(offsets.min(), -DEFAULT_STRENGTH, atol=0.1)  # the CAM's core saturates
    # the same photo again (a copy): the same map, scaled by the strength
    assert np.allclose(create_method("saliency-qp:2.5").offsets(chelsea.copy()), offsets / 2, atol=1e-6)


def test_the_engine_codes_the_unchanged_pixels_with_the_map(chelsea, bellard):
    rgb = centre_crop(chelsea)  # the model-input protocol's 224 x 224
    bpg = create_codec("bpg")
    method = create_method("saliency-qp")
    prepared = method.prepare(rgb, 37)
    assert prepared.rgb is rgb
    assert prepared.qp_offsets.shape == map_shape(224, 224)
    plain = code(create_method("plain"), bpg, rgb, 37)
    coded = code(method, bpg, rgb, 37, prepared=prepared)
    assert coded.method == "saliency-qp:5.0" and coded.data != plain.data
    assert coded.nbytes <= 1.05 * plain.nbytes
    bellard.add(coded.data, bpg.decode(coded.data), "saliency-qp chelsea 224 QP 37")
    finer = prepared.qp_offsets <= -3
    coarser = prepared.qp_offsets >= 3
    assert finer.any() and coarser.any()
    pixels = lambda blocks: np.kron(blocks, np.ones((16, 16), bool))[:224, :224]  # noqa: E731
    for region, better in ((pixels(finer), True), (pixels(coarser), False)):
        gain = psnr(coded.decoded[region], rgb[region]) - psnr(plain.decoded[region], rgb[region])
        assert (gain > 0.5) if better else (gain < -0.5)


def test_codecs_without_qp_maps_say_so(chelsea):
    with pytest.raises(NppError, match="codec jpeg cannot vary the QP per block"):
        code(create_method("saliency-qp"), create_codec("jpeg"), centre_crop(chelsea), 37)


def test_block_offsets_follow_the_mask():
    mask = np.zeros((70, 100), np.float32)
    mask[:32, :64] = 1.0  # two whole 32x32 blocks of object
    mask[64:, 96:] = 1.0  # the whole of the bottom-right partial block (6 x 4 px)
    offsets = offsets_from_means(block_means(mask), 4.0, 70, 100)
    assert offsets.shape == map_shape(70, 100) == (5, 7)
    assert np.all(offsets[:2, :4] == -4.0)
    assert np.all(offsets[2:4, :] == 4.0)
    assert offsets[4, 6] == -4.0 and offsets[4, 5] == 4.0  # the partial block is its own pixels' mean
    mask[32:64, 32:64] = 0.25
    assert np.allclose(offsets_from_means(block_means(mask), 4.0, 70, 100)[2:4, 2:4], 2.0)


def test_specs():
    assert "saliency-qp:5.0" in list_methods()
    m = create_method("saliency-qp")
    assert isinstance(m, SaliencyQp) and m.uses_models and not m.baseline
    assert m.name == "saliency-qp:5.0" and create_method(m.name).strength == 5.0
    assert create_method("saliency-qp:2.5").name == "saliency-qp:2.5"
    assert m.key != create_method("saliency-qp:2.5").key
    for bad in ("saliency-qp:0", "saliency-qp:30", "saliency-qp:x", "saliency-qp[model=a]"):
        with pytest.raises(NppError):
            create_method(bad)


def test_saliency_blur_keeps_the_object_and_blurs_the_rest(chelsea):
    from npp.methods.blur import gaussian_blur
    from npp.methods.saliency import saliency_mask

    m = create_method("saliency-blur")
    assert m.name == "saliency-blur:1.5" and m.uses_models and not m.baseline
    out = m.prepare(chelsea, 37).rgb
    mask = saliency_mask(chelsea)
    blurred = gaussian_blur(chelsea, 1.5)
    core, outside = mask >= 0.999, mask <= 0.001
    assert core.sum() > 1000 and outside.sum() > 1000
    assert np.array_equal(out[core], chelsea[core]) and np.array_equal(out[outside], blurred[outside])
    jpeg = create_codec("jpeg")
    assert jpeg.encode(out, 37).nbytes < jpeg.encode(chelsea, 37).nbytes
