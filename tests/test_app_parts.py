"""The app's pieces without a browser: the page's HTML (numbers, verdicts, tables), the URL
state, the ZIP, the Train tab's presets and progress, the plots and the held-out curves file.
Real results from the real pipeline where a result is needed (one JPEG compare of a real
photo); no server, no browser (those are tests/test_app_browser.py)."""
from __future__ import annotations

import json
import zipfile

import pytest
from PIL import Image

from npp.codecs.jpeg import qp_to_quality
from npp.curves import load_heldout
from npp.errors import NppError
from npp.jobs import Job, _token_hash, new_token
from npp.nn.zoo import SHIPPED_NPP
from npp.pipeline import ComparePipeline, load_photo
from npp.ui import render
from npp.ui.services import EXAMPLES, HELDOUT_CURVES
from npp.ui.share import bundle, read_state
from npp.ui.teach import DIAGRAM_SVG, PAPER_URL, intro_html, what_to_try
from npp.ui.train_presets import PRESETS, fit_crop, preset_args, preset_fields, recipe
from npp.ui.train_tab import eta, jobs_table, log_lines, progress_html
from npp.visualize import Panel, method_colour, plot_panels, plot_training


@pytest.fixture(scope="module")
def result(photo_path, tmp_path_factory):
    photo = load_photo(photo_path("coffee"), "coffee.png")
    return ComparePipeline().compare(photo, "jpeg", 45, tmp_path_factory.mktemp("c"),
                                     methods=["plain", "npp", "blur:1.0", "resize:256"], heatmaps=False)


def test_numbers_table_and_verdicts(result):
    s = result.summary()
    size = (600, 400)
    table = render.numbers_table(s, size)
    for col in ("bytes", "vs plain", "bpp", "PSNR", "KL", "top-1", "detections kept"):
        assert col in table
    for name, m in s["methods"].items():
        assert f"<b>{name}</b>" in table and f"{m['bytes']:,}" in table
    assert "uncompressed" in table and f"{600 * 400 * 3:,} raw" in table
    v = render.verdict_html(s, result.against_baselines(), "coffee", size)
    assert f"JPEG quality {qp_to_quality(45)}" in v and "QP 45" in v
    versus = {x["method"]: x["verdict"] for x in result.against_baselines()}
    assert set(versus) == {"blur:1.0", "resize:256"}  # every baseline shown, NPP against each
    for b, verdict in versus.items():
        if verdict == "beats":
            assert f"{b} beats npp on this photo" in v
        elif verdict == "beaten":
            assert f"npp beats {b} on this photo" in v
    assert "anecdote" in v


def test_psnr_note_top5_and_detections(result):
    s = result.summary()
    note = render.psnr_note(s)
    if s["methods"]["npp"]["psnr"] < s["methods"]["plain"]["psnr"]:
        assert "Why is NPP's PSNR lower?" in note
    top5 = render.top5_table(s)
    assert s["uncompressed"]["top5"][0]["label"] in top5
    dets = render.detections_lists(s)
    for d in s["uncompressed"]["detections"]:
        assert f"{d['score']:.2f}" in dets
    assert dets.count("<li>") == 1 + len(s["methods"])


def test_intro_cites_the_paper_and_draws_the_pipeline():
    page = intro_html()
    assert "Preprocessing Enhanced Image Compression for Machine Vision" in page and PAPER_URL in page
    assert "IEEE" in page and "2024" in page and "Lu, Ge, Zhong, Hu, Geng" in page
    assert DIAGRAM_SVG.strip().startswith("<svg")
    assert all(w in DIAGRAM_SVG for w in ("photo", "method", "codec", "model"))
    tries = what_to_try("bpg")
    assert tries.count("<li>") >= 5 and "?example=" in tries


def test_url_state_is_read_and_bad_parts_are_dropped():
    ex = [str(e) for e in EXAMPLES]
    st = read_state({"example": "coffee", "codec": "jpeg", "qp": "41", "methods": "npp,down:2", "tab": "curves"},
                    ex, ["bpg", "jpeg"])
    assert st["example"].endswith("coffee.png") and st["codec"] == "jpeg" and st["qp"] == 41
    assert st["methods"] == ["plain", "npp", "down:2"] and st["tab"] == "curves" and st["notes"] == []
    bad = read_state({"example": "../etc/passwd", "codec": "webp", "qp": "99", "methods": "npp[weights=/x]"}, ex,
                     ["bpg"])
    assert set(bad) == {"notes"} and len(bad["notes"]) == 4


def test_zip_holds_what_was_shown(tmp_path):
    img = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(img)
    codec_file = tmp_path / "a.jpg"
    codec_file.write_bytes(b"\xff\xd8 real bytes")
    compare = {"stem": "coffee_jpeg_qp45", "files": {"compare/a.png": str(img), "compare/a.jpg": str(codec_file),
                                                     "compare/missing.png": None},
               "texts": {"compare/summary.json": json.dumps({"qp": 45})}}
    curves = {"stem": "coffee_jpeg_sweep", "files": {}, "texts": {"curves/sweep.csv": "method,qp\nplain,30\n"}}
    path = bundle(tmp_path, compare, curves)
    assert path.name == "npp_coffee_jpeg_qp45.zip"
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        assert {"compare/a.png", "compare/a.jpg", "compare/summary.json", "curves/sweep.csv", "README.txt"} == names
        assert z.read("compare/a.jpg") == codec_file.read_bytes()
    assert bundle(tmp_path, None, None) is None


