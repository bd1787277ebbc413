"""`npp evaluate` and `npp evaluate-merge` end to end through the CLI: real photos, real
JPEG files, the real offline classifier."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from npp.codecs import list_codecs

LABELS = Path(__file__).parent / "data" / "evaluate" / "labels.csv"
PHOTOS = ("chelsea", "coffee", "astronaut")
QPS = (1, 32, 42)


def npp(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "npp", *map(str, args)], capture_output=True, text=True,
                          timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def data(tmp_path_factory, photo_path):
    d = tmp_path_factory.mktemp("photos")
    for name in PHOTOS:
        shutil.copy(photo_path(name), d / photo_path(name).name)
    return d


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    proc = npp("evaluate", "--data", data, "--labels", LABELS, "--codec", "jpeg", "--qps", ",".join(map(str, QPS)),
               "--task", "cls", "--baselines", "blur:1.0", "--out", out, "--jobs", "2", "--json", "--no-npp")
    return out, json.loads(proc.stdout), proc.stderr


def test_summary_has_the_issue_shape(run):
    out, summary, _ = run
    assert set(summary) == {"codec", "task", "protocol", "metric", "curves", "bd_rate", "best_baseline"}
    assert (summary["codec"], summary["task"], summary["metric"], summary["protocol"]) == ("jpeg", "cls", "top1", "full")
    assert set(summary["curves"]) == {"plain", "blur:1.0"}
    for curve in summary["curves"].values():
        assert set(curve) == {"qp", "bpp", "psnr", "top1"}
        assert curve["qp"] == list(QPS)
        assert all(0.0 <= a <= 1.0 for a in curve["top1"])
        assert curve["bpp"] == sorted(curve["bpp"], reverse=True)  # higher QP, fewer bits
    assert set(summary["bd_rate"]) == {"blur:1.0"}
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plain_bpp_equals_npp_encode(run, data, tmp_path):
    _, summary, _ = run
    for i, qp in enumerate(QPS):
        rows = [json.loads(line) for line in
                npp("encode", "--codec", "jpeg", "--qp", qp, data, "-o", tmp_path / str(qp), "--json").stdout.splitlines()]
        assert len(rows) == len(PHOTOS)
        bpp = sum(8 * r["bytes"] for r in rows) / sum(r["width"] * r["height"] for r in rows)
        assert summary["curves"]["plain"]["bpp"][i] == pytest.approx(bpp, rel=1e-12)


def test_near_lossless_point_keeps_the_uncompressed_accuracy(run):
    out, summary, _ = run
    results = json.loads((out / "results.json").read_text())
    ref = results["reference"]
    assert 0.0 <= ref["top1"] <= ref["top5"] <= 1.0
    assert summary["curves"]["plain"]["top1"][0] == ref["top1"]  # QP 1 = JPEG quality 98
    assert results["curves"]["plain"]["agreement"][0] >= 0.8
    assert results["curves"]["plain"]["kl"][0] < results["curves"]["plain"]["kl"][-1]
    rows = [r for r in results["rows"] if r["method"] == "plain"]
    assert len(rows) == len(PHOTOS) * len(QPS)
    csv = (out / "results.csv").read_text().splitlines()
    assert csv[0].startswith("image,method,qp") and len(csv) == 1 + len(PHOTOS) * (1 + 2 * len(QPS))


def test_rerun_skips_finished_photos(run, data):
    out, summary, _ = run
    before = (out / "rows.jsonl").read_bytes()
    again = npp("evaluate", "--data", data, "--labels", LABELS, "--codec", "jpeg", "--qps", ",".join(map(str, QPS)),
                "--baselines", "blur:1.0", "--out", out, "--jobs", "1", "--json", "--no-npp", "--quiet")
    assert json.loads(again.stdout) == summary
    assert "3 of 3 photos already done" in again.stderr
    assert (out / "rows.jsonl").read_bytes() == before


def test_killed_run_resumes_from_its_log_and_cache(run, data, tmp_path):
    out, summary, _ = run
    killed = tmp_path / "killed"
    killed.mkdir()
    lines = (out / "rows.jsonl").read_text().splitlines(keepends=True)
    # killed while writing the second photo's line: one photo done, a torn line after it
    (killed / "rows.jsonl").write_text(lines[0] + lines[1] + lines[2][: len(lines[2]) // 2])
    resumed = npp("evaluate", "--data", data, "--labels", LABELS, "--codec", "jpeg", "--qps", ",".join(map(str, QPS)),
                  "--baselines", "blur:1.0", "--out", killed, "--cache", out / "cache", "--jobs", "1", "--json",
                  "--no-npp", "--quiet")
    assert json.loads(resumed.stdout) == summary
    assert "1 of 3 photos already done" in resumed.stderr
    rows = json.loads((killed / "results.json").read_text())["rows"]
    first = json.loads(lines[1])[0]["image"]
    coded = [r for r in rows if r["method"] != "uncompressed"]
    assert all(r["cached"] is (r["image"] != first) for r in coded)  # the rest came from the encode cache
    assert len((killed / "rows.jsonl").read_text().splitlines()) == 1 + len(PHOTOS)


def test_shards_merge_to_the_unsharded_result(run, data, tmp_path):
    out, summary, _ = run
    shards = []
    for i in range(2):
        d = tmp_path / f"shard{i}"
        npp("evaluate", "--data", data, "--labels", LABELS, "--codec", "jpeg", "--qps", ",".join(map(str, QPS)),
            "--baselines", "blur:1.0", "--out", d, "--cache", out / "cache", "--jobs", "1", "--no-npp",
            "--quiet", "--shard", f"{i}/2")
        shards.append(d)
    merged = npp("evaluate-merge", *shards, "--out", tmp_path / "merged", "--json")
    assert json.loads(merged.stdout) == summary
    whole = json.loads((out / "results.json").read_text())
    joined = json.loads((tmp_path / "merged" / "results.json").read_text())
    drop = ("cached", "encode_ms")
    strip = lambda rows: [{k: v for k, v in r.items() if k not in drop} for r in rows]  # noqa: E731
    assert strip(joined["rows"]) == strip(whole["rows"])
    for key in ("curves", "bd_rate", "reference", "npp_vs_best_baseline"):
        assert joined[key] == whole[key]
    bad = npp("evaluate-merge", shards[0], "--out", tmp_path / "partial", check=False)
    assert bad.returncode == 2 and "missing" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("args,message", [
    (["--qps", "30"], "at least 2"),
    (["--qps", "30,x"], "integers"),
    (["--qps", "30,60"], "QP must be"),
    (["--baselines", "sharpen:2"], "unknown method"),
    (["--baselines", "blur:0"], "SIGMA"),
    (["--jobs", "-1"], "--jobs"),
    (["--protocol", "model-input", "--task", "det", "--model", "efficientnet_lite1"], "cls model"),
    (["--shard", "2/2"], "shard"),
    (["--npp-weights", "/nonexistent/npp.safetensors"], "npp-weights"),
    (["--model", "no_such_model"], "unknown model"),
    (["--model", "nanodet"], "det model"),
])
def test_bad_arguments_fail_in_one_line(data, tmp_path, args, message):
    proc = npp("evaluate", "--data", data, "--codec", "jpeg", "--out", tmp_path / "o", "--qps", "30,40", *args,
               check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_labels_and_data_are_clear_errors(data, tmp_path):
    proc = npp("evaluate", "--data", tmp_path / "none", "--codec", "jpeg", "--out", tmp_path / "o", check=False)
    assert proc.returncode == 2 and "no such folder" in proc.stderr
    labels = tmp_path / "l.csv"
    labels.write_text("file,label\nchelsea.png,tabby\n")
    proc = npp("evaluate", "--data", data, "--labels", labels, "--codec", "jpeg", "--out", tmp_path / "o",
               check=False)
    assert proc.returncode == 2 and "no label for" in proc.stderr


@pytest.fixture(scope="module")
def npp_weights(tmp_path_factory):
    """A real NPP checkpoint file as `npp train` writes them (small width, fresh weights:
    this tests the method's plumbing, not NPP's quality)."""
    import torch

    from npp.nn.checkpoint import save_weights
    from npp.nn.npp_net import NPP

    torch.manual_seed(0)
    model = NPP(width=0.125)
    path = tmp_path_factory.mktemp("npp") / "npp.safetensors"
    save_weights(model.state_dict(), path, "npp", model.config)
    return path


def test_npp_method_from_a_checkpoint(photo_path, tmp_path, npp_weights):
    out = tmp_path / "o"
    args = ("evaluate", "--data", photo_path("chelsea"), "--codec", "jpeg", "--qps", "32,42", "--out", out, "--jobs", "1",
            "--json", "--quiet", "--npp-weights")
    summary = json.loads(npp(*args, npp_weights).stdout)
    assert summary["metric"] == "agreement"  # no labels: agreement with the uncompressed prediction
    name = f"npp[weights={npp_weights}]"
    assert set(summary["curves"]) == {"plain", name} and set(summary["bd_rate"]) == {name}
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["method_keys"]["npp[weights=" + str(npp_weights) + "]"].startswith("npp#")
    npp_rows = [r for r in results["rows"] if r["method"] == name]
    assert len(npp_rows) == 2 and all(0 <= r["agreement"] <= 1 for r in npp_rows)

    # other weights: the npp encodes are redone, the plain ones come from the cache
    from npp.nn.checkpoint import load_weights, save_weights

    state, config, _ = load_weights(npp_weights, "npp")
    state = {k: (v * 0.9 if k.startswith("pix1.weight") else v) for k, v in state.items()}
    other = tmp_path / "other.safetensors"
    save_weights(state, other, "npp", config)
    npp(*args, other)
    again = json.loads((out / "results.json").read_text())
    assert again["config"]["method_keys"] != results["config"]["method_keys"]
    cached = {(r["method"].split("[")[0], r["cached"]) for r in again["rows"] if r["method"] != "uncompressed"}
    assert cached == {("plain", True), ("npp", False)}


def test_npp_method_uses_shipped_weights_or_says_why_not(photo_path, tmp_path):
    from npp.nn.zoo import SHIPPED_NPP

    proc = npp("evaluate", "--data", photo_path("coffee"), "--codec", "jpeg", "--qps", "32,42", "--out", tmp_path,
               "--jobs", "1", "--json", "--quiet")
    curves = json.loads(proc.stdout)["curves"]
    if SHIPPED_NPP.is_file():
        assert "npp" in curves
    else:  # never a random model: the method is left out, with the reason
        assert set(curves) == {"plain"}
        assert "leaving out the npp method" in proc.stderr and "weights" in proc.stderr


def test_info_lists_what_evaluate_measures():
    info = json.loads(npp("info", "--json").stdout)["evaluate"]
    assert "top1" in info["tasks"]["cls"] and "map" in info["tasks"]["det"]
    assert info["default_jobs"] >= 1 and "pchip" in info["bd_rate"]


def test_unreadable_photo_is_named_in_one_line(photo_path, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(photo_path("coffee"), d / "coffee.png")
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    proc = npp("evaluate", "--data", d, "--codec", "jpeg", "--qps", "30,40", "--out", tmp_path / "o", "--jobs", "2",
               "--quiet", "--no-npp", check=False)
    assert proc.returncode == 2 and "broken.jpg" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("codec", list_codecs())
def test_every_codec_counts_the_bits_npp_encode_writes(codec, photo_path, tmp_path):
    photo = photo_path("chelsea")
    proc = npp("evaluate", "--data", photo, "--codec", codec, "--qps", "32,40", "--out", tmp_path / "o", "--jobs", "1",
               "--no-npp", "--quiet", "--json")
    curve = json.loads(proc.stdout)["curves"]["plain"]
    for qp, bpp in zip(curve["qp"], curve["bpp"]):
        row = json.loads(npp("encode", "--codec", codec, "--qp", qp, photo, "-o", tmp_path / f"{qp}", "--json").stdout)
        assert bpp == pytest.approx(row["bpp"], rel=1e-12)
