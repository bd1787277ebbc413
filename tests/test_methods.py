"""Every registered method (timm style: parametrised over the registry), on a real photo and
the real JPEG codec: names round-trip, the receiver gets the original size back, bits are
counted from the written file against the original pixels."""
from __future__ import annotations

import numpy as np
import pytest

from npp.codecs import create_codec
from npp.errors import NppError
from npp.methods import code, create_method, create_methods, list_methods, parse_spec


@pytest.mark.parametrize("spec", list_methods())
def test_every_method_round_trips_a_photo(spec, photo):
    rgb = photo("chelsea")
    m = create_method(spec)
    assert create_method(m.name).name == m.name and m.key == create_method(m.name).key
    prepared = m.prepare(rgb, 37)
    assert prepared.rgb.dtype == np.uint8 and prepared.rgb.ndim == 3 and prepared.rgb.shape[2] == 3
    jpeg = create_codec("jpeg")
    if prepared.qp_offsets is not None and prepared.qp_offsets.any():
        jpeg = create_codec("bpg", level=1)
    coded = code(m, jpeg, rgb, 37)
    assert coded.method == m.name and coded.decoded.shape == rgb.shape
    assert coded.bpp == 8 * coded.nbytes / (rgb.shape[0] * rgb.shape[1])
    assert coded.data == jpeg.encode(prepared.rgb, 37, prepared.qp_offsets).data  # the file codes what was sent


def test_plain_is_the_codec_alone(photo):
    rgb = photo("coffee")
    jpeg = create_codec("jpeg")
    assert code(create_method("plain"), jpeg, rgb, 33).data == jpeg.encode(rgb, 33).data


@pytest.mark.parametrize("spec,sent", [("down:2", (150, 226)), ("resize:256", (256, 385)), ("resize:400", (300, 451)),
                                        ("blur:1.0", (300, 451))])
def test_baselines_send_less_and_restore_the_size(spec, sent, photo):
    rgb = photo("chelsea")  # 451 x 300
    m = create_method(spec)
    assert m.baseline
    coded = code(m, create_codec("jpeg"), rgb, 33)
    assert coded.sent.shape[:2] == sent and coded.decoded.shape == rgb.shape
    plain = create_codec("jpeg").encode(rgb, 33).nbytes
    if spec == "resize:400":  # the shorter side is already under 400 px: sent as it is
        assert coded.nbytes == plain and np.array_equal(coded.sent, rgb)
    else:
        assert coded.nbytes < plain


def test_canonical_names_and_bad_specs():
    assert [m.name for m in create_methods("plain, blur:1 down:2.0,resize:256 blur:0.75")] == [
        "plain", "blur:1.0", "down:2", "resize:256", "blur:0.75"]
    assert parse_spec("npp[weights=a/b.safetensors]") == ("npp", None, {"weights": "a/b.safetensors"})
    for bad, message in [("sharpen:2", "unknown method"), ("blur", "SIGMA"), ("blur:x", "not a number"),
                         ("blur:0", "SIGMA"), ("down:1", "FACTOR"), ("resize:25.5", "whole number"),
                         ("plain:3", "no value"), ("blur:1[k=v]", "no \\[key=value\\]"), ("npp:3", "npp"),
                         ("npp[weights=/nonexistent.safetensors]", "no such file"), ("Blur:1", "expected KIND")]:
        with pytest.raises(NppError, match=message):
            create_method(bad)
    with pytest.raises(NppError, match="twice"):
        create_methods("blur:1 blur:1.0")


def test_npp_key_follows_the_weights_file(tmp_path):
    import shutil

    from npp.nn.checkpoint import load_weights, save_weights
    from npp.nn.zoo import SHIPPED_NPP

    copy = tmp_path / "same.safetensors"
    shutil.copy(SHIPPED_NPP, copy)
    shipped, same = create_method("npp"), create_method(f"npp[weights={copy}]")
    assert shipped.key == same.key and shipped.name != same.name
    state, config, _ = load_weights(SHIPPED_NPP, "npp")
    other = tmp_path / "other.safetensors"
    save_weights({k: v * 0.5 for k, v in state.items()}, other, "npp", config)
    assert create_method(f"npp[weights={other}]").key != shipped.key
