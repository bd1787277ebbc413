"""Bounded memory without seams: NPP runs in overlapping tiles whose margins cover its receptive
field, so every tile's core comes out as from the whole image. The 40-megapixel peak memory is
measured by bench/npp_memory.py (too slow for the test run)."""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from npp.nn.npp_net import NPP
from npp.nn.tiling import GRID, tile_spans, tiled
from npp.nn.unet import UNet, receptive_radius
from npp.nn.zoo import load_npp, preprocess_rgb, run_npp

ROOT = Path(__file__).resolve().parents[1]


def test_receptive_radius_is_the_reach_of_the_gradient():
    """With positive weights every ReLU passes, so the input pixels an output pixel's gradient
    reaches are exactly its receptive field; over the 16 positions of the coarsest grid the
    widest reach must be what `receptive_radius` derives from the layers."""
    torch.manual_seed(0)
    unet = UNet(width=0.125).double().eval()
    with torch.no_grad():
        for m in unet.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.uniform_(m.weight, 0.0, 2.0 / m.weight[0].numel())
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
    width, first = 352, 160
    x = (torch.rand(GRID, 3, 16, width, dtype=torch.float64) + 0.5).requires_grad_()
    y = unet(x, torch.full((GRID, 1), 0.5, dtype=torch.float64))[0]
    y[torch.arange(GRID), :, 8, first + torch.arange(GRID)].sum().backward()  # one output pixel per sample
    left = right = 0
    for b in range(GRID):
        cols = (x.grad[b].abs().sum(dim=(0, 1)) > 0).nonzero().flatten()
        left, right = max(left, first + b - int(cols.min())), max(right, int(cols.max()) - first - b)
    assert (left, right) == (137, 122)
    assert receptive_radius() == max(left, right)


@pytest.mark.parametrize("keep_tone, lowpass, halo", [(0.0, 0.0, 144), (4.0, 1.0, 160), (16.0, 1.0, 192)])
def test_halo_covers_the_unet_and_the_keep_tone_gaussian(keep_tone, lowpass, halo):
    # 137 + 3 sigma (the kernel has 6 sigma + 1 taps), rounded up to the 16-pixel grid
    assert NPP(width=0.25, keep_tone=keep_tone, lowpass=lowpass).halo == halo


@pytest.mark.parametrize("n, core, halo", [(1000, 256, 160), (4743, 1680, 160), (97, 32, 16), (512, 512, 192)])
def test_tiles_cover_the_axis_on_the_grid_with_their_margins(n, core, halo):
    spans = list(tile_spans(n, core, halo))
    assert spans[0][2] == 0 and spans[-1][3] == n
    for (i0, i1, o0, o1), nxt in zip(spans, spans[1:] + [None]):
        assert o0 % GRID == 0 and i0 % GRID == 0 and o1 - o0 <= -(-core // GRID) * GRID
        assert i0 == max(0, o0 - halo) and i1 == min(n, o1 + halo)
        if nxt is not None:
            assert nxt[2] == o1


@pytest.fixture(scope="module")
def random_npp():
    """The largest margins (keep_tone sigma 16) and weights that use every path."""
    torch.manual_seed(0)
    model = NPP(width=0.25, keep_tone=16.0, lowpass=1.0).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=(2.0 / (m.weight[0].numel())) ** 0.5)
        model.unet.out.weight.mul_(0.02)  # keep the output inside [0, 1] (not clamped)
    return model


def test_tiles_of_a_random_npp_match_the_whole_image(random_npp, photo):
    img = photo("astronaut")[:480, :480].astype(np.float32) / 255

    def run(win):
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(img[win])).permute(2, 0, 1)[None]
            return (random_npp(x, 37)[0].permute(1, 2, 0).numpy(),)

    halo = random_npp.halo
    assert halo == 192
    (whole,) = run((slice(0, 480), slice(0, 480)))
    assert 0.01 < np.abs(whole - img).mean() and ((whole > 0) & (whole < 1)).mean() > 0.9
    (parts,) = tiled(run, 480, 480, halo, (2 * halo + 240) ** 2)  # 2 x 2 tiles of 432 x 432
    assert np.abs(parts - whole).max() <= 1e-5


def test_qp_map_of_tiles_matches_the_whole_picture(photo):
    """Per-16x16-block QP offsets are cut at block boundaries and their mean is taken out once,
    over the whole picture, as a single pass does."""
    torch.manual_seed(1)
    model = NPP(width=0.25, keep_tone=4.0, qp_map=6.0).eval()
    with torch.no_grad():
        nn.init.normal_(model.qp_head.weight, std=3.0)
    rgb = np.ascontiguousarray(photo("chelsea")[:300, :451])
    whole, whole_qp = run_npp(model, rgb, 34, tile_pixels=10**9)
    parts, parts_qp = run_npp(model, rgb, 34, tile_pixels=(2 * model.halo + 96) ** 2)
    assert whole_qp.shape == parts_qp.shape == (19, 29) and whole_qp.std() > 0.1
    assert abs(parts_qp.mean()) < 1e-5 and np.abs(parts_qp - whole_qp).max() < 1e-4
    assert np.abs(parts.astype(int) - whole.astype(int)).max() <= 1


def test_shipped_npp_in_several_tiles_equals_the_whole_image_within_one_level(photo):
    model = load_npp(device="cpu")
    rgb = np.ascontiguousarray(photo("coffee")[:400, :600])
    whole = preprocess_rgb(model, rgb, 37, tile_pixels=10**9)
    core = 192
    tile_pixels = (2 * model.halo + core) ** 2
    count = len(list(tile_spans(400, core, model.halo))) * len(list(tile_spans(600, core, model.halo)))
    assert count >= 6
    parts = preprocess_rgb(model, rgb, 37, tile_pixels=tile_pixels)
    diff = np.abs(parts.astype(int) - whole.astype(int))
    assert diff.max() <= 1, diff.max()
    assert np.abs(whole.astype(int) - rgb).mean() > 0.5  # NPP changed the photo: the comparison means something


def test_running_out_of_memory_is_one_line_exit_2(tmp_path, photo):
    """Before, `npp preprocess` under a memory limit too small for it died with a raw
    RuntimeError traceback. Here the data segment is limited to 1.5 GB: enough to start, load
    the photo and NPP, not enough for a 2.4-megapixel NPP pass."""
    from PIL import Image

    src = tmp_path / "big.png"
    Image.fromarray(np.tile(photo("astronaut"), (3, 3, 1))).save(src)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (1_500_000_000, 1_500_000_000))

    proc = subprocess.run([sys.executable, "-m", "npp", "preprocess", str(src), "-o", str(tmp_path / "out.png"),
                           "--qp", "37", "--device", "cpu"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, preexec_fn=limit)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("npp preprocess: error: ") and "not enough memory" in lines[0]
    assert not (tmp_path / "out.png").exists()
