"""Training: loss goes down, checkpoints resume exactly, killed runs resume, bad folders fail
clearly, short CLI runs leave weights `preprocess` accepts, and DDP runs with two gloo processes."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from npp.cli import main
from npp.errors import NppError
from npp.nn.checkpoint import load_weights
from npp.nn.codec_layer import RealCodec, StraightThroughCodec
from npp.nn.npp_net import NPP
from npp.nn.proxy import ProxyCodec
from npp.train.data import PhotoCrops
from npp.train.npp_fit import npp_loss
from npp.train.proxy_fit import ProxyConfig, proxy_loss, train_proxy
from npp.vision import create_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, photo):
    """Three small real photos (held-out scikit-image photos are fine for short test runs)."""
    d = tmp_path_factory.mktemp("photos")
    for name in ("chelsea", "coffee", "astronaut"):
        Image.fromarray(photo(name)[:160, :160]).save(d / f"{name}.png")
    return d


def tiny_proxy_config(data_dir, out, steps, **kw):
    return ProxyConfig(data=str(data_dir), out=str(out), steps=steps, codec="jpeg", batch=2, crop=48, n=16, m=24,
                       workers=0, save_every=2, progress=False, **kw)


def test_degraded_crops_are_deterministic_and_carry_noise_and_jpeg_texture(data_dir):
    """--degrade: same (seed, step, rank) -> same batch; the crops differ from the clean ones
    by a few grey levels (noise, JPEG), not by content."""
    clean = PhotoCrops(data_dir, crop=64).batch(3, 7, 0, 4)
    a = PhotoCrops(data_dir, crop=64, degrade=True).batch(3, 7, 0, 4)
    b = PhotoCrops(data_dir, crop=64, degrade=True).batch(3, 7, 0, 4)
    assert np.array_equal(a, b)
    diff = np.abs(a - clean).reshape(4, -1).mean(1) * 255
    assert (diff > 0.3).sum() >= 2 and diff.max() < 8


def test_proxy_fitting_lowers_its_loss_on_a_fixed_batch(data_dir):
    torch.manual_seed(0)
    x = torch.from_numpy(PhotoCrops(data_dir, crop=48).batch(0, 0, 0, 2))
    qp = torch.tensor([30, 38])
    proxy, real = ProxyCodec(16, 24), RealCodec("jpeg")
    opt = torch.optim.Adam(proxy.parameters(), lr=2e-3)
    losses = []
    for _ in range(25):
        loss, _ = proxy_loss(proxy, real, x, qp, 100.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


def test_npp_steps_lower_the_loss_on_a_fixed_batch(data_dir):
    """From a noisy filter, a dozen steps through the real codec lower all three loss terms."""
    torch.manual_seed(0)
    x = torch.from_numpy(PhotoCrops(data_dir, crop=64).batch(0, 0, 0, 2))
    qp = torch.tensor([34, 34])
    npp = NPP(0.25)
    with torch.no_grad():
        npp.unet.out.weight.normal_(std=0.05)
    proxy = ProxyCodec(16, 24).requires_grad_(False)
    st = StraightThroughCodec(proxy, RealCodec("jpeg"))
    teacher = create_model(task="cls", device="cpu")
    opt = torch.optim.Adam(npp.parameters(), lr=1e-3)
    log = []
    for i in range(12):
        torch.manual_seed(i)
        loss, stats, _ = npp_loss(npp, st, teacher, x, qp, lam=0.5, beta=5.0, low_weight=20.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        log.append(stats)
    first, last = log[0], log[-3:]
    assert np.mean([s["loss"] for s in last]) < 0.85 * first["loss"]
    assert max(s["bpp"] for s in last) < first["bpp"]  # real codec bits
    assert max(s["d_pre"] for s in last) < 0.5 * first["d_pre"]
    assert {"npp_fwd_s", "proxy_fwd_s", "codec_s", "vision_fwd_s"} <= set(log[0])


def test_log_rate_loss_is_log_of_the_real_bpp_with_the_gradient_divided_by_it(data_dir):
    """--log-rate: value log(real bpp); each image's rate gradient is the plain one over its bpp."""
    x0 = torch.from_numpy(PhotoCrops(data_dir, crop=64).batch(0, 0, 0, 2))
    qp = torch.tensor([28, 41])
    st = StraightThroughCodec(ProxyCodec(16, 24).requires_grad_(False), RealCodec("jpeg"))
    teacher = create_model(task="cls", device="cpu")
    grads, losses, bpps = [], [], []
    for log_rate in (False, True):
        x = x0.clone().requires_grad_(True)
        torch.manual_seed(0)  # the proxy's quantisation noise
        loss, stats, _ = npp_loss(lambda im, q, s, with_offsets: (im, None), st, teacher, x, qp, lam=0.0, beta=0.0,
                                  low_weight=0.0,
                                  log_rate=log_rate)
        loss.backward()
        grads.append(x.grad)
        losses.append(loss.item())
        bpps.append(st.real(x0, qp)[1])
    assert torch.equal(bpps[0], bpps[1])
    assert losses[1] == pytest.approx(torch.log(bpps[0]).mean().item(), rel=1e-5)
    assert losses[0] == pytest.approx(bpps[0].mean().item(), rel=1e-5)
    expected = grads[0] / bpps[0].view(-1, 1, 1, 1)
    assert grads[1].abs().sum() > 0
    assert torch.allclose(grads[1], expected, rtol=1e-4, atol=1e-9)


