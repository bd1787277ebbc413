"""`evaluate_photo`: the sweep on one in-memory photo, as the app's Curves tab calls it."""
import math

import pytest

from npp.evaluate import evaluate_photo, summary
from npp.methods import create_methods


@pytest.fixture(scope="module")
def classifier():
    from npp.vision import create_model

    return create_model("efficientnet_lite0", task="cls", device="cpu")


def test_one_photo_gives_curves_and_bd_rates(photo, classifier, tmp_path):
    rgb = photo("coffee")
    methods = create_methods("plain down:2")
    res = evaluate_photo(rgb, "jpeg", [22, 32, 42], methods, {"cls": classifier}, label=967, cache_dir=tmp_path)
    s = summary(res)
    assert (s["metric"], set(s["curves"])) == ("top1", {"plain", "down:2"})
    plain = res["curves"]["plain"]
    assert plain["bpp"] == sorted(plain["bpp"], reverse=True)
    assert plain["psnr"] == sorted(plain["psnr"], reverse=True)
    assert plain["kl"][0] < plain["kl"][-1]
    assert all(0 < c <= 1 for c in plain["confidence"]) and plain["confidence"][0] > plain["confidence"][-1]
    assert res["curves"]["down:2"]["bpp"][0] < plain["bpp"][0] / 2
    assert set(res["bd_rate"]["kl"]) == {"down:2"} and res["config"]["baselines"] == ["down:2"]
    assert all(math.isnan(v) for v in res["bd_rate"]["kl"]["down:2"]["ci95"])  # one photo: no interval
    assert res["reference"]["images"] == 1 and res["reference"]["top1"] in (0.0, 1.0)
    # the same photo again comes from the cache, with the same numbers
    again = evaluate_photo(rgb, "jpeg", [22, 32, 42], methods, {"cls": classifier}, label=967, cache_dir=tmp_path)
    assert all(r.get("cached", True) for r in again["rows"])
    assert again["curves"] == res["curves"]
