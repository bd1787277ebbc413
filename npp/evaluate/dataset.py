"""Which images an evaluation runs on and their labels: a folder (searched recursively),
labels from a `file,label` CSV or from ImageFolder class folders, and `--shard I/N`."""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from npp.errors import NppError
from npp.image import IMAGE_SUFFIXES
from npp.evaluate.sweep import Item

WNID = re.compile(r"^n\d{8}$")


def imagenet_labels() -> List[str]:
    """The 1000 ImageNet-1k class names in index order (torchvision's list, offline)."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return list(_IMAGENET_CATEGORIES)


def label_index(value: str, where: str) -> int:
    """An ImageNet index ("281") or class name ("tabby", case-insensitive when unambiguous)."""
    value = value.strip()
    names = imagenet_labels()
    if value.isdigit():
        if int(value) < len(names):
            return int(value)
        raise NppError(f"{where}: label {value} is not an ImageNet index (0..{len(names) - 1})")
    if value in names:
        return names.index(value)
    folded = [i for i, n in enumerate(names) if n.lower() == value.lower()]
    if len(folded) == 1:
        return folded[0]
    raise NppError(f"{where}: {value!r} is not an ImageNet class name or index")


def list_images(data: Path) -> List[Path]:
    """Image files under `data` (recursively), sorted by relative path; a file stands for itself."""
    data = Path(data)
    if data.is_file():
        return [data]
    if not data.is_dir():
        raise NppError(f"--data {data}: no such folder")
    files = sorted((p for p in data.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                   key=lambda p: p.relative_to(data).as_posix())
    if not files:
        raise NppError(f"--data {data}: holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def read_labels_csv(path: Path) -> Dict[str, int]:
    """`file,label` rows -> {file: ImageNet index}; file is a path relative to --data or a name."""
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"file", "label"} <= set(reader.fieldnames):
                raise NppError(f"--labels {path}: needs a header with columns file,label")
            return {row["file"].strip(): label_index(row["label"], f"--labels {path} line {i + 2}")
                    for i, row in enumerate(reader)}
    except OSError as exc:
        raise NppError(f"--labels {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise NppError(f"--labels {path}: not a CSV file ({exc})") from None


def read_synsets(path: Path) -> Dict[str, int]:
    """`LOC_synset_mapping.txt` style lines ("n01440764 tench, Tinca tinca") in class order."""
    try:
        lines = [ln.split()[0] for ln in Path(path).read_text().splitlines() if ln.strip()]
    except OSError as exc:
        raise NppError(f"--synsets {path}: {exc.strerror}") from None
    if len(lines) != 1000 or not all(WNID.match(w) for w in lines):
        raise NppError(f"--synsets {path}: expected 1000 lines starting with a WordNet id")
    return {w: i for i, w in enumerate(lines)}


def folder_labels(data: Path, files: Sequence[Path], synsets: Optional[Path]) -> Dict[str, int]:
    """ImageFolder labels: the class folder is an index, a class name or a WordNet id. WordNet
    ids map through `synsets`, or by sorted order when all 1000 class folders are present."""
    classes = sorted({f.relative_to(data).parts[0] for f in files})
    if all(WNID.match(c) for c in classes):
        if synsets:
            table = read_synsets(synsets)
        elif len(classes) == 1000:
            table = {w: i for i, w in enumerate(classes)}
        else:
            raise NppError(f"--data {data}: {len(classes)} WordNet-id folders (not all 1000): "
                           "give --synsets LOC_synset_mapping.txt to map them to class indices")
        missing = [c for c in classes if c not in table]
        if missing:
            raise NppError(f"--synsets: no class for folder {missing[0]}")
        return {c: table[c] for c in classes}
    return {c: label_index(c, f"--data {data}/{c}") for c in classes}


def parse_shard(spec: Optional[str]) -> Tuple[int, int]:
    """"I/N" (0 <= I < N) -> (I, N); None -> (0, 1)."""
    if not spec:
        return 0, 1
    m = re.fullmatch(r"(\d+)/(\d+)", spec.strip())
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        raise NppError(f"--shard {spec}: use I/N with 0 <= I < N (e.g. 0/4 .. 3/4)")
    return int(m.group(1)), int(m.group(2))


def load_items(data: Path, labels: Optional[Path] = None, imagefolder: bool = False,
               synsets: Optional[Path] = None, shard: Tuple[int, int] = (0, 1)) -> List[Item]:
    """The shard's images (every N-th of the sorted list, from the I-th) with their labels.
    With labels, every image in the whole set must have one."""
    data = Path(data)
    files = list_images(data)
    root = data if data.is_dir() else data.parent
    rel = [f.relative_to(root).as_posix() for f in files]
    table: Dict[str, int] = {}
    if labels:
        by_file = read_labels_csv(labels)
        for r, f in zip(rel, files):
            label = by_file.get(r, by_file.get(f.name))
            if label is None:
                raise NppError(f"--labels {labels}: no label for {r}")
            table[r] = label
    elif imagefolder:
        if not all("/" in r for r in rel):
            raise NppError(f"--data {data}: ImageFolder labels need every image inside a class folder")
        classes = folder_labels(root, files, synsets)
        table = {r: classes[r.split("/")[0]] for r in rel}
    i, n = shard
    return [Item(r, path=f, label=table.get(r)) for k, (r, f) in enumerate(zip(rel, files)) if k % n == i]
