"""The straight-through codec layer: real codec forward, proxy gradients backward."""
import numpy as np
import pytest
import torch

from npp.codecs import create_codec
from npp.nn.codec_layer import RealCodec, StraightThroughCodec
from npp.nn.proxy import create_proxy, list_proxies


@pytest.fixture(scope="module")
def batch(photo):
    crops = [photo("chelsea")[40:104, 100:164], photo("coffee")[100:164, 200:264]]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0


@pytest.mark.parametrize("workers", [0, 2])
def test_real_codec_layer_returns_the_codecs_own_decode_and_file_bits(batch, workers):
    codec = create_codec("jpeg")
    real = RealCodec("jpeg", workers=workers)
    try:
        dec, bpp = real(batch, torch.tensor([30, 38]))
    finally:
        real.close()
    for i, qp in enumerate([30, 38]):
        u8 = (batch[i] * 255).round().byte().permute(1, 2, 0).numpy()
        enc = codec.encode(u8, qp)
        assert bpp[i].item() == pytest.approx(enc.bpp)
        assert np.array_equal((dec[i] * 255).round().byte().permute(1, 2, 0).numpy(), codec.decode(enc.data))
    assert bpp[1] < bpp[0]  # higher QP, fewer bits


@pytest.mark.parametrize("arch", list_proxies())
def test_straight_through_forward_is_the_real_codec_and_gradient_the_proxys(batch, arch):
    torch.manual_seed(0)
    proxy = create_proxy(arch, n=16, m=24)
    st = StraightThroughCodec(proxy, RealCodec("jpeg"))
    qp = torch.tensor([30, 38])
    weights = torch.rand_like(batch)

    x1 = batch.clone().requires_grad_(True)
    torch.manual_seed(1)
    x_hat, bpp, _, _ = st(x1, qp)
    real_dec, real_bpp = RealCodec("jpeg")(batch, qp)
    assert torch.equal(x_hat.detach(), real_dec) and torch.allclose(bpp.detach(), real_bpp)
    ((x_hat * weights).sum() + bpp.sum()).backward()

    x2 = batch.clone().requires_grad_(True)
    torch.manual_seed(1)  # the same quantisation noise
    p_hat, p_bpp = proxy(x2, qp)
    ((p_hat * weights).sum() + p_bpp.sum()).backward()
    assert x1.grad.abs().sum() > 0
    assert torch.allclose(x1.grad, x2.grad, atol=1e-6)


@pytest.mark.parametrize("arch", list_proxies())
def test_proxy_rate_falls_with_qp_and_is_per_image(batch, arch):
    torch.manual_seed(0)
    proxy = create_proxy(arch, n=16, m=24)
    _, bpp = proxy(batch.repeat(2, 1, 1, 1), torch.tensor([26, 26, 42, 42]))
    assert bpp.shape == (4,) and (bpp[2:] < bpp[:2]).all()


def test_untrained_dct_proxy_already_resembles_an_intra_codec(batch):
    """Built-in HEVC structure: PSNR falls and bits fall as QP rises, in the codec's range."""
    proxy = create_proxy("dct")
    with torch.no_grad():
        lo, lo_bpp = proxy(batch, 28)
        hi, hi_bpp = proxy(batch, 41)
    mse = lambda a: float(((a - batch) ** 2).mean())
    assert 30 < -10 * np.log10(mse(lo)) < 45 and mse(hi) > mse(lo)
    assert (hi_bpp < lo_bpp).all() and 0.05 < float(hi_bpp.mean()) < float(lo_bpp.mean()) < 4


def test_unknown_proxy_architecture_is_a_clear_error():
    from npp.errors import NppError

    with pytest.raises(NppError, match="unknown proxy architecture"):
        create_proxy("nope")


def test_rate_gain_scales_only_the_rate_gradient_per_qp(batch):
    torch.manual_seed(0)
    proxy = create_proxy("dct")
    st = StraightThroughCodec(proxy, RealCodec("jpeg"), rate_gain={30: 3.0})  # QP 38 keeps gain 1
    qp = torch.tensor([30, 38])
    x1 = batch.clone().requires_grad_(True)
    x_hat, bpp, _, _ = st(x1, qp)
    assert torch.allclose(bpp.detach(), RealCodec("jpeg")(batch, qp)[1])  # values untouched
    bpp.sum().backward()
    x2 = batch.clone().requires_grad_(True)
    proxy(x2, qp)[1].sum().backward()
    assert torch.allclose(x1.grad[0], 3.0 * x2.grad[0], atol=1e-6)
    assert torch.allclose(x1.grad[1], x2.grad[1], atol=1e-6)


def test_rate_gains_compare_real_and_proxy_savings_of_a_blur(tmp_path, photo):
    from PIL import Image

    from npp.train.calibration import GAIN_RANGE, rate_gains
    from npp.train.data import PhotoCrops

    for name in ("chelsea", "coffee", "astronaut"):
        Image.fromarray(photo(name)).save(tmp_path / f"{name}.png")
    gains = rate_gains(create_proxy("dct"), RealCodec("jpeg"), PhotoCrops(tmp_path, crop=96), [28, 41], seed=0, crops=4)
    assert sorted(gains) == [28, 41]
    assert all(GAIN_RANGE[0] <= g <= GAIN_RANGE[1] for g in gains.values())
    assert gains == rate_gains(create_proxy("dct"), RealCodec("jpeg"), PhotoCrops(tmp_path, crop=96), [28, 41], seed=0, crops=4)
