"""npp.pipeline and its helpers on real photos with the real JPEG codec (and every other
available codec): uploads normalised, real files written, caches reused, temp files swept."""
from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from PIL import Image

from npp.cache import LRUCache
from npp.codecs import create_codec, list_codecs
from npp.errors import NppError
from npp.evaluate.metrics import psnr
from npp.pipeline import APP_MAX_PIXELS, APP_MIN_SIDE, ComparePipeline, load_photo, safe_stem, versus
from npp.tempstore import TempStore
from npp.visualize import caption_font_size, draw_detections, error_map

AVAILABLE = [c for c in list_codecs() if create_codec(c).availability()[0]]


@pytest.fixture(scope="module")
def pipeline():
    return ComparePipeline()


def test_load_photo_keeps_small_photos(photo_path, photo):
    p = load_photo(photo_path("chelsea"), "chelsea.png")
    assert np.array_equal(p.rgb, photo("chelsea")) and p.note == "" and p.name == "chelsea"
    assert load_photo(photo_path("chelsea"), "x.png").key == p.key  # content, not name
    assert load_photo(photo_path("coffee"), "chelsea.png").key != p.key


def test_load_photo_downscales_huge_ones(photo, tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(photo("coffee")).resize((3000, 2000)).save(path)
    p = load_photo(path, "big.png")
    h, w = p.rgb.shape[:2]
    assert h * w <= APP_MAX_PIXELS and (w, h) == (1254, 836)
    assert "Downscaled from 3000x2000 to 1254x836" in p.note


def test_load_photo_refuses_tiny_and_non_images(photo, tmp_path):
    tiny = tmp_path / "tiny.png"
    Image.fromarray(photo("coffee")[: APP_MIN_SIDE - 1]).save(tiny)
    with pytest.raises(NppError, match="too small"):
        load_photo(tiny, "tiny.png")
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"GIF89a not really")
    with pytest.raises(NppError, match="not a readable image"):
        load_photo(junk, "junk.jpg")


def test_safe_stem_never_names_a_path():
    assert safe_stem("../../etc/passwd") == "passwd"
    assert safe_stem("my photo (1).JPG") == "my_photo_1"
    assert safe_stem("...") == "photo"


@pytest.mark.parametrize("codec", AVAILABLE)
def test_compare_writes_real_files(pipeline, photo_path, tmp_path, codec):
    photo = load_photo(photo_path("astronaut"), "astronaut.png")
    res = pipeline.compare(photo, codec, 36, tmp_path, methods=["plain", "npp", "down:2"], heatmaps=False)
    c = create_codec(codec)
    plain = res.methods["plain"]
    data = plain.file.read_bytes()
    assert plain.file.parent == tmp_path and plain.file.name == f"astronaut_{codec}_qp36{c.extension}"
    assert data == c.encode(photo.rgb, 36).data  # deterministic real encode, bytes counted = bytes written
    s = res.summary()
    assert list(s["methods"]) == ["plain", "npp", "down:2"]
    assert s["methods"]["plain"]["bytes"] == len(data) and s["methods"]["plain"]["bytes_vs_plain"] == 0.0
    assert s["methods"]["plain"]["bpp"] == 8 * len(data) / (512 * 512)
    assert np.array_equal(plain.coded.decoded, c.decode(data))
    assert s["methods"]["plain"]["psnr"] == pytest.approx(psnr(photo.rgb, plain.coded.decoded), abs=1e-3)
    npp = res.methods["npp"]
    assert npp.file.read_bytes() == c.encode(npp.coded.sent, 36).data  # the file codes what NPP sent
    down = res.methods["down:2"]
    assert down.coded.decoded.shape == photo.rgb.shape and down.coded.sent.shape == (256, 256, 3)
    assert s["methods"]["down:2"]["bpp"] == 8 * down.file.stat().st_size / (512 * 512)  # original pixels
    assert s["methods"]["down:2"]["bytes_vs_plain"] < 0
    assert ("jpeg_quality" in s) == (codec == "jpeg")


