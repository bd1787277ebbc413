"""The offline models give the same results on CUDA as on the CPU (runs only with a GPU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from npp.vision import create_model
from npp.vision.gradcam import gradcam_overlay
from npp.torchutil import to_tensor

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("name, task", [("efficientnet_lite0", "cls"), ("nanodet", "det"), ("movenet", "pose")])
def test_cuda_matches_cpu(name, task, photo):
    x = to_tensor(photo("astronaut"))
    cpu, gpu = create_model(name, task, "cpu"), create_model(name, task, "cuda")
    with torch.no_grad():
        a, b = cpu(x), gpu(x.cuda())
    if isinstance(a, dict):
        for k in a:
            assert torch.allclose(a[k], b[k].cpu(), atol=2e-3), k
    else:
        assert torch.allclose(a, b.cpu(), atol=2e-3)
    if task == "det":
        assert [d["label"] for d in cpu.detect(x)[0]] == [d["label"] for d in gpu.detect(x)[0]]


@pytest.mark.parametrize("name, task", [("efficientnet_lite0", "cls"), ("nanodet", "det")])
def test_gradcam_on_cuda(name, task, photo):
    rgb = photo("astronaut")
    out = gradcam_overlay(create_model(name, task, "cuda"), rgb)
    assert out.shape == rgb.shape and out.dtype == np.uint8
