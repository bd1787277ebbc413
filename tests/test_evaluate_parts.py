"""The pieces under `npp evaluate`: metrics, crops, protocols, the encode cache, labels
and sharding, on real photos and the real JPEG codec."""
import math

import numpy as np
import pytest
import torch

from npp.codecs import create_codec
from npp.errors import NppError
from npp.evaluate import metrics
from npp.methods.cache import EncodeCache, encode_key, pixels_hash
from npp.evaluate.crops import CROP, crops
from npp.evaluate.dataset import label_index, load_items, parse_shard


def test_psnr_matches_scikit_image(photo):
    from skimage.metrics import peak_signal_noise_ratio

    a = photo("coffee")
    b = create_codec("jpeg").decode(create_codec("jpeg").encode(a, 37).data)
    assert metrics.psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), rel=1e-9)
    assert metrics.psnr(a, a) == math.inf


@pytest.mark.parametrize("name", ["astronaut", "chelsea"])
def test_ms_ssim_matches_pytorch_msssim(photo, name):
    from pytorch_msssim import ms_ssim as reference

    # sizes divisible by 16: pytorch_msssim zero-pads odd sizes when pooling, we crop
    a = photo(name)
    a = a[: a.shape[0] // 16 * 16, : a.shape[1] // 16 * 16]
    jpeg = create_codec("jpeg")
    b = jpeg.decode(jpeg.encode(a, 40).data)
    t = lambda z: torch.from_numpy(z.copy()).permute(2, 0, 1)[None].double()  # noqa: E731
    assert metrics.ms_ssim(a, b) == pytest.approx(float(reference(t(a), t(b), data_range=255)), abs=1e-4)


def test_ms_ssim_orders_qualities_and_handles_small_images(photo):
    a = photo("chelsea")
    jpeg = create_codec("jpeg")
    hi, lo = (jpeg.decode(jpeg.encode(a, qp).data) for qp in (22, 42))
    assert metrics.ms_ssim(a, a) == pytest.approx(1.0)
    assert 1.0 > metrics.ms_ssim(a, hi) > metrics.ms_ssim(a, lo) > 0.5
    small = a[:120, :150]
    assert 0.3 < metrics.ms_ssim(small, lo[:120, :150]) < 1.0


def test_kl_and_agreement():
    ref = torch.tensor([[4.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    assert metrics.kl_divergence(ref, ref) == pytest.approx([0.0, 0.0], abs=1e-12)
    other = torch.tensor([[1.0, 4.0, 0.0], [0.0, 3.0, 1.5]])
    kl = metrics.kl_divergence(ref, other)
    assert kl[0] > kl[1] > 0
    assert list(metrics.top1_agreement(ref, other)) == [0.0, 1.0]
    assert list(metrics.topk_hits(other, 1, 1)) == [1.0, 1.0]
    assert list(metrics.topk_hits(other, 2, 2)) == [0.0, 1.0]


def test_crops_follow_the_protocol(photo):
    a = photo("chelsea")  # 300 x 451: resized to 256 x 385
    c = crops(a)
    assert c.shape == (5, CROP, CROP, 3) and c.dtype == np.uint8
    assert not np.array_equal(c[1], c[2])  # left and right corners differ


def test_protocols_give_the_codec_and_the_model_what_they_promise(photo):
    from npp.evaluate.protocol import classifier_view, detector_input, source

    a = photo("chelsea")
    assert source(a, "full", "cls") is a and classifier_view(a, "full").shape == (5, CROP, CROP, 3)
    m = source(a, "model-input", "cls")
    assert m.shape == (CROP, CROP, 3) and np.array_equal(m, crops(a, ("center",))[0])  # the classifier's centre crop
    assert classifier_view(m, "model-input").shape == (1, CROP, CROP, 3)
    assert detector_input(a, 416).shape == (416, 416, 3) and max(detector_input(a, None).shape) == 451


def test_confidence_and_detection_f1():
    ref = torch.tensor([[4.0, 1.0, 0.0]])
    assert metrics.class_confidence(ref, ref)[0] == pytest.approx(float(torch.softmax(ref, 1)[0, 0]))
    assert metrics.class_confidence(ref, torch.tensor([[0.0, 9.0, 0.0]]))[0] < 0.01

    def det(label, box, score=0.9):
        return {"label": label, "box": box, "score": score}

    boxes = [det("cat", [0, 0, 100, 100]), det("dog", [200, 200, 300, 300])]
    assert metrics.detection_f1(boxes, boxes) == 1.0 and metrics.detection_f1([], []) == 1.0
    assert metrics.detection_f1(boxes, []) == 0.0
    assert metrics.detection_f1(boxes, [det("cat", [5, 5, 100, 100])]) == pytest.approx(2 / 3)
    assert metrics.detection_f1(boxes, [det("dog", [0, 0, 100, 100])]) == 0.0  # right place, wrong label
    assert metrics.detection_f1(boxes, [det("cat", [60, 60, 160, 160])]) == 0.0  # IoU below 0.5


def test_cache_keys_separate_everything_that_changes_bytes(photo, tmp_path):
    h = pixels_hash(photo("chelsea"))
    assert h == pixels_hash(photo("chelsea").copy()) != pixels_hash(photo("coffee"))
    base = encode_key(h, "jpeg", 32, {}, "plain")
    assert base == encode_key(h, "jpeg", 32, {}, "plain")
    others = {encode_key(h, "jpeg", 33, {}, "plain"), encode_key(h, "bpg", 32, {}, "plain"),
              encode_key(h, "jpeg", 32, {"quality": 50}, "plain"), encode_key(h, "jpeg", 32, {}, "blur:1.0"),
              encode_key(h, "jpeg", 32, {}, "npp#w1"), encode_key(h, "jpeg", 32, {}, "npp#w2")}
    assert base not in others and len(others) == 6
    cache = EncodeCache(tmp_path)
    assert cache.get(base, ".jpg") is None
    cache.put(base, ".jpg", b"\xff\xd8\xffdata")
    assert cache.get(base, ".jpg") == b"\xff\xd8\xffdata"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{base}.jpg"]  # no temp files left


def test_labels_by_index_and_name():
    assert label_index("281", "x") == 281
    assert label_index("tabby", "x") == 281
    assert label_index("Espresso", "x") == 967
    for bad in ("1000", "not a class"):
        with pytest.raises(NppError):
            label_index(bad, "x")


def test_load_items_labels_csv_imagefolder_and_shards(photo_path, tmp_path):
    import shutil

    flat = tmp_path / "flat"
    flat.mkdir()
    for n in ("chelsea", "coffee", "astronaut"):
        shutil.copy(photo_path(n), flat / photo_path(n).name)
    csv = tmp_path / "labels.csv"
    csv.write_text("file,label\nchelsea.png,tabby\ncoffee.png,967\nastronaut.png,suit\n")
    items = load_items(flat, csv)
    assert [(i.name, i.label) for i in items] == [("astronaut.png", 834), ("chelsea.png", 281), ("coffee.png", 967)]
    shards = [load_items(flat, csv, shard=(i, 2)) for i in range(2)]
    assert sorted(i.name for s in shards for i in s) == [i.name for i in items]
    csv.write_text("file,label\nchelsea.png,tabby\n")
    with pytest.raises(NppError, match="no label for"):
        load_items(flat, csv)

    tree = tmp_path / "tree"
    for cls, n in (("tabby", "chelsea"), ("967", "coffee")):
        (tree / cls).mkdir(parents=True)
        shutil.copy(photo_path(n), tree / cls / photo_path(n).name)
    assert [(i.name, i.label) for i in load_items(tree, imagefolder=True)] == [
        ("967/coffee.png", 967), ("tabby/chelsea.png", 281)]
    wn = tmp_path / "wn"
    (wn / "n02123045").mkdir(parents=True)
    shutil.copy(photo_path("chelsea"), wn / "n02123045" / "c.png")
    with pytest.raises(NppError, match="synsets"):
        load_items(wn, imagefolder=True)


@pytest.mark.parametrize("spec", ["2/2", "a/b", "1", "-1/3"])
def test_bad_shards(spec):
    with pytest.raises(NppError):
        parse_shard(spec)
    assert parse_shard("3/4") == (3, 4) and parse_shard(None) == (0, 1)
