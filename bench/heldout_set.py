"""Gather the held-out photos used to judge NPP (never in its training set) into one folder:
scikit-image's photos, Debian darknet's photos (`scripts/fetch_photos.sh darknet`),
matplotlib's grace_hopper.jpg and scikit-learn's china.jpg and flower.jpg.

    .venv/bin/python bench/heldout_set.py OUT_DIR

then, for example:

    .venv/bin/python -m npp evaluate --data OUT_DIR --codec bpg --baselines blur:0.6,blur:1.0,blur:1.5,blur:2.0,down:2 --out runs/heldout-bpg"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

SKIMAGE = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png")
DARKNET = ("dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "kite.jpg", "person.jpg")


def sources() -> list:
    import matplotlib
    import skimage
    import sklearn

    cache = Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp"))
    out = [Path(skimage.__file__).parent / "data" / n for n in SKIMAGE]
    out += [cache / "photos" / "darknet" / n for n in DARKNET]
    out.append(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    out += [Path(sklearn.__file__).parent / "datasets" / "images" / n for n in ("china.jpg", "flower.jpg")]
    return out


def copy_photos(photos: list, dest: Path, fetch_hint: str) -> int:
    """Copy `photos` into `dest`; 1 with a one-line message naming the missing ones, else 0."""
    missing = [p for p in photos if not p.is_file()]
    if missing:
        print(f"missing: {', '.join(map(str, missing))} (run {fetch_hint})", file=sys.stderr)
        return 1
    dest.mkdir(parents=True, exist_ok=True)
    for p in photos:
        shutil.copy(p, dest / p.name)
    print(f"{len(photos)} photos in {dest}")
    return 0


def main(argv: list) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    return copy_photos(sources(), Path(argv[0]), "scripts/fetch_photos.sh darknet")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
