"""Gather the photos the shipped NPP was trained on into one folder: twelve photos from
Debian's mate-backgrounds and the 28 everyday photos fetched from Debian's opencv-doc
(`scripts/fetch_photos.sh mate-backgrounds opencv-doc`). None of them is a held-out photo
(`bench/heldout_set.py`); the script refuses to copy a file whose name is one.

    .venv/bin/python bench/training_set.py OUT_DIR"""
from __future__ import annotations

import os
import sys
from pathlib import Path

MATE = ("Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower")


def sources() -> list:
    cache = Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp")) / "photos"
    out = [cache / "mate-backgrounds" / f"{n}.jpg" for n in MATE]
    opencv = cache / "opencv-doc"
    out += sorted(p for p in opencv.iterdir() if p.is_file() and not p.name.startswith(".")) if opencv.is_dir() else [opencv]
    return out


def main(argv: list) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).parent))
    from heldout_set import copy_photos
    from heldout_set import sources as heldout

    photos = sources()
    clash = {p.name for p in photos} & {p.name for p in heldout()}
    if clash:
        print(f"held-out photos in the training set: {', '.join(sorted(clash))}", file=sys.stderr)
        return 1
    return copy_photos(photos, Path(argv[0]), "scripts/fetch_photos.sh mate-backgrounds opencv-doc")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
