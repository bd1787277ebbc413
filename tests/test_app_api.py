"""The running app through its public API (`gradio_client`): /compare_json and /curves_json,
agreement with `npp compress`, and the error paths a user can hit."""
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
    with running_app({"NPP_JOBS_DIR": str(jobs), "NPP_PRECOMPUTE": "0"}) as url:  # no examples needed
        yield Client(url, verbose=False)


def compare(client, path, codec="jpeg", qp=37, methods="plain,npp"):
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), codec, qp, methods, api_name="/compare_json")


def cli_compress(path: Path, method: str, codec: str, qp: int, out: Path) -> dict:
    r = subprocess.run([sys.executable, "-m", "npp", "compress", "--method", method, str(path), "-o", str(out),
                        "--codec", codec, "--qp", str(qp), "--json"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[0])


@pytest.mark.parametrize("codec", AVAILABLE)
def test_compare_json_matches_npp_compress(client, photo_path, tmp_path, codec):
    src = photo_path("chelsea")
    methods = ["plain", "npp", "blur:1.0", "down:2", "resize:256"]
    s = compare(client, src, codec, 37, ",".join(methods))
    assert set(s) == {"codec", "qp", "uncompressed", "methods"} | ({"jpeg_quality"} if codec == "jpeg" else set())
    assert s["codec"] == codec and s["qp"] == 37 and list(s["methods"]) == methods
    assert set(s["uncompressed"]) == {"top5", "detections"}
    for m in methods:
        ref = cli_compress(src, m, codec, 37, tmp_path / f"{m.replace(':', '_')}{create_codec(codec).extension}")
        assert s["methods"][m]["bytes"] == ref["bytes"] and s["methods"][m]["bpp"] == ref["bpp"], m
        assert 15 < s["methods"][m]["psnr"] < 50
    assert s["methods"]["npp"]["bpp"] < s["methods"]["plain"]["bpp"]
    assert s["methods"]["plain"]["file"] == f"chelsea_{codec}_qp37{create_codec(codec).extension}"


def test_vision_results_in_summary(client, photo_path):
    s = compare(client, photo_path("chelsea"), "jpeg", 30)
    top5 = s["uncompressed"]["top5"]
    assert len(top5) == 5 and {"label", "prob"} <= set(top5[0])
    assert "cat" in " ".join(p["label"] for p in top5).lower()
    plain = s["methods"]["plain"]
    assert plain["top1_kept"] is True and plain["kl"] >= 0 and isinstance(plain["detections"], list)


def test_qp_moves_bits(client, photo_path):
    low = compare(client, photo_path("coffee"), "jpeg", 25, "plain")["methods"]["plain"]["bpp"]
    high = compare(client, photo_path("coffee"), "jpeg", 45, "plain")["methods"]["plain"]["bpp"]
    assert high < low


def test_curves_json(client, photo_path):
    from gradio_client import handle_file

    out = client.predict(handle_file(str(photo_path("chelsea"))), "jpeg", "30 40", "plain,down:2",
                         api_name="/curves_json")
    assert out["codec"] == "jpeg" and set(out["curves"]) == {"plain", "down:2"}
    assert out["curves"]["plain"]["qp"] == [30, 40] and set(out["bd_rates"]) >= {"kl", "psnr"}


def test_concurrent_users_get_their_own_results(client, photo_path):
    names = ["chelsea", "coffee", "astronaut"]
    results: dict = {}

    def call(name):
        from gradio_client import Client

        results[name] = compare(Client(client.src, verbose=False), photo_path(name), "jpeg", 33, "plain")

    threads = [threading.Thread(target=call, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    codec = create_codec("jpeg")
    for n in names:
        rgb = np.asarray(Image.open(photo_path(n)).convert("RGB"))
        assert results[n]["methods"]["plain"]["bytes"] == codec.encode(rgb, 33).nbytes


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
    plain_bytes = create_codec("jpeg").encode(rgb, 37).nbytes
    for name, (im, kw) in cases.items():
        s = compare(client, _save(tmp_path, name, im, **kw), methods="plain")
        assert 0 < s["methods"]["plain"]["bytes"], name
        assert abs(s["methods"]["plain"]["bytes"] - plain_bytes) < plain_bytes, name  # the photo's own size


def test_exif_rotation_is_applied(client, photo, tmp_path):
    rgb = photo("chelsea")  # 451 wide, 300 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    p = _save(tmp_path, "rotated.jpg", Image.fromarray(rgb), exif=exif, quality=95)
    s = compare(client, p, methods="plain")
    w, h = rgb.shape[0], rgb.shape[1]  # displayed upright: 300 wide, 451 high
    assert s["methods"]["plain"]["bpp"] == pytest.approx(8 * s["methods"]["plain"]["bytes"] / (w * h))


def test_huge_image_is_downscaled_with_a_note(client, photo, tmp_path):
    big = Image.fromarray(photo("astronaut")).resize((2000, 1500))
    s = compare(client, _save(tmp_path, "big.png", big), methods="plain")
    w, h = 1182, 886  # downscaled to fit APP_MAX_PIXELS, aspect kept
    assert w * h <= APP_MAX_PIXELS
    assert s["methods"]["plain"]["bpp"] == pytest.approx(8 * s["methods"]["plain"]["bytes"] / (w * h))


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


@pytest.mark.parametrize("qp", [-1, 52, 37.5, None])
def test_bad_qp_is_refused(client, photo_path, qp):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="QP must be an integer in 0..51"):
        compare(client, photo_path("chelsea"), "jpeg", qp)


@pytest.mark.parametrize("methods,message", [("plain,npp[weights=/etc/passwd]", "cannot be given here"),
                                             ("sharpen:2", "unknown method"), ("", "at least one method"),
                                             ("plain blur:1 blur:2 blur:3 blur:4 blur:5 blur:6", "at most")])
def test_bad_methods_are_refused(client, photo_path, methods, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        compare(client, photo_path("chelsea"), "jpeg", 37, methods)


def test_public_mode_and_clean_exit(photo, tmp_path):
    """NPP_PUBLIC=1: no training, uploads capped; on SIGTERM the app removes its temp files."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    noise = np.random.default_rng(0).integers(0, 256, (1600, 1600, 3), dtype=np.uint8)
    big = tmp_path / "noise.png"
    Image.fromarray(noise).save(big)  # ~7.7 MB, over the public 5 MB cap
    with running_app({"NPP_PUBLIC": "1", "TMPDIR": str(tmpdir), "NPP_PRECOMPUTE": "0"}) as url:
        client = Client(url, verbose=False)
        assert "/start_job" not in client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        s = compare(client, ROOT / "assets" / "chelsea.png", methods="plain")
        assert s["methods"]["plain"]["bytes"] > 0
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
        data = [{"path": path, "meta": {"_type": "gradio.FileData"}, "orig_name": "x.png"}, "jpeg", 37, "plain"]
        r = httpx.post(f"{base}/call/compare_json", json={"data": data}, timeout=60)
        assert r.status_code == 200, r.text
        return httpx.get(f"{base}/call/compare_json/{r.json()['event_id']}", timeout=300).text

    events = call(str(server_file))
    assert "event: error" in events and "event: complete" not in events
    with open(server_file, "rb") as fh:
        uploaded = httpx.post(f"{base}/upload", files={"files": ("x.png", fh, "image/png")}, timeout=60).json()[0]
    assert "event: complete" in call(uploaded)
