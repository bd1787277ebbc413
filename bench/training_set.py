"""Gather the photos the shipped NPP was trained on into one folder: twelve photos from
Debian's mate-backgrounds and the 28 everyday photos from Debian's opencv-doc
(`bash scripts/fetch_photos.sh --training`), as listed in `bench/photo_sets.json`. None of them
is a held-out photo (`bench/heldout_set.py`): nothing is copied when the manifest lets the two
sets share a name, file, source package or bytes (photo_sets.load), and every photo is checked
against its SHA-256.

    .venv/bin/python bench/training_set.py OUT_DIR"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from heldout_set import copy_photos, items  # noqa: E402
import photo_sets  # noqa: E402


def main(argv: list) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        manifest = photo_sets.load()
    except photo_sets.ManifestError as exc:
        print(f"training_set.py: error: {exc}", file=sys.stderr)
        return 2
    return copy_photos(items(manifest, "training"), Path(argv[0]), "bash scripts/fetch_photos.sh --training")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
