"""The NPP network: the paper's parameter count, a harmless start, QP conditioning, loading."""
import numpy as np
import pytest
import torch

from npp.errors import NppError
from npp.nn.checkpoint import save_weights
from npp.nn.npp_net import NPP
from npp.nn.zoo import load_npp, npp_params, preprocess_rgb


def test_full_architecture_has_the_papers_parameter_count():
    full = NPP(width=1.0)
    without_qa = sum(p.numel() for n, p in full.named_parameters() if ".qa_" not in n and not n.startswith("qa_"))
    assert without_qa == 9_422_235  # paper: 9.42M, official Preprocessor.py + UNet.py
    assert npp_params() == sum(p.numel() for p in full.parameters())
    assert 0 < npp_params() - without_qa < 60_000  # the QA MLPs


@pytest.mark.parametrize("upsample", ["resize", "transpose"])
def test_upsampling_variants_have_equal_size(upsample):
    assert sum(p.numel() for p in NPP(0.5, upsample).parameters()) == sum(p.numel() for p in NPP(0.5).parameters())


@pytest.mark.parametrize("width", [0.25, 0.5])
def test_fresh_npp_is_near_identity_on_a_photo(photo, width):
    torch.manual_seed(0)
    rgb = photo("chelsea")[:150, :203]  # odd sizes: padded to 16 and cropped back
    model = NPP(width).eval()
    out = preprocess_rgb(model, rgb, 34)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - rgb).mean() < 0.5


def test_lowpass_variant_starts_as_the_gaussian_blur(photo):
    """--lowpass SIGMA: a fresh NPP equals the classical blur pre-filter (away from the edges,
    where the network pads by replication); the paper's default start is unchanged."""
    from scipy.ndimage import gaussian_filter

    torch.manual_seed(0)
    rgb = photo("astronaut")[:96, :112]
    out = preprocess_rgb(NPP(0.25, lowpass=0.8).eval(), rgb, 34).astype(int)
    blur = gaussian_filter(rgb.astype(np.float32), sigma=(0.8, 0.8, 0), mode="nearest", truncate=2.5).round()
    assert np.abs(out - blur)[4:-4, 4:-4].max() <= 1
    assert np.abs(out - rgb).mean() > 1  # it really filters (the identity start differs by < 0.5)
    assert sum(p.numel() for p in NPP(1.0).parameters()) == npp_params()  # the option adds nothing by default


def test_lowpass_variant_round_trips_a_weights_file(tmp_path, photo):
    model = NPP(0.25, lowpass=0.6)
    path = save_weights(model.state_dict(), tmp_path / "m.safetensors", "npp", model.config)
    loaded = load_npp(path, device="cpu")
    assert loaded.config["lowpass"] == 0.6
    rgb = photo("coffee")[:64, :64]
    assert np.abs(preprocess_rgb(model.eval(), rgb, 30).astype(int) - preprocess_rgb(loaded, rgb, 30)).max() <= 1


def test_keep_tone_removes_a_tone_shift_but_keeps_detail_changes(tmp_path, photo):
    """--keep-tone SIGMA: a network that shifts tone (a bias on the pixel branch) and blurs
    returns the input's tone (block means as the input's) and still the blur's detail loss."""
    from scipy.ndimage import gaussian_filter

    rgb = photo("astronaut")[:128, :128]
    outs = {}
    for sigma in (0.0, 4.0):
        torch.manual_seed(0)
        model = NPP(0.25, lowpass=1.0, keep_tone=sigma).eval()
        with torch.no_grad():
            model.pix2.bias.fill_(0.08)  # +20 grey levels everywhere
        outs[sigma] = preprocess_rgb(model, rgb, 34).astype(np.float64)
    x = rgb.astype(np.float64)
    block = lambda a: a.reshape(16, 8, 16, 8, 3).mean(axis=(1, 3))
    assert outs[0.0].mean() - x.mean() > 15
    assert abs(outs[4.0].mean() - x.mean()) < 1.5
    assert np.abs(block(outs[4.0]) - block(x)).mean() < 1 < 15 < np.abs(block(outs[0.0]) - block(x)).mean()
    blur = gaussian_filter(x, sigma=(1.0, 1.0, 0), mode="nearest")
    detail = lambda a: a - gaussian_filter(a, sigma=(4.0, 4.0, 0), mode="nearest")
    # the fine detail the blur removes is removed with keep_tone too
    assert np.abs(detail(outs[4.0]) - detail(blur))[8:-8, 8:-8].mean() < 0.3 * np.abs(detail(x) - detail(blur))[8:-8, 8:-8].mean()
    model = NPP(0.25, lowpass=1.0, keep_tone=4.0)
    path = save_weights(model.state_dict(), tmp_path / "m.safetensors", "npp", model.config)
    assert load_npp(path, device="cpu").config["keep_tone"] == 4.0
    assert len(model.state_dict()) == len(NPP(0.25, lowpass=1.0).state_dict())  # no parameters or saved buffers


