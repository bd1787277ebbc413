"""The running app through its API (`gradio_client`): /compare's JSON summary and real files,
agreement with `npp encode`, and the error paths a user can hit."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from npp.codecs import create_codec, list_codecs
from npp.pipeline import APP_MAX_PIXELS
from tests.appserver import ROOT, running_app

AVAILABLE = [c for c in list_codecs() if create_codec(c).availability()[0]]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from gradio_client import Client

    jobs = tmp_path_factory.mktemp("jobs")
    with running_app({"NPP_JOBS_DIR": str(jobs)}) as url:
        yield Client(url, verbose=False)


def compare(client, path, codec="jpeg", qp=37):
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), codec, qp, api_name="/compare")


def summary_of(out) -> dict:
    return out[20]


def cli_encode(path: Path, codec: str, qp: int, out: Path) -> dict:
    r = subprocess.run([sys.executable, "-m", "npp", "encode", str(path), "-o", str(out), "--codec", codec,
                        "--qp", str(qp), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[0])


@pytest.mark.parametrize("codec", AVAILABLE)
def test_compare_matches_npp_encode(client, photo_path, tmp_path, codec):
    src = photo_path("chelsea")
    out = compare(client, src, codec, 37)
    s = summary_of(out)
    assert set(s) == {"codec", "qp", "original", "npp"}
    assert s["codec"] == codec and s["qp"] == 37
    assert set(s["original"]) == {"bpp", "bytes", "psnr", "top5", "detections"}
    ref = cli_encode(src, codec, 37, tmp_path / f"ref{create_codec(codec).extension}")
    assert s["original"]["bytes"] == ref["bytes"]
    assert s["original"]["bpp"] == ref["bpp"]
    # the download is the real file: byte for byte what `npp encode` writes
    assert Path(out[6]).read_bytes() == Path(ref["output"]).read_bytes()
    assert Path(out[6]).suffix == create_codec(codec).extension
    assert 20 < s["original"]["psnr"] < 50


def test_npp_branch_spends_fewer_bits(client, photo_path):
    s = summary_of(compare(client, photo_path("chelsea"), AVAILABLE[0], 37))
    if s["npp"] is None:
        pytest.skip("no shipped NPP weights in this checkout")
    assert set(s["npp"]) == set(s["original"])
    assert s["npp"]["bpp"] < s["original"]["bpp"]


def test_vision_results_in_summary(client, photo_path):
    out = compare(client, photo_path("chelsea"), "jpeg", 30)
    s = summary_of(out)
    notes = out[19]
    if s["original"]["top5"] is None:
        assert "classifier unavailable" in notes
        pytest.skip("no classifier in this checkout")
    top5 = s["original"]["top5"]
    assert len(top5) == 5 and {"label", "prob"} <= set(top5[0])
    assert "cat" in " ".join(p["label"] for p in top5).lower()
    assert isinstance(s["original"]["detections"], list)


def test_qp_moves_bits(client, photo_path):
    low = summary_of(compare(client, photo_path("coffee"), "jpeg", 25))["original"]["bpp"]
    high = summary_of(compare(client, photo_path("coffee"), "jpeg", 45))["original"]["bpp"]
    assert high < low


def test_concurrent_users_get_their_own_results(client, photo_path):
    names = ["chelsea", "coffee", "astronaut"]
    results: dict = {}

    def call(name):
        from gradio_client import Client

        results[name] = summary_of(compare(Client(client.src, verbose=False), photo_path(name), "jpeg", 33))

    threads = [threading.Thread(target=call, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    codec = create_codec("jpeg")
    for n in names:
        rgb = np.asarray(Image.open(photo_path(n)).convert("RGB"))
        assert results[n]["original"]["bytes"] == codec.encode(rgb, 33).nbytes


def _save(tmp_path, name, img: Image.Image, **kw) -> Path:
    p = tmp_path / name
    img.save(p, **kw)
    return p


def test_image_modes_are_accepted(client, photo, tmp_path):
    rgb = photo("chelsea")
    img = Image.fromarray(rgb)
    grey16 = Image.fromarray((np.asarray(img.convert("L"), dtype=np.uint16) * 257).astype(np.uint16))
    cases = {
        "grey.png": (img.convert("L"), {}),
        "rgba.png": (img.convert("RGBA"), {}),
        "cmyk.jpg": (img.convert("CMYK"), {"quality": 95}),
        "grey16.png": (grey16, {}),
        "palette.gif": (img.convert("P"), {}),
    }
    for name, (im, kw) in cases.items():
        out = compare(client, _save(tmp_path, name, im, **kw))
        assert summary_of(out)["original"]["bytes"] > 0, name
        assert np.asarray(Image.open(out[0])).shape[:2] == rgb.shape[:2], name


def test_exif_rotation_is_applied(client, photo, tmp_path):
    rgb = photo("chelsea")  # 451 wide, 300 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    p = _save(tmp_path, "rotated.jpg", Image.fromarray(rgb), exif=exif, quality=95)
    out = compare(client, p)
    h, w = np.asarray(Image.open(out[0])).shape[:2]
    assert (w, h) == (rgb.shape[0], rgb.shape[1])


def test_huge_image_is_downscaled_with_a_note(client, photo, tmp_path):
    big = Image.fromarray(photo("astronaut")).resize((2000, 1500))
    out = compare(client, _save(tmp_path, "big.png", big))
    h, w = np.asarray(Image.open(out[0])).shape[:2]
    assert w * h <= APP_MAX_PIXELS and abs(w / h - 2000 / 1500) < 0.01
    assert "Downscaled from 2000x1500" in out[19]
    assert summary_of(out)["original"]["bpp"] == pytest.approx(
        8 * summary_of(out)["original"]["bytes"] / (w * h))


@pytest.mark.parametrize("case,message", [
    ("text.png", "not a readable image"),
    ("tiny.png", "too small"),
    ("bomb.png", "pixel limit"),
    ("truncated.jpg", "not a readable image"),
])
def test_bad_uploads_give_one_line_errors(client, photo, tmp_path, case, message):
    from gradio_client.exceptions import AppError

    p = tmp_path / case
    if case == "text.png":
        p.write_text("this is not an image\n")
    elif case == "tiny.png":
        Image.fromarray(photo("chelsea")[:8, :8]).save(p)
    elif case == "bomb.png":
        Image.new("1", (9000, 9000)).save(p)  # 81 MP in a few kB
    else:
        buf = io.BytesIO()
        Image.fromarray(photo("chelsea")).save(buf, format="JPEG")
        p.write_bytes(buf.getvalue()[:200])
    with pytest.raises(AppError) as err:
        compare(client, p)
    text = str(err.value)
    assert message in text and "Traceback" not in text and "\n" not in text.strip()


@pytest.mark.parametrize("qp", [-1, 52])
def test_bad_qp_is_refused(client, photo_path, qp):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="QP|between|range|maximum|minimum"):
        compare(client, photo_path("chelsea"), "jpeg", qp)


def test_unknown_weights_are_refused(client, photo_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="unknown NPP weights"):
        client.predict(handle_file(str(photo_path("chelsea"))), "jpeg", 37, "/etc/passwd", api_name="/compare")


def test_public_mode_and_clean_exit(photo, tmp_path):
    """NPP_PUBLIC=1: no training, uploads capped; on SIGTERM the app removes its temp files."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    noise = np.random.default_rng(0).integers(0, 256, (1600, 1600, 3), dtype=np.uint8)
    big = tmp_path / "noise.png"
    Image.fromarray(noise).save(big)  # ~7.7 MB, over the public 5 MB cap
    with running_app({"NPP_PUBLIC": "1", "TMPDIR": str(tmpdir)}) as url:
        client = Client(url, verbose=False)
        assert "/start_job" not in client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        s = summary_of(compare(client, ROOT / "assets" / "chelsea.png"))
        assert s["original"]["bytes"] > 0
        assert list(tmpdir.glob("npp-app-*/*/chelsea_jpeg_qp37.jpg"))  # the real file, in a private folder
        with pytest.raises(Exception, match="(?i)size|large|413"):
            compare(client, big)
    assert not list(tmpdir.glob("npp-app-*"))


def test_a_server_path_is_not_an_upload(client, photo_path, tmp_path):
    """A raw API request naming an image file on the server, instead of uploading one, gets
    an error event and never the file's pixels; the same file uploaded first is fine."""
    import httpx

    server_file = tmp_path / "private.png"
    Image.open(photo_path("coffee")).save(server_file)
    base = client.src.rstrip("/") + "/gradio_api"

    def call(path: str) -> str:
        data = [{"path": path, "meta": {"_type": "gradio.FileData"}, "orig_name": "x.png"}, "jpeg", 37,
                "shipped", None, None]
        r = httpx.post(f"{base}/call/compare", json={"data": data}, timeout=60)
        assert r.status_code == 200, r.text
        return httpx.get(f"{base}/call/compare/{r.json()['event_id']}", timeout=300).text

    events = call(str(server_file))
    assert "event: error" in events and "event: complete" not in events
    with open(server_file, "rb") as fh:
        uploaded = httpx.post(f"{base}/upload", files={"files": ("x.png", fh, "image/png")}, timeout=60).json()[0]
    assert "event: complete" in call(uploaded)
