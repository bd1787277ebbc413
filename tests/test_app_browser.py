"""End to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright for
Python; never `playwright install`): upload a photo, move the QP, read each method's bytes off
the page and check them against `npp compress`; start a short training job and watch it
progress. Screenshots go to out/screenshots/ (NPP_SCREENSHOT_DIR overrides)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.appserver import ROOT, has_command, running_app

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SHOTS = Path(os.environ.get("NPP_SCREENSHOT_DIR", ROOT / "out" / "screenshots"))
BYTES = re.compile(r"bytes\s*\|?\s*([0-9,]+)")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if not Path(CHROMIUM).is_file():
        pytest.fail("Debian's chromium is missing: run `bash scripts/setup.sh --test`")
    with running_app({"NPP_JOBS_DIR": str(tmp_path_factory.mktemp("jobs"))}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.goto(app_url)
    pg.locator("#qp").wait_for(timeout=60_000)
    yield pg
    ctx.close()


def cli_bytes(path: Path, method: str, codec: str, qp: int, out: Path) -> int:
    r = subprocess.run([sys.executable, "-m", "npp", "compress", "--method", method, str(path), "-o", str(out),
                        "--codec", codec, "--qp", str(qp), "--json"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["bytes"]


def shown_bytes(page, slot: int):
    m = BYTES.search(page.locator(f"#method-{slot}-numbers").inner_text())
    return int(m.group(1).replace(",", "")) if m else None


def slot_title(page, slot: int) -> str:
    return page.locator(f"#method-{slot}-title").inner_text()


def test_upload_move_qp_and_compare_with_npp_compress(page, photo_path, tmp_path):
    src = photo_path("coffee")
    codec = page.locator("input[type=radio]:checked").first.get_attribute("value") or "jpeg"
    page.set_input_files("#upload input[type=file]", str(src))
    page.wait_for_function("document.querySelector('#method-2-numbers')?.innerText.includes('bytes')",
                           timeout=300_000)
    methods = [slot_title(page, i).split(":")[0].strip() for i in range(3)]
    assert methods[:2] == ["plain", "npp"], methods
    first = shown_bytes(page, 0)
    assert first == cli_bytes(src, "plain", codec, 37, tmp_path / "a")
    assert shown_bytes(page, 2) == cli_bytes(src, "resize:256", codec, 37, tmp_path / "r")

    box = page.locator("#qp input[type=number]")
    box.fill("30")
    box.press("Enter")
    page.wait_for_function(
        f"!document.querySelector('#method-0-numbers').innerText.includes('{first:,}')", timeout=300_000)
    plain = shown_bytes(page, 0)
    assert plain == cli_bytes(src, "plain", codec, 30, tmp_path / "b") and plain > first
    assert shown_bytes(page, 1) < plain  # NPP spends fewer bits
    assert "plain" in page.locator("#verdict").inner_text()
    page.wait_for_timeout(3000)  # let the heatmaps step lay out its images
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)


def test_bad_upload_shows_a_message(page, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    page.set_input_files("#upload input[type=file]", str(bad))
    toast = page.get_by_text(re.compile("not a readable image"))
    toast.first.wait_for(timeout=60_000)
    assert "Traceback" not in page.content()


@pytest.mark.skipif(not has_command("train-proxy"), reason="npp train-proxy has not landed in this checkout")
def test_training_job_progress_and_checkpoint(page, photo_path):
    """A short proxy job: live progress on the page, then its weights are offered as a proxy."""
    page.get_by_role("tab", name="Train").click()
    page.set_input_files("div#component-train-uploads input[type=file], input[type=file][multiple]",
                         [str(photo_path(n)) for n in ("chelsea", "coffee", "astronaut")])
    steps = page.locator("#train-steps input")
    steps.fill("6")
    page.locator("#start-job").click()
    page.wait_for_function(
        "(() => { const d = document.querySelector('#job-progress'); return d && "
        "(d.dataset.state === 'done' || Number(d.dataset.step) > 0); })()", timeout=300_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "train.png"), full_page=True)
    state = page.locator("#job-progress").get_attribute("data-state")
    assert state in ("running", "done"), page.locator("#job-progress").inner_text()
    page.wait_for_function("document.querySelector('#job-progress').dataset.state !== 'running'", timeout=600_000)
    assert page.locator("#job-progress").get_attribute("data-state") == "done", page.locator("#job-progress").inner_text()
    page.locator("#proxy-choice input").click()  # focusing the dropdown refreshes its choices
    page.get_by_text(re.compile(r"job \S+: train-proxy")).first.wait_for(timeout=30_000)