def test_presets_start_from_the_shipped_weights_with_their_recipe(tmp_path):
    r = recipe("train")
    args = preset_args(PRESETS[0].label, "bpg")
    assert args[:2] == ["--init", str(SHIPPED_NPP)]
    assert "--log-rate" in args and "--calibrate-rate" in args and args[args.index("--lambdas") + 1] == "3.3"
    assert args[args.index("--crop") + 1] == str(r["crop"]) and "--width" not in args  # --init keeps the arch
    assert "--codec-opt" not in preset_args(PRESETS[0].label, "jpeg")  # BPG's level is not JPEG's
    f = preset_fields(PRESETS[0].label)
    assert f["lr"] == r["lr"] and f["kind"] == "train" and f["steps"] == PRESETS[0].steps
    assert preset_fields(PRESETS[1].label)["qps"] == "26-43"
    assert preset_args("custom", "bpg") is None
    with pytest.raises(NppError):
        preset_args("nonsense", "bpg")
    Image.new("RGB", (451, 300)).save(tmp_path / "small.png")
    fitted, note = fit_crop(args, tmp_path)
    assert fitted[fitted.index("--crop") + 1] == "288" and "300 px" in note


def job_record(tmp_path, state, steps=100, started=1000.0, ended=None, token=None) -> Job:
    """A job record as the runner keeps it, with its process's output file (the runner itself is
    tested in tests/test_jobs.py)."""
    job = Job(id="7", kind="train", args=[], dir=tmp_path / state, title="fine-tune NPP", steps=steps, state=state,
              started=started, ended=ended, owner=_token_hash(token) if token else "")
    job.dir.mkdir(parents=True)
    job.output_path.write_text("npp npp:  10%|#| 1/10\rnpp npp:  20%|##| 2/10\n")
    return job


def test_train_progress_eta_and_log(tmp_path):
    recs = [{"step": s, "loss": 1.0 / s, "step_s": 2.0, "bpp_saved_pct": 40.0 if s % 10 == 1 else None,
             "d_machine": 0.4, "plain_d_machine": 0.3} for s in range(1, 21)]
    running = job_record(tmp_path, "running")
    assert eta(running, recs) == pytest.approx(80 * 2.0)
    html = progress_html(running, recs)
    assert "step 20 of 100" in html and "left" in html and "data-state='running'" in html
    assert "data-phase='starting'" in progress_html(job_record(tmp_path, "queued"), [])
    assert "starting" in progress_html(running, [])
    log = log_lines(running, recs).splitlines()
    assert log[-1].startswith("step 20/100") and len(log) <= 12 and "bits saved 40.0%" in "\n".join(
        log_lines(running, recs[:11]).splitlines())
    assert log_lines(job_record(tmp_path, "failed"), []).endswith("2/10")  # the process's own last line
    token = new_token()
    done = job_record(tmp_path, "done", ended=1300.0, token=token)
    table = jobs_table([done], token)
    assert "job 7: fine-tune NPP" in table and "(yours)" in table and "5:00" in table
    assert "(yours)" not in jobs_table([done], new_token())


def test_plots_write_pngs(tmp_path):
    curves = {"plain": {"qp": [30, 40], "bpp": [0.5, 0.2], "kl": [0.1, 0.4]},
              "npp": {"qp": [30, 40], "bpp": [0.3, 0.1], "kl": [0.15, 0.5]}}
    p = plot_panels([Panel("this photo", curves, "kl")], tmp_path / "c.png")
    assert Image.open(p).size[0] > 300
    recs = [{"step": s, "loss": 1.0, "bpp_saved_pct": 40.0, "d_machine": 0.4, "plain_d_machine": 0.3}
            for s in (1, 11, 21)]
    assert Image.open(plot_training(recs, tmp_path / "t.png", 30)).size[0] > 300
    assert method_colour("blur:1.0") != method_colour("blur:2.0") and method_colour("npp") == "#d62728"


def test_heldout_curves_file_matches_the_app():
    """The committed held-out curves: made by bench/heldout_curves.py, with the app's methods,
    QPs and protocol, and the photos the held-out list names."""
    data = json.loads(HELDOUT_CURVES.read_text())
    bpg = load_heldout(HELDOUT_CURVES, "bpg")
    assert bpg is not None and set(data["codecs"]) >= {"bpg"}
    assert bpg["protocol"] == "full" and bpg["images"] == len(bpg["photos"]) >= 100
    assert {"plain", "npp", "resize:256", "blur:1.0", "down:2"} <= set(bpg["curves"])
    for c in bpg["curves"].values():
        assert len(c["bpp"]) == len(c["qp"]) == len(c["kl"]) == len(c["detection_f1"])
    assert set(bpg["bd_rate"]["npp"]) >= {"kl", "detection_f1"}
    assert load_heldout(HELDOUT_CURVES, "no-such-codec") is None
