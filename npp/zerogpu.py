"""Running the app's model work on ZeroGPU, the Hub's shared GPUs.

On ZeroGPU the app's process has no GPU: `import spaces` makes torch pretend CUDA is there,
and a GPU is attached only while a function decorated with `spaces.GPU` runs, in a worker
process forked from the app (reused while it stays warm). So the function handed to
`spaces.GPU` must be the one that does the GPU work, and the models it uses must be moved to
CUDA inside it. `gpu_task` builds that function: it moves the shared models (every model the
vision registry built, unless told otherwise) to the device, then calls the task. The app
builds its models on `start_device()`, the CPU on ZeroGPU. There, every piece of model work
must run inside a `gpu_task` call: outside one, torch claims CUDA that is not there. What the
task returns crosses back to the app by pickle, so it must hold no CUDA tensors (numpy arrays
and files are fine), and what it caches stays in the worker.

Where `spaces` does not import (a laptop, CI) the task is returned unchanged; on a Space
without ZeroGPU, `spaces.GPU` returns it unchanged too, and moving the models to
`pick_device()` is a no-op because they were built there."""
from __future__ import annotations

import functools
import importlib
from typing import Callable, Iterable, Optional, TypeVar

import torch
from torch import nn

from npp.hosting import zero_gpu
from npp.torchutil import Device, pick_device
from npp.vision.registry import built_models

F = TypeVar("F", bound=Callable)


def start_device() -> torch.device:
    """Where the app builds its shared models at start: the CPU on ZeroGPU (no GPU exists
    outside a `gpu_task` call there), else `pick_device()`. On ZeroGPU it also imports
    `spaces`, which must patch torch before anything asks CUDA (call this first)."""
    if zero_gpu():
        try:
            importlib.import_module("spaces")
        except ImportError:
            pass  # not on the Hub after all: nothing to patch
        return torch.device("cpu")
    return pick_device()


def gpu_task(task: F, duration: Optional[int] = None,
             models: Callable[[], Iterable[nn.Module]] = built_models, device: Device = None) -> F:
    """`task`, decorated with `spaces.GPU` (with `duration`, the seconds of GPU to ask for at
    most) when the `spaces` package imports, after wrapping it so that each call first moves
    `models()` to `device` (default: `pick_device()`, CUDA inside a ZeroGPU call). Without
    `spaces`, `task` itself."""
    try:
        spaces = importlib.import_module("spaces")
    except ImportError:
        return task

    @functools.wraps(task)
    def on_device(*args, **kwargs):
        dev = pick_device(device)
        for model in models():
            model.to(dev)
        return task(*args, **kwargs)

    if duration is None:
        return spaces.GPU(on_device)
    return spaces.GPU(on_device, duration=duration)
