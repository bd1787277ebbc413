"""Model files: weights as safetensors (fp16 for shipping) with the architecture's config in
the metadata, so a file alone rebuilds its model. Written atomically."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Tuple, Union

import torch

from npp.errors import NppError
from npp.fsutil import atomic_write


def save_weights(
    state: Dict[str, torch.Tensor], path: Union[str, Path], kind: str, config: dict, meta: dict | None = None,
    half: bool = True,
) -> Path:
    """Write `state` (floats as fp16 when `half` and they fit) with {kind, config, meta} as metadata."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for k, v in state.items():
        v = v.detach().cpu()
        if half and v.is_floating_point() and _fits_half(v):
            v = v.half()
        tensors[k] = v.contiguous()
    metadata = {"kind": kind, "config": json.dumps(config), "meta": json.dumps(meta or {})}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    return path


def _fits_half(v: torch.Tensor) -> bool:
    """fp16 keeps every value finite and no non-zero value becomes zero (e.g. a 1e-9 bound)."""
    h = v.half()
    return bool(torch.isfinite(h).all() and not ((h == 0) & (v != 0)).any())


def load_weights(path: Union[str, Path], kind: str) -> Tuple[Dict[str, torch.Tensor], dict, dict]:
    """(fp32 state dict, config, meta) of a weights file; NppError when it is not a `kind` file.

    Accepts the shipped .safetensors files and the training checkpoints (.pt) of `npp train`."""
    path = Path(path)
    if not path.is_file():
        raise NppError(f"{path}: no such weights file")
    if path.suffix == ".pt":
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise NppError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
        if not isinstance(ckpt, dict) or ckpt.get("kind") != kind:
            raise NppError(f"{path}: not a {kind} checkpoint")
        return {k: v.float() for k, v in ckpt["model"].items()}, ckpt["config"], ckpt.get("meta", {})
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            md = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise NppError(f"{path}: not a readable safetensors file ({type(exc).__name__})") from None
    if md.get("kind") != kind:
        raise NppError(f"{path}: holds a {md.get('kind', 'unknown')!r} model, not {kind!r}")
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    return state, json.loads(md.get("config", "{}")), json.loads(md.get("meta", "{}"))