def test_vision_results_and_verdicts(pipeline, photo_path, tmp_path):
    photo = load_photo(photo_path("chelsea"), "chelsea.png")
    res = pipeline.compare(photo, "jpeg", 30, tmp_path, methods=["plain", "blur:1.0"], heatmaps=True)
    s = res.summary()
    top5 = s["uncompressed"]["top5"]
    assert len(top5) == 5 and "cat" in " ".join(p["label"] for p in top5).lower()
    for name, m in s["methods"].items():
        assert set(m) == {"bpp", "bytes", "bytes_vs_plain", "psnr", "kl", "confidence", "top1_kept", "top5",
                          "detections", "detections_kept", "file"}
        assert m["top1_kept"] is True and 0 <= m["kl"] < 0.5 and 0 < m["confidence"] <= 1
        assert 0 <= m["detections_kept"] <= 1 and isinstance(m["detections"], list)
        r = res.methods[name]
        assert r.analysis.cam_classifier.shape == photo.rgb.shape and r.error_map.shape == photo.rgb.shape
    assert res.uncompressed.cam_classifier.shape == photo.rgb.shape


def test_revisited_qp_is_served_from_the_cache_with_its_own_file(pipeline, photo_path, tmp_path):
    photo = load_photo(photo_path("coffee"), "coffee.png")
    a = pipeline.compare(photo, "jpeg", 33, tmp_path / "a", methods=["plain"], heatmaps=False)
    b = pipeline.compare(photo, "jpeg", 33, tmp_path / "b", methods=["plain"], heatmaps=False)
    assert "evaluate" in a.timings and "evaluate" not in b.timings
    assert b.methods["plain"].file.parent == tmp_path / "b"
    assert b.methods["plain"].file.read_bytes() == a.methods["plain"].file.read_bytes()
    assert b.summary() == a.summary()


def test_compare_refuses_bad_codec_qp_and_methods(pipeline, photo_path, tmp_path):
    photo = load_photo(photo_path("chelsea"), "chelsea.png")
    with pytest.raises(NppError, match="unknown codec"):
        pipeline.compare(photo, "webp", 37, tmp_path)
    for qp in (60, 37.5, "abc", None):
        with pytest.raises(NppError, match="QP"):
            pipeline.compare(photo, "jpeg", qp, tmp_path)
    with pytest.raises(NppError, match="unknown method"):
        pipeline.compare(photo, "jpeg", 37, tmp_path, methods=["plain", "sharpen:2"])
    with pytest.raises(NppError, match="at most"):
        pipeline.compare(photo, "jpeg", 37, tmp_path, methods=[f"blur:{s}" for s in range(1, 9)])


def test_lru_cache_drops_the_oldest_and_computes_once():
    cache: LRUCache[int] = LRUCache(2)
    calls = []
    for k in ("a", "b", "a", "c"):
        cache.get_or_compute(k, lambda k=k: calls.append(k) or len(calls))
    assert calls == ["a", "b", "c"] and "b" not in cache and "a" in cache and len(cache) == 2


def test_error_map(photo):
    rgb = photo("chelsea")
    black = error_map(rgb, rgb)
    assert black.shape == rgb.shape and (black == black[0, 0]).all() and black[0, 0].sum() < 20
    shifted = np.clip(rgb.astype(int) - 10, 0, 255).astype(np.uint8)
    lost = error_map(rgb, shifted)
    assert (lost[(rgb >= 10).all(axis=2)] == error_map(np.full((1, 1, 3), 50, np.uint8),
                                                        np.full((1, 1, 3), 40, np.uint8))[0, 0]).all()  # |10| x 4
    assert lost[(rgb >= 10).all(axis=2)].sum(axis=1).min() > black[0, 0].sum()