def test_qp_changes_the_output_once_qa_layers_are_trained(photo):
    torch.manual_seed(0)
    model = NPP(0.25).eval()
    with torch.no_grad():
        model.unet.out.weight.normal_(std=0.1)
        for qa in (model.unet.qa_up[0], model.unet.qa_down[0]):
            qa.fc2.weight.normal_(std=1.0)
    x = torch.from_numpy(photo("coffee")[:64, :64].copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        a, b = model(x, 28), model(x, 41)
        per_image = model(torch.cat([x, x]), torch.tensor([28, 41]))
    assert not torch.allclose(a, b)
    assert torch.allclose(per_image[0], a[0], atol=1e-6) and torch.allclose(per_image[1], b[0], atol=1e-6)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_load_npp_round_trips_a_weights_file(tmp_path, photo):
    torch.manual_seed(1)
    model = NPP(0.25)
    with torch.no_grad():
        model.unet.out.weight.normal_(std=0.05)
    path = save_weights(model.state_dict(), tmp_path / "m.safetensors", "npp", model.config)
    loaded = load_npp(path, device="cpu")
    rgb = photo("astronaut")[:96, :96]
    ref = preprocess_rgb(model.eval(), rgb, 30)
    got = preprocess_rgb(loaded, rgb, 30)
    assert np.abs(ref.astype(int) - got).max() <= 1  # fp16 storage


def test_bad_weights_files_give_clear_errors(tmp_path):
    with pytest.raises(NppError, match="no such weights file"):
        load_npp(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    with pytest.raises(NppError, match="not a readable"):
        load_npp(junk)
    other = save_weights({"w": torch.zeros(2)}, tmp_path / "p.safetensors", "proxy", {})
    with pytest.raises(NppError, match="not 'npp'"):
        load_npp(other)


@pytest.mark.parametrize("upsample", ["resize", "transpose"])
def test_folded_batchnorm_keeps_the_function(photo, upsample):
    from npp.nn.fuse import for_inference

    torch.manual_seed(0)
    model = NPP(0.25, upsample)
    model.train()
    with torch.no_grad():  # give the batch-norms non-trivial statistics and the head a real output
        model.unet.out.weight.normal_(std=0.1)
        model(torch.rand(4, 3, 64, 64), 30)
    model.eval()
    fast = for_inference(model)
    x = torch.from_numpy(photo("rocket")[:80, :96].copy()).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        assert torch.allclose(model(x, 33), fast(x.contiguous(memory_format=torch.channels_last), 33), atol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())


def test_info_json_reports_the_full_architectures_parameter_count(capsys):
    import json

    from npp.cli import main

    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["npp_params"] == npp_params() > 9_422_235
    assert set(info["npp_weights"]) == {"npp", "proxy"}


def test_without_shipped_weights_load_npp_refuses_rather_than_run_untrained(tmp_path, monkeypatch, capsys, photo_path):
    import npp.nn.zoo as zoo
    from npp.cli import main

    monkeypatch.setattr(zoo, "SHIPPED_NPP", tmp_path / "absent.safetensors")
    with pytest.raises(NppError, match="no shipped NPP weights"):
        zoo.load_npp()
    assert main(["preprocess", "--qp", "30", str(photo_path("chelsea")), "-o", str(tmp_path / "o.png")]) == 2
    assert "no shipped NPP weights" in capsys.readouterr().err
