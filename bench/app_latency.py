"""Latency of the app as visitors meet it, on a 640x480 photo (scikit-image's coffee resized),
warm (the app started and precomputed its examples; each series starts after one call on the
photo), with the app's real codec settings (BPG level 8 unless --codec says otherwise):

- `api`: `/compare_json` (numbers and predictions, no heatmaps) called one after another with
  the QP moving to a new value each call (nothing of the QP cached), then at one QP again
  (served from the caches): median and p95 wall time per request.
- `clients`: N visitors at once (`--clients N`, each its own gradio_client session), each
  calling `/compare_json` `--calls-per-client` times; two scenarios: every visitor at its own
  QP (nothing shared) and all at the same QP (a class following the lecturer): median and p95
  per request.
- `page` (with `--page`): the page's own flow in headless Chromium (Debian's, as the browser
  tests drive it): upload the photo, then type a new QP; "first numbers" is when the numbers
  table shows the new QP's bytes, "everything" when the Grad-CAM panels of the new QP are
  loaded (the last step). Median and p95 over `--calls` QPs.

The machine's load average (1, 5, 15 min) is recorded before and after each series: on a
shared CPU the figures scale with it.

Usage: .venv/bin/python bench/app_latency.py [--codec bpg] [--methods plain,npp,resize:256]
       [--clients N] [--calls 5] [--calls-per-client 1] [--page] [--url URL] [--note TEXT]
Writes bench/results/app_latency.json (or --out)."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npp.codecs import create_codec, list_codecs  # noqa: E402
from npp.fsutil import atomic_write_text  # noqa: E402

#: the issue's goals (seconds), on a 640x480 photo, warm, BPG level 8, three methods
GOALS = {"page_first_numbers_s": 0.8, "page_everything_s": 2.0, "clients_8_median_s": 6.0}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def make_photo(folder: Path) -> Path:
    import skimage
    from PIL import Image

    src = Path(skimage.__file__).parent / "data" / "coffee.png"
    out = folder / "coffee_640x480.png"
    Image.open(src).convert("RGB").resize((640, 480), Image.LANCZOS).save(out)
    return out


def load() -> list:
    return [round(v, 2) for v in os.getloadavg()]


def stats(seconds: list) -> dict:
    s = sorted(seconds)
    p95 = s[min(len(s) - 1, max(0, round(0.95 * len(s) + 0.5) - 1))]
    return {"n": len(s), "median_s": round(statistics.median(s), 3), "p95_s": round(p95, 3),
            "max_s": round(s[-1], 3), "all_s": [round(x, 3) for x in seconds]}


def compare(client, photo: Path, codec: str, qp: int, methods: str) -> float:
    from gradio_client import handle_file

    t0 = time.perf_counter()
    out = client.predict(handle_file(str(photo)), codec, qp, methods, api_name="/compare_json")
    took = time.perf_counter() - t0
    assert out["qp"] == qp and set(out["methods"]) >= set(methods.split(",")), out
    return took


def api_series(url: str, photo: Path, codec: str, methods: str, calls: int) -> dict:
    from gradio_client import Client

    client = Client(url, verbose=False)
    before = load()
    moving = [compare(client, photo, codec, 20 + i, methods) for i in range(calls)]
    same = [compare(client, photo, codec, 20 + calls - 1, methods) for _ in range(calls)]
    return {"qp_moving": stats(moving), "same_qp": stats(same), "loadavg_before": before, "loadavg_after": load()}


def clients_series(url: str, photo: Path, codec: str, methods: str, n: int, per_client: int, same: bool,
                   first_qp: int) -> dict:
    from gradio_client import Client

    times: list = []
    errors: list = []
    lock = threading.Lock()
    clients = [Client(url, verbose=False) for _ in range(n)]
    start = threading.Barrier(n)

    def visitor(i: int) -> None:
        start.wait()
        for k in range(per_client):
            qp = first_qp + k if same else first_qp + (i * per_client + k) % 40
            try:
                t = compare(clients[i], photo, codec, qp, methods)
                with lock:
                    times.append(t)
            except Exception as exc:  # recorded: a refused or failed request is a result too
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

    before = load()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = {"clients": n, "calls_per_client": per_client, "same_qp": same, "wall_s": round(time.perf_counter() - t0, 2),
           "loadavg_before": before, "loadavg_after": load(), "errors": errors}
    if times:
        out.update(stats(times))
    return out


def page_series(url: str, photo: Path, calls: int) -> dict:
    """The page's flow in Chromium: seconds from committing a new QP to the new numbers on
    screen, and to the new QP's Grad-CAM panels loaded."""
    from playwright.sync_api import sync_playwright

    first, full = [], []
    before = load()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        page.wait_for_function("document.querySelector('#numbers')?.innerText.includes('bytes')", timeout=600_000)
        page.set_input_files("#controls input[type=file]", str(photo))
        page.wait_for_function(f"document.querySelector('#verdict')?.innerText.includes('{photo.stem}')",
                               timeout=600_000)
        page.get_by_role("tab", name="Grad-CAM").click()
        box = page.locator("#qp input[type=number]")
        for i in range(calls):
            qp = 30 + i
            box.fill(str(qp))
            t0 = time.perf_counter()
            box.press("Enter")
            page.wait_for_function(f"document.querySelector('#verdict')?.innerText.includes('QP {qp}') && "
                                   f"document.querySelector('#numbers')?.innerText.includes('bytes')",
                                   timeout=600_000, polling=20)
            first.append(time.perf_counter() - t0)
            page.wait_for_function(
                f"(() => {{ const s = document.querySelector('#cam-status [data-qp=\"{qp}\"][data-state=ready]');"
                " const imgs = [...document.querySelectorAll('#cam-cls img')];"
                " return s && imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); })()",
                timeout=600_000, polling=20)
            full.append(time.perf_counter() - t0)
        browser.close()
    return {"first_numbers": stats(first), "everything": stats(full), "loadavg_before": before,
            "loadavg_after": load()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codec", default="bpg")
    ap.add_argument("--methods", default="plain,npp,resize:256")
    ap.add_argument("--calls", type=int, default=5, help="sequential calls per series")
    ap.add_argument("--clients", type=int, default=0, help="concurrent visitors (0: no concurrency series)")
    ap.add_argument("--calls-per-client", type=int, default=1)
    ap.add_argument("--page", action="store_true", help="also time the page's own flow in Chromium")
    ap.add_argument("--url", help="an app already running (default: start one)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "app_latency.json"))
    ap.add_argument("--note", default="", help="conditions worth recording with the figures")
    args = ap.parse_args()
    if args.codec not in list_codecs() or not create_codec(args.codec).availability()[0]:
        print(f"app_latency: error: codec {args.codec} is not available here", file=sys.stderr)
        return 2
    from tests.appserver import running_app

    result: dict = {"bench": "app_latency", "photo": "scikit-image coffee resized to 640x480", "codec": args.codec,
                    "codec_options": create_codec(args.codec).options(), "methods": args.methods.split(","),
                    "goals_s": GOALS, "loadavg_start": load()}
    with tempfile.TemporaryDirectory() as tmp, \
            (nullcontext(args.url) if args.url else running_app(timeout=1800)) as url:
        photo = make_photo(Path(tmp))
        from gradio_client import Client

        t0 = time.perf_counter()
        compare(Client(url, verbose=False), photo, args.codec, 19, args.methods)  # warms this photo
        result["first_call_s"] = round(time.perf_counter() - t0, 3)
        result["api"] = api_series(url, photo, args.codec, args.methods, args.calls)
        if args.page:
            result["page"] = page_series(url, photo, args.calls)
        if args.clients:
            result["clients"] = {
                "own_qp": clients_series(url, photo, args.codec, args.methods, args.clients, args.calls_per_client,
                                         False, 3),
                "same_qp": clients_series(url, photo, args.codec, args.methods, args.clients, args.calls_per_client,
                                          True, 48),
            }
    result.update({"loadavg_end": load(), "checkout": _git_head(), "note": args.note,
                   "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                               "python": platform.python_version()},
                   "date": time.strftime("%Y-%m-%dT%H:%M:%S")})
    result["verdicts"] = verdicts(result)
    path = Path(args.out)
    if path.is_file() and args.clients and not args.page:  # keep other runs' series (e.g. --clients 30)
        old = json.loads(path.read_text())
        old.setdefault("runs", {})[f"clients_{args.clients}"] = result
        result = old
    atomic_write_text(path, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


def verdicts(r: dict) -> dict:
    out = {}
    if "page" in r:
        out["page_first_numbers"] = r["page"]["first_numbers"]["median_s"] <= GOALS["page_first_numbers_s"]
        out["page_everything"] = r["page"]["everything"]["median_s"] <= GOALS["page_everything_s"]
    c = r.get("clients", {}).get("own_qp")
    if c and c["clients"] == 8 and "median_s" in c:
        out["clients_8_median"] = c["median_s"] <= GOALS["clients_8_median_s"]
    return out


def _git_head() -> str:
    import subprocess

    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    return r.stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
