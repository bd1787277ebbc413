"""The photo manifest (bench/photo_sets.json) and the scripts that read it: the held-out set
never overlaps the training set, every held-out photo names a real source with a licence and
a description, and an overlap or a changed photo stops the scripts. Nothing is downloaded."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench_module(name: str):
    """A bench/ script as a module, without putting bench/ on sys.path (where its `npp.py`
    would shadow the package for every process this test run spawns)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


photo_sets = _bench_module("photo_sets")

#: the project's first held-out photos; results before the set grew are keyed by these names
FIRST_14 = {"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "dog.jpg",
            "eagle.jpg", "giraffe.jpg", "horses.jpg", "kite.jpg", "person.jpg", "grace_hopper.jpg",
            "china.jpg", "flower.jpg"}


@pytest.fixture(scope="module")
def manifest() -> photo_sets.Manifest:
    return photo_sets.load()


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_heldout_and_training_are_disjoint(manifest):
    held, train = manifest.heldout, manifest.training
    assert len(train) == 40
    assert not {p.name.lower() for p in held} & {p.name.lower() for p in train}
    assert not {p.sha256 for p in held} & {p.sha256 for p in train}
    assert not {p.source for p in held} & {p.source for p in train}
    assert {p.source for p in train} == {"mate-backgrounds", "opencv-doc"}


def test_heldout_set_is_the_first_14_and_at_least_40_more(manifest):
    names = [p.name for p in manifest.heldout]
    assert len(names) == len(set(names))
    assert FIRST_14 <= set(names)
    assert len(names) >= len(FIRST_14) + 40
    assert len({p.source for p in manifest.heldout}) >= 8


def test_every_heldout_photo_names_a_source_with_licence_and_content(manifest):
    for p in manifest.heldout:
        src = manifest.sources[p.source]
        assert src.registry in ("debian", "pypi", "npm") and src.package and src.version and src.root, p.name
        assert manifest.licence(p) and p.content, p.name
        assert Path(p.name).suffix.lower() in (".jpg", ".jpeg", ".png"), p.name


def test_installed_sources_hold_the_listed_bytes(manifest):
    """scikit-image, matplotlib, scikit-learn and Gradio come with the environment: their photos
    are on disk here and must be exactly the listed ones."""
    installed = [p for p in manifest.heldout if manifest.sources[p.source].installed]
    assert {p.source for p in installed} == {"skimage", "matplotlib", "sklearn", "gradio"}
    for p in installed:
        path = photo_sets.locate(manifest, p)
        assert path.is_file(), path
        assert photo_sets.sha256_of(path) == p.sha256, path


def test_fetch_plan_lists_every_photo_of_a_source(manifest):
    for key in photo_sets.fetched_sources(manifest, "heldout"):
        r = run(sys.executable, "bench/photo_sets.py", "plan", key)
        assert r.returncode == 0, r.stderr
        header, *files = r.stdout.splitlines()
        src = manifest.sources[key]
        assert header.split("\t")[:4] == [src.registry, src.package, src.version, src.root]
        listed = {p.path: p.sha256 for p in manifest.heldout if p.source == key}
        assert dict(reversed(line.split("\t")) for line in files) == listed


@pytest.mark.parametrize("source, says", [("nosuch", "no photo source 'nosuch'"), ("gradio", "nothing to fetch")])
def test_fetch_script_refuses_unknown_and_installed_sources(tmp_path, source, says):
    r = run("bash", "scripts/fetch_photos.sh", source, NPP_CACHE=str(tmp_path))
    assert r.returncode == 2
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "photos").exists()


def mutated(tmp_path: Path, change) -> Path:
    raw = json.loads(photo_sets.MANIFEST.read_text())
    change(raw)
    path = tmp_path / "photo_sets.json"
    path.write_text(json.dumps(raw))
    return path


def as_heldout(photo: dict, **changes) -> dict:
    return {**photo, "content": "a photo", "licence": "CC0", **changes}


@pytest.mark.parametrize("change, says", [
    # a training photo listed as held-out, as it is
    (lambda m: m["heldout"].append(as_heldout(m["training"][0])), "sources used by both"),
    # ... under another name, from a held-out source, with the training photo's bytes
    (lambda m: m["heldout"].append(as_heldout(m["training"][0], name="renamed.jpg", source="scratch",
                                              path="Other/renamed.jpg")), "share sha256"),
    # ... a held-out photo renamed to a training photo's name
    (lambda m: m["heldout"][20].update(name=m["training"][3]["name"].upper()), "share names"),
    (lambda m: m["heldout"][0].update(source="nosuch"), "unknown source 'nosuch'"),
    (lambda m: m["heldout"][0].pop("sha256"), "needs a sha256"),
    (lambda m: m["heldout"][30].update(content=""), "needs a content description"),
    (lambda m: m["heldout"].append(dict(m["heldout"][40])), "name listed twice"),
])
def test_manifest_overlaps_and_gaps_are_refused(tmp_path, change, says):
    with pytest.raises(photo_sets.ManifestError, match=says):
        photo_sets.load(mutated(tmp_path, change))


def test_heldout_list_prints_every_photo_with_its_source(manifest):
    r = run(sys.executable, "bench/heldout_set.py", "--list")
    assert r.returncode == 0, r.stderr
    for p in manifest.heldout:
        assert f"| {p.name} | {manifest.sources[p.source].package} " in r.stdout
    assert f"{len(manifest.heldout)} held-out photos" in r.stdout


def test_credits_page_lists_every_heldout_photo(manifest):
    page = (ROOT / "docs" / "heldout_photos.md").read_text()
    assert [p.name for p in manifest.heldout if f"| {p.name} |" not in page] == []


def test_training_set_refuses_photos_that_are_not_the_listed_ones(tmp_path, manifest):
    """A cache whose training files hold other bytes (here: a held-out photo's) stops the
    builder before it copies anything."""
    astronaut = next(photo_sets.locate(manifest, p) for p in manifest.heldout if p.name == "astronaut.png")
    for p in manifest.training:
        dest = photo_sets.locate(manifest, p, tmp_path / "photos")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(astronaut, dest)
    out = tmp_path / "out"
    r = run(sys.executable, "bench/training_set.py", str(out), NPP_CACHE=str(tmp_path))
    assert r.returncode == 1
    assert "40 photos differ from their SHA-256" in r.stderr
    assert not out.exists()


def test_heldout_set_names_missing_photos_and_the_fetch_command(tmp_path):
    r = run(sys.executable, "bench/heldout_set.py", str(tmp_path / "out"), NPP_CACHE=str(tmp_path))
    assert r.returncode == 1
    assert "photos missing" in r.stderr and "scripts/fetch_photos.sh --heldout" in r.stderr
    assert not (tmp_path / "out").exists()
