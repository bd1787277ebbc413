"""`evaluate_photo`: the sweep on one in-memory photo, as the app's Curves tab calls it."""
import math

import pytest

from npp.evaluate import evaluate_photo, parse_baselines, summary


@pytest.fixture(scope="module")
def classifier():
    from npp.vision import create_model

    return create_model("efficientnet_lite0", task="cls", device="cpu")


def test_one_photo_gives_curves_and_bd_rates(photo, classifier, tmp_path):
    rgb = photo("coffee")
    res = evaluate_photo(rgb, "jpeg", [22, 32, 42], classifier, baselines=parse_baselines("down:2"), label=967,
                         cache_dir=tmp_path)
    s = summary(res)
    assert (s["metric"], set(s["curves"])) == ("top1", {"jpeg", "down2+jpeg"})
    plain = res["curves"]["jpeg"]
    assert plain["bpp"] == sorted(plain["bpp"], reverse=True)
    assert plain["psnr"] == sorted(plain["psnr"], reverse=True)
    assert plain["kl"][0] < plain["kl"][-1]
    assert res["curves"]["down2+jpeg"]["bpp"][0] < plain["bpp"][0] / 2
    assert set(res["bd_rate"]["kl"]) == {"down2+jpeg"}
    assert all(math.isnan(v) for v in res["bd_rate"]["kl"]["down2+jpeg"]["ci95"])  # one photo: no interval
    assert res["reference"]["images"] == 1 and res["reference"]["top1"] in (0.0, 1.0)
    # the same photo again comes from the cache, with the same numbers
    again = evaluate_photo(rgb, "jpeg", [22, 32, 42], classifier, baselines=parse_baselines("down:2"), label=967,
                           cache_dir=tmp_path)
    assert all(r.get("cached", True) for r in again["rows"])
    assert again["curves"] == res["curves"]