def test_draw_detections_marks_the_box_with_legible_captions(photo):
    rgb = photo("coffee")  # 600x400
    dets = [{"label": "cup", "score": 0.9, "box": [100, 100, 300, 250]},
            {"label": "toilet", "score": 0.4, "box": [90, 0, 320, 260]}]  # touches the top edge
    out = draw_detections(rgb, dets)
    assert out.shape == rgb.shape and not np.array_equal(out[150, 100], rgb[150, 100])
    assert np.array_equal(out[200, 200], rgb[200, 200])  # inside the box untouched
    assert caption_font_size(400, 600) >= 18
    # the top box's caption is drawn inside the image, at its top edge, not above it (off the image)
    assert not np.array_equal(out[2:20, 95:140], rgb[2:20, 95:140])


def test_versus_names_the_winner_honestly():
    npp = {"bytes": 1000, "kl": 0.10}
    assert versus("npp", npp, "resize:256", {"bytes": 900, "kl": 0.10})["verdict"] == "beats"
    assert versus("npp", npp, "resize:256", {"bytes": 1000, "kl": 0.05})["verdict"] == "beats"
    assert versus("npp", npp, "blur:1.0", {"bytes": 1100, "kl": 0.10})["verdict"] == "beaten"
    assert versus("npp", npp, "blur:1.0", {"bytes": 900, "kl": 0.20})["verdict"] == "trade-off"
    assert versus("npp", npp, "blur:1.0", {"bytes": 1000, "kl": 0.10})["verdict"] == "equal"
    assert versus("npp", npp, "blur:1.0", {"bytes": 1000, "kl": None})["verdict"] == "unknown"


def test_heatmaps_come_in_a_second_step_and_are_cached(pipeline, photo_path, tmp_path):
    photo = load_photo(photo_path("coffee"), "coffee.png")
    res = pipeline.compare(photo, "jpeg", 40, tmp_path, methods=["plain", "down:2"], heatmaps=False)
    assert not res.has_heatmaps and res.methods["down:2"].analysis.cam_classifier is None
    full = pipeline.add_heatmaps(res)
    assert full.has_heatmaps and full.summary() == res.summary()
    for a in [full.uncompressed] + [r.analysis for r in full.methods.values()]:
        assert a.cam_classifier.shape == photo.rgb.shape and a.cam_detector.shape == photo.rgb.shape
    again = pipeline.compare(photo, "jpeg", 40, tmp_path, methods=["plain", "down:2"], heatmaps=True)
    assert again.methods["down:2"].analysis.cam_classifier is full.methods["down:2"].analysis.cam_classifier


def test_concurrent_identical_compares_compute_once(photo_path, tmp_path):
    """A class on the lecturer's photo and QP: the second request waits and reads the cache."""
    pipeline = ComparePipeline()
    photo = load_photo(photo_path("astronaut"), "astronaut.png")
    results = []

    def call(i):
        results.append(pipeline.compare(photo, "jpeg", 42, tmp_path / str(i), methods=["plain", "blur:1.0"],
                                        heatmaps=False))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert len(results) == 3 and sum("evaluate" in r.timings for r in results) == 1
    assert results[0].summary() == results[1].summary() == results[2].summary()


def test_warm_precomputes_what_a_visitor_sees(photo_path, tmp_path):
    pipeline = ComparePipeline()
    photo = load_photo(photo_path("chelsea"), "chelsea.png")
    assert pipeline.warm([photo], "jpeg", 37, ["plain", "down:2"], tmp_path) > 0
    res = pipeline.compare(photo, "jpeg", 37, tmp_path, methods=["plain", "down:2"], heatmaps=True)
    assert "evaluate" not in res.timings and res.has_heatmaps


def test_tempstore_sweeps_old_request_folders():
    store = TempStore(max_age_s=60)
    try:
        old = store.new_dir()
        (old / "f.bin").write_bytes(b"x")
        os.utime(old, (time.time() - 120, time.time() - 120))
        new = store.new_dir()  # sweeps
        assert not old.exists() and new.is_dir() and oct(store.root.stat().st_mode)[-3:] == "700"
    finally:
        store.close()
    assert not store.root.exists()
