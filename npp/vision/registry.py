"""The task-model registry: one name per model, grouped by task ("cls", "det", "pose").

A model registers a factory (builds the nn.Module) and a status check (can it run here, and
why not) that never downloads anything. `create_model` builds each (name, device) once per
process, because the models are large and callers (CLI, app, training) ask for them often."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

from npp.errors import NppError
from npp.torchutil import pick_device

TASKS = ("cls", "det", "pose")
DEFAULTS = {"cls": "efficientnet_lite1", "det": "nanodet", "pose": "movenet"}


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model without building it."""

    name: str
    task: str
    factory: Callable[[], nn.Module]
    status: Callable[[], Tuple[bool, str]]
    description: str = ""
    licence: str = ""


_REGISTRY: Dict[str, ModelSpec] = {}
_BUILT: Dict[Tuple[str, str], nn.Module] = {}
_LOCK = threading.Lock()


def register_model(
    name: str,
    task: str,
    status: Callable[[], Tuple[bool, str]],
    description: str = "",
    licence: str = "",
) -> Callable[[Callable[[], nn.Module]], Callable[[], nn.Module]]:
    """Decorator: register `factory` (no arguments, returns a CPU nn.Module in eval mode)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}")

    def wrap(factory: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
        _REGISTRY[name] = ModelSpec(name, task, factory, status, description, licence)
        return factory

    return wrap


def list_models(task: Optional[str] = None) -> List[str]:
    """Registered model names (for one task, or all), defaults first."""
    names = [n for n, s in _REGISTRY.items() if task is None or s.task == task]
    return sorted(names, key=lambda n: (n not in DEFAULTS.values(), n))


def model_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NppError(f"unknown model {name!r} (known: {', '.join(list_models())})") from None


def model_status(name: str) -> Tuple[bool, str]:
    """(True, "") when `name` can be built here, else (False, why not); never downloads."""
    return model_spec(name).status()


def models_summary() -> str:
    """One line saying which models judge the images here: each task's default, then the other
    models by whether they are ready, fetched on first use, or unavailable (a page tells its
    visitors this). Never downloads."""
    defaults, groups = [], {"ready": [], "fetched": [], "unavailable": []}
    for task, role in (("cls", "classifier"), ("det", "detector")):
        name = DEFAULTS[task]
        ok, reason = model_status(name)
        short = model_spec(name).description.split(",")[0].split(" at ")[0]
        defaults.append(f"{role} {short}" + (" (fetched on first use)" if ok and reason else ""))
        for other in list_models(task)[1:]:
            ok, reason = model_status(other)
            groups["unavailable" if not ok else "fetched" if reason else "ready"].append(other)
    line = "Models: " + " and ".join(defaults) + " by default"
    for key, label in (("ready", "also"), ("fetched", "also, fetched on first use:"),
                       ("unavailable", "not available here:")):
        if groups[key]:
            line += f"; {label} " + ", ".join(groups[key])
    return line + "."


def built_models() -> List[nn.Module]:
    """Every model `create_model` has built in this process (the shared ones), e.g. to move
    them to the GPU that ZeroGPU attaches only for the duration of a call."""
    with _LOCK:
        return list(_BUILT.values())


def create_model(
    name: Optional[str] = None,
    task: str = "cls",
    device: Optional[str | torch.device] = None,
) -> nn.Module:
    """The model `name` (default: the task's offline default) in eval mode on `device`.

    Built once per (name, device) and shared: callers must not train it in place; its
    parameters have requires_grad=False, gradients still flow to the input."""
    if task not in TASKS:
        raise NppError(f"unknown task {task!r} (tasks: {', '.join(TASKS)})")
    name = name or DEFAULTS[task]
    spec = model_spec(name)
    if spec.task != task:
        raise NppError(f"model {name!r} is a {spec.task} model, not {task}")
    dev = pick_device(device)
    key = (name, str(dev))
    with _LOCK:
        if key not in _BUILT:
            ok, reason = spec.status()
            if not ok:
                raise NppError(f"model {name} cannot run here: {reason}")
            model = spec.factory().eval()
            for p in model.parameters():
                p.requires_grad_(False)
            _BUILT[key] = model.to(dev)
        return _BUILT[key]
