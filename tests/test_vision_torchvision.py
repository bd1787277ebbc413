"""The torchvision wrappers (the paper's models) on their real architectures.

Their pretrained weights cannot be downloaded here, so these tests build the architectures
with random weights: they check the wrapper (input handling, raw outputs, label mapping to the
80 COCO classes, gradients), not accuracy."""
from __future__ import annotations

import pytest
import torch
from torchvision.models import get_model, get_weight

from npp.vision import COCO_LABELS
from npp.vision.classifier import Classifier
from npp.vision.torchvision_models import CLASSIFIERS, DETECTORS, IMAGENET_MEAN, IMAGENET_STD, TorchvisionDetector


# one one-stage (head outputs) and one two-stage detector: the wrapper's two paths
@pytest.mark.parametrize("name", ["fcos_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2"])
def test_detector_wrapper(name):
    torch.manual_seed(0)
    weights_name = DETECTORS[name][0]
    net = get_model(name, weights=None, weights_backbone=None, min_size=96, max_size=128).eval()
    det = TorchvisionDetector(name, net, get_weight(weights_name).meta["categories"]).eval()
    x = torch.rand(2, 3, 72, 96, requires_grad=True)
    raw = det(x)
    assert any(k.startswith("fpn_") for k in raw)
    sum(v.float().mean() for v in raw.values()).backward()
    assert x.grad.abs().sum() > 0
    for dets in det.detect(x.detach(), threshold=0.0):
        for d in dets:
            assert d["label"] in COCO_LABELS
            x0, y0, x1, y1 = d["box"]
            assert 0 <= x0 <= x1 <= 96 and 0 <= y0 <= y1 <= 72  # the input's pixels
    assert len(det.cam_layers) == 1


def test_category_mapping_covers_coco80():
    cats = get_weight(DETECTORS["fcos_resnet50_fpn"][0]).meta["categories"]
    det = TorchvisionDetector("fcos_resnet50_fpn", torch.nn.Identity(), cats)
    mapped = [int(i) for i in det.to_ours if i >= 0]
    assert sorted(mapped) == list(range(80))
    assert COCO_LABELS[int(det.to_ours[cats.index("person")])] == "person"


def test_classifier_wrapper():
    name = "resnet18"
    net = get_model(name, weights=None).eval()
    clf = Classifier(name, net, IMAGENET_MEAN, IMAGENET_STD, 224, CLASSIFIERS[name][1]).eval()
    x = torch.rand(2, 3, 150, 200, requires_grad=True)
    assert clf(x).shape == (2, 1000)
    clf(x)[:, 0].sum().backward()
    assert x.grad.abs().sum() > 0
    assert clf.cam_layer is net.layer4
