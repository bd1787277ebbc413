"""The ZeroGPU path (npp.zerogpu) with a stand-in for the Hub's `spaces` package: it records
what `spaces.GPU` was given and marks the time a GPU would be attached. The function handed
to `spaces.GPU` must be the one that moves the models and does the work, inside the call.
With a CUDA device, the real classifier is moved inside the call and gives the CPU's answer."""
from __future__ import annotations

import functools
import sys
import types

import pytest
import torch
from torch import nn

from npp import zerogpu
from npp.torchutil import model_device, to_tensor
from npp.vision import create_model
from npp.vision.registry import built_models


class StubSpaces(types.ModuleType):
    """`spaces` as app code sees it: `GPU(task)` or `GPU(task, duration=...)` or `GPU(duration=...)`."""

    def __init__(self) -> None:
        super().__init__("spaces")
        self.decorated = []  # (task, duration) per decoration
        self.events = []
        self.attached = False

    def GPU(self, task=None, *, duration=None):
        if task is None:
            return functools.partial(self.GPU, duration=duration)
        self.decorated.append((task, duration))

        @functools.wraps(task)
        def with_gpu(*args, **kwargs):
            self.events.append("attach")
            self.attached = True
            try:
                return task(*args, **kwargs)
            finally:
                self.attached = False
                self.events.append("release")

        return with_gpu


class Probe(nn.Linear):
    """A real module that notes each move and whether a GPU was attached at the time."""

    def __init__(self, spaces: StubSpaces) -> None:
        super().__init__(4, 2)
        self.spaces = spaces

    def to(self, *args, **kwargs):
        self.spaces.events.append(f"move to {torch.device(args[0])} attached={self.spaces.attached}")
        return super().to(*args, **kwargs)


@pytest.fixture
def spaces(monkeypatch):
    stub = StubSpaces()
    monkeypatch.setitem(sys.modules, "spaces", stub)
    return stub


def test_without_spaces_the_task_is_returned_unchanged(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # `import spaces` raises ImportError

    def task():
        return 1

    assert zerogpu.gpu_task(task, duration=30) is task


def test_the_decorated_function_moves_the_models_then_does_the_work(spaces):
    probe = Probe(spaces)

    def compare(x):
        spaces.events.append(f"compare attached={spaces.attached}")
        return probe(torch.full((1, 4), float(x))).detach().cpu().numpy()

    task = zerogpu.gpu_task(compare, duration=30, models=lambda: [probe], device="cpu")
    assert len(spaces.decorated) == 1
    handed, duration = spaces.decorated[0]
    assert duration == 30
    assert handed is not compare and handed.__wrapped__ is compare  # the wrapper that moves, then works
    assert spaces.events == []  # nothing moves at decoration time, outside a call
    out = task(2)
    assert out.shape == (1, 2)
    assert spaces.events == ["attach", "move to cpu attached=True", "compare attached=True", "release"]


def test_default_duration_and_default_models(spaces):
    zerogpu.gpu_task(len)
    assert spaces.decorated == [(spaces.decorated[0][0], None)]
    model = create_model("efficientnet_lite0", task="cls", device="cpu")
    assert any(m is model for m in built_models())  # the shared models the default moves


def test_models_are_built_on_the_cpu_on_zerogpu(monkeypatch, tmp_path):
    (tmp_path / "spaces.py").write_text("IMPORTED_FIRST = True\n")  # a `spaces` to be imported for real
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "spaces", None)  # so that undoing removes what the import adds
    monkeypatch.delitem(sys.modules, "spaces")
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert zerogpu.start_device() == torch.device("cpu")
    assert sys.modules["spaces"].IMPORTED_FIRST  # imported, so that it patches torch before CUDA is asked
    monkeypatch.delenv("SPACES_ZERO_GPU")
    assert zerogpu.start_device() == torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_shared_models_move_to_cuda_inside_the_call(spaces, photo):
    model = create_model("efficientnet_lite0", task="cls", device="cpu")
    x = to_tensor(photo("chelsea"))
    expected = model.predict(x)[0]

    def classify(batch):
        seen = model_device(model)
        return str(seen), model.predict(batch)[0]  # plain Python: nothing CUDA crosses back

    before = [(m, model_device(m)) for m in built_models()]
    try:
        seen, got = zerogpu.gpu_task(classify, duration=20)(x)
        assert seen.startswith("cuda") and model_device(model).type == "cuda"
        assert got[0]["index"] == expected[0]["index"]
        assert abs(got[0]["prob"] - expected[0]["prob"]) < 1e-3
    finally:
        for m, dev in before:  # in this process (unlike a ZeroGPU worker) the move must be undone
            m.to(dev)
