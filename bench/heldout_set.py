"""Gather the held-out photos used to judge NPP (never in its training set) into one folder.

The list is `bench/photo_sets.json` (credits and licences: docs/heldout_photos.md): the first 14
(scikit-image's astronaut, chelsea, coffee, rocket and motorcycle_left, Debian darknet's dog,
eagle, giraffe, horses, kite and person, matplotlib's grace_hopper, scikit-learn's china and
flower) plus everyday photos from Gradio (installed with the project) and from Debian, PyPI
and npm packages that `bash scripts/fetch_photos.sh --heldout` fetches.

    .venv/bin/python bench/heldout_set.py OUT_DIR [--max-side N]
    .venv/bin/python bench/heldout_set.py --list      # the photos, sources and licences (Markdown)

Every photo is checked against its SHA-256, and nothing is copied when the manifest lets a
held-out photo share a name, file, source or bytes with the training set (photo_sets.load).
`--max-side N` shrinks photos whose longer side is over N px (Lanczos; written as PNG, so no
second coding loss; the Lomiri wallpapers are up to 6028 px wide, slow to code at full size).

then, for example:

    .venv/bin/python -m npp evaluate --data OUT_DIR --codec bpg --baselines blur:0.6,blur:1.0,blur:1.5,blur:2.0,down:2 --out runs/heldout-bpg"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import photo_sets  # noqa: E402
from npp.fsutil import atomic_write  # noqa: E402

#: (where the photo lies, its name in the assembled folder, its SHA-256)
Item = Tuple[Path, str, str]


def items(manifest: photo_sets.Manifest, set_name: str) -> List[Item]:
    return [(photo_sets.locate(manifest, p), p.name, p.sha256) for p in manifest.sets[set_name]]


def copy_photos(photos: List[Item], dest: Path, fetch_hint: str, max_side: Optional[int] = None) -> int:
    """Check and copy `photos` into `dest`; 1 with a one-line message (missing files, changed
    bytes, a folder holding other files), else 0."""
    missing = [str(p) for p, _, _ in photos if not p.is_file()]
    if missing:
        print(f"{len(missing)} photos missing: {few(missing)} (run {fetch_hint})", file=sys.stderr)
        return 1
    changed = [str(p) for p, _, sha in photos if photo_sets.sha256_of(p) != sha]
    if changed:
        print(f"{len(changed)} photos differ from their SHA-256 in bench/photo_sets.json: {few(changed)}",
              file=sys.stderr)
        return 1
    targets = []
    for p, name, _ in photos:
        shrink = too_big(p, max_side)
        targets.append((p, str(Path(name).with_suffix(".png")) if shrink else name, shrink))
    names = {name for _, name, _ in targets}
    if len(names) < len(targets):
        print("two photos would get the same name once shrunk to PNG: rename one in bench/photo_sets.json",
              file=sys.stderr)
        return 1
    others = sorted(f.name for f in dest.glob("*") if not f.name.startswith(".") and f.name not in names) \
        if dest.is_dir() else []
    if others:
        print(f"{dest} holds other files ({few(others)}): use an empty or new folder", file=sys.stderr)
        return 1
    dest.mkdir(parents=True, exist_ok=True)
    for p, name, shrink in targets:
        if shrink:
            write_shrunk(p, dest / name, max_side)
        else:
            atomic_write(dest / name, lambda tmp, src=p: shutil.copyfile(src, tmp))
    print(f"{len(photos)} photos in {dest}")
    return 0


def few(names: List[str], n: int = 4) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def too_big(path: Path, max_side: Optional[int]) -> bool:
    """Whether `--max-side` shrinks this photo."""
    if max_side is None:
        return False
    from PIL import Image

    with Image.open(path) as img:
        return max(img.size) > max_side


def write_shrunk(src: Path, dest: Path, max_side: int) -> None:
    """`src` (EXIF orientation applied) with its longer side `max_side` px, as PNG."""
    import numpy as np
    from PIL import Image

    from npp.image import load_rgb, save_png

    rgb = load_rgb(src)
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    small = Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
    save_png(np.asarray(small), dest)


def markdown_list(manifest: photo_sets.Manifest) -> str:
    """The held-out photos as a Markdown table: name, package, path inside it, licence, content."""
    rows = ["| # | photo | package (registry, version) | path in the package | licence | content |",
            "|---|---|---|---|---|---|"]
    for i, p in enumerate(manifest.heldout, 1):
        s = manifest.sources[p.source]
        rows.append(f"| {i} | {p.name} | {s.package} ({s.registry}, {s.version}) | {s.root}/{p.path} | "
                    f"{manifest.licence(p)} | {p.content} |")
    n_sources = len({p.source for p in manifest.heldout})
    rows.append(f"\n{len(manifest.heldout)} held-out photos from {n_sources} sources.")
    return "\n".join(rows)


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(prog="heldout_set.py", description="Gather the held-out photos into one folder.")
    ap.add_argument("out", nargs="?", type=Path, help="folder to copy the photos into")
    ap.add_argument("--list", action="store_true", help="print the photos, their sources and licences (Markdown)")
    ap.add_argument("--max-side", type=int, metavar="N", help="shrink photos whose longer side is over N px")
    args = ap.parse_args(argv)
    if args.list == (args.out is not None):
        ap.error("give OUT_DIR or --list")
    if args.max_side is not None and args.max_side < 64:
        ap.error("--max-side: at least 64")
    try:
        manifest = photo_sets.load()
    except photo_sets.ManifestError as exc:
        print(f"heldout_set.py: error: {exc}", file=sys.stderr)
        return 2
    if args.list:
        print(markdown_list(manifest))
        return 0
    return copy_photos(items(manifest, "heldout"), args.out, "bash scripts/fetch_photos.sh --heldout", args.max_side)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
