"""The Curves tab's sweep (`npp.curves`) on a real photo, and the one-engine promise: the
app's Compare, its Curves and `npp evaluate` give the same bpp and vision metric for the same
photo, codec, QP and method."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from npp.curves import MAX_SWEEP_QPS, bd_values, sweep, sweep_qps
from npp.ui import render
from npp.errors import NppError
from npp.methods import create_methods
from npp.pipeline import ComparePipeline, load_photo

METHODS = "plain blur:1.0 down:2"


@pytest.fixture(scope="module")
def pipeline():
    return ComparePipeline()


@pytest.fixture(scope="module")
def swept(pipeline, photo_path):
    photo = load_photo(photo_path("chelsea"), "chelsea.png")
    return photo, sweep(pipeline, photo, "jpeg", [28, 37, 45], create_methods(METHODS))


def test_sweep_curves_and_tables(swept):
    _, res = swept
    plain = res["curves"]["plain"]
    assert plain["qp"] == [28, 37, 45] and plain["bpp"] == sorted(plain["bpp"], reverse=True)
    assert all(0 <= c <= 1 for c in plain["confidence"]) and plain["confidence"][0] > 0.2  # the cat survives
    assert all(0 <= f <= 1 for f in plain["detection_f1"])
    bd = bd_values(res)
    assert list(bd) == ["blur:1.0", "down:2"] and set(bd["blur:1.0"]) >= {"kl", "detection_f1", "psnr"}
    assert all(v is None or -100 < v < 1000 for by in bd.values() for v in by.values())
    wide = render.wide_table(res)  # one row per QP, every method's bpp, KL and detections kept
    assert wide.count("<tr>") == 1 + 3 and "plain" in wide and "<b>37</b>" in wide
    table = render.bd_rate_table(bd, None)
    assert "this photo, equal KL" in table and "n/a" in table  # the note explains it, always
    assert table.count("<tr>") == 1 + 2


def test_sweep_qp_lists_are_bounded():
    assert sweep_qps("28 31,34") == [28, 31, 34] and sweep_qps("28-40:6") == [28, 34, 40]
    for bad in ("30", "30,x", "0-51", "30,30"):
        with pytest.raises(NppError):
            sweep_qps(bad)
    assert len(sweep_qps(f"10-{10 + MAX_SWEEP_QPS - 1}")) == MAX_SWEEP_QPS


def test_compare_curves_and_evaluate_agree(pipeline, swept, photo_path, tmp_path):
    photo, res = swept
    data = tmp_path / "d"
    data.mkdir()
    shutil.copy(photo_path("chelsea"), data / "chelsea.png")
    proc = subprocess.run([sys.executable, "-m", "npp", "evaluate", "--data", str(data), "--codec", "jpeg",
                           "--qps", "28,37,45", "--no-npp", "--baselines", "blur:1.0,down:2", "--out",
                           str(tmp_path / "o"), "--jobs", "1", "--quiet"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    cli = json.loads((tmp_path / "o" / "results.json").read_text())["curves"]
    compared = pipeline.compare(photo, "jpeg", 37, tmp_path / "c", methods=create_methods(METHODS), heatmaps=False)
    for name, curve in res["curves"].items():
        assert curve["bpp"] == pytest.approx(cli[name]["bpp"], rel=1e-12)
        assert curve["kl"] == pytest.approx(cli[name]["kl"], rel=1e-6, abs=1e-9)
        m = compared.summary()["methods"][name]
        assert m["bpp"] == pytest.approx(curve["bpp"][1], rel=1e-12)
        assert m["kl"] == pytest.approx(curve["kl"][1], abs=1e-5)
        assert m["confidence"] == pytest.approx(curve["confidence"][1], abs=1e-5)
