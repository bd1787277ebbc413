"""Shared fixtures: real photos from packages the test set-up installs (tests/data/README.md)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from npp.image import load_rgb


def skimage_photo_path(name: str) -> Path:
    """Path of a photo shipped in scikit-image's wheel (astronaut, chelsea, coffee, rocket, ...)."""
    import skimage

    data = Path(skimage.__file__).parent / "data"
    for suffix in (".png", ".jpg"):
        p = data / f"{name}{suffix}"
        if p.is_file():
            return p
    raise FileNotFoundError(name)


@pytest.fixture(scope="session")
def photo_path():
    return skimage_photo_path


@pytest.fixture(scope="session")
def photo():
    """`photo(name)` -> HxWx3 uint8 RGB of a real photo."""
    cache: dict = {}

    def get(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = load_rgb(skimage_photo_path(name))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def npp_cache() -> Path:
    return Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp"))


@pytest.fixture(scope="session")
def bellard(npp_cache):
    """Every .bpg handed to `bellard.add(data, our_decode, label)` must decode in Bellard's own
    decoder to >= 37 dB from our decode; checked in one node run when the session ends."""
    from bellard import BellardCheck, decoder_js

    check = BellardCheck(decoder_js(npp_cache))
    yield check
    try:
        failures = check.check()
    finally:
        check.close()
    if failures:
        pytest.fail("Bellard's decoder disagrees:\n" + "\n".join(failures), pytrace=False)


_PHOTO_SOURCES = {
    # source name -> folder holding its photos (see tests/data/README.md)
    "skimage": lambda: Path(__import__("skimage").__file__).parent / "data",
    "matplotlib": lambda: Path(__import__("matplotlib").__file__).parent / "mpl-data" / "sample_data",
    "sklearn": lambda: Path(__import__("sklearn").__file__).parent / "datasets" / "images",
    "darknet": lambda: Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp")) / "photos" / "darknet",
    "mate-backgrounds": lambda: Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp")) / "photos" / "mate-backgrounds",
}


@pytest.fixture(scope="session")
def offline_photo_path():
    """`offline_photo_path(source, file)` -> Path of a labelled test photo; the Debian ones
    come from `bash scripts/setup.sh --test` (scripts/fetch_photos.sh)."""

    def get(source: str, file: str) -> Path:
        p = _PHOTO_SOURCES[source]() / file
        if not p.is_file():
            pytest.fail(f"{p} is missing: run `bash scripts/setup.sh --test` (fetches the test photos)")
        return p

    return get