def test_checkpoint_resume_matches_an_uninterrupted_run(data_dir, tmp_path):
    train_proxy(tiny_proxy_config(data_dir, tmp_path / "straight", 4))
    train_proxy(tiny_proxy_config(data_dir, tmp_path / "split", 2))
    train_proxy(tiny_proxy_config(data_dir, tmp_path / "split", 4), resume=True)
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=False)
    b = torch.load(tmp_path / "split" / "last.pt", weights_only=False)
    assert a["step"] == b["step"] == 4
    for k in a["model"]:
        assert torch.allclose(a["model"][k], b["model"][k], atol=1e-6), k
    rows = [json.loads(line) for line in (tmp_path / "split" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    state, config, meta = load_weights(tmp_path / "split" / "proxy.safetensors", "proxy")
    assert config["codec"] == "jpeg" and meta["steps"] == 4


def test_a_killed_run_resumes_from_its_last_checkpoint(data_dir, tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "npp", "train-proxy", "--codec", "jpeg", "--data", str(data_dir), "--out", str(out),
            "--batch", "2", "--crop", "48", "--workers", "0", "--save-every", "2", "--quiet", "--threads", "1"]
    proc = subprocess.Popen(args + ["--steps", "100000"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (out / "log.jsonl").is_file() and len((out / "log.jsonl").read_text().splitlines()) >= 5:
                break
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    saved = torch.load(out / "last.pt", weights_only=False)["step"]
    assert saved >= 2 and saved % 2 == 0
    done = subprocess.run(args + ["--steps", str(saved + 3), "--resume"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, saved + 4))
    assert torch.load(out / "last.pt", weights_only=False)["step"] == saved + 3


@pytest.mark.parametrize("case", ["missing", "empty", "not_images", "corrupt"])
def test_bad_data_folders_give_one_line_errors(tmp_path, capsys, case):
    d = tmp_path / "data"
    if case != "missing":
        d.mkdir()
    if case == "not_images":
        (d / "notes.txt").write_text("hello")
    if case == "corrupt":
        (d / "photo.jpg").write_bytes(b"\xff\xd8\xff garbage")
    code = main(["train-proxy", "--codec", "jpeg", "--data", str(d), "--steps", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert {"missing": "no such data folder", "empty": "holds no images", "not_images": "holds no images",
            "corrupt": "not a usable training image"}[case] in err


@pytest.mark.parametrize("option", ["--lowpass", "--keep-tone"])
def test_train_refuses_a_sigma_out_of_range(data_dir, tmp_path, capsys, option):
    code = main(["train", "--codec", "jpeg", "--data", str(data_dir), "--steps", "1", option, "50",
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and option in err and len(err.splitlines()) == 1


def test_cli_refuses_to_overwrite_a_run_and_to_resume_nothing(data_dir, tmp_path, capsys):
    base = ["train-proxy", "--codec", "jpeg", "--data", str(data_dir), "--batch", "1", "--crop", "48",
            "--workers", "0", "--quiet", "--out", str(tmp_path / "r")]
    assert main(base + ["--steps", "1", "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(base + ["--steps", "1"]) == 0
    assert main(base + ["--steps", "2"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_short_cli_runs_leave_weights_that_preprocess_accepts(data_dir, tmp_path, photo_path):
    common = ["--codec", "jpeg", "--data", str(data_dir), "--batch", "2", "--crop", "64", "--workers", "2",
              "--quiet", "--threads", "1"]
    assert main(["train-proxy", *common, "--steps", "2", "--out", str(tmp_path / "proxy")]) == 0
    assert main(["train", *common, "--steps", "2", "--width", "0.25", "--proxy", str(tmp_path / "proxy" / "proxy.safetensors"),
                 "--lowpass", "0.6", "--degrade", "--calibrate-rate", "--log-rate", "--out", str(tmp_path / "npp")]) == 0
    assert set(json.loads((tmp_path / "npp" / "rate_gains.json").read_text())) == {"28", "31", "34", "37", "41"}
    rows = [json.loads(line) for line in (tmp_path / "npp" / "log.jsonl").read_text().splitlines()]
    assert rows[0]["plain_bpp"] > 0 and rows[0]["bpp"] > 0
    src = photo_path("rocket")
    for weights in ("last.pt", "npp.safetensors"):
        out = tmp_path / f"{weights}.png"
        assert main(["preprocess", "--qp", "34", "--weights", str(tmp_path / "npp" / weights), str(src), "-o", str(out)]) == 0
        with Image.open(out) as im:
            assert im.format == "PNG" and im.size == Image.open(src).size
    # continuing from those weights with --keep-tone switches it on (it adds no parameters)
    assert main(["train", *common, "--steps", "1", "--proxy", str(tmp_path / "proxy" / "proxy.safetensors"),
                 "--init", str(tmp_path / "npp" / "npp.safetensors"), "--keep-tone", "4", "--out", str(tmp_path / "kt")]) == 0
    _, config, meta = load_weights(tmp_path / "kt" / "npp.safetensors", "npp")
    assert config["keep_tone"] == 4.0 and config["lowpass"] == 0.6 and meta["steps"] == 3
    assert main(["preprocess", "--qp", "34", "--weights", str(tmp_path / "kt" / "npp.safetensors"), str(src),
                 "-o", str(tmp_path / "kt.png")]) == 0


def test_ddp_with_two_gloo_processes(data_dir, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "npp",
           "train-proxy", "--codec", "jpeg", "--data", str(data_dir), "--out", str(out), "--steps", "3", "--batch", "1",
           "--crop", "48", "--workers", "0", "--save-every", "3", "--quiet", "--threads", "1", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    _, _, meta = load_weights(out / "proxy.safetensors", "proxy")
    assert meta["world_size"] == 2 and meta["steps"] == 3
    assert len((out / "log.jsonl").read_text().splitlines()) == 3
