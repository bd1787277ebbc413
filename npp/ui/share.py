"""Share and keep: the page's state in its URL (so a lecturer can send a link to an example
state) and everything the page shows as one ZIP.

URL: `?example=NAME&codec=C&qp=Q&methods=a,b,c[&tab=curves]`. The page writes these query
parameters (client-side, `history.replaceState`) whenever the photo choice, codec, QP or
methods change, and `read_state` turns them back into control values on load; anything it
cannot use is dropped with a note, never an error page. An uploaded photo is not in the link
(it lives in the visitor's browser), only an example's name."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from npp.codecs import check_qp
from npp.errors import NppError
from npp.fsutil import atomic_write
from npp.ui.methods import app_methods, split_specs

TABS = ("compare", "curves", "train", "about")

#: client-side: put the state in the address bar and in the "link to this view" anchor
URL_JS = """
(example, codec, qp, methods) => {
  const u = new URL(window.location.href);
  const put = (k, v) => { if (v === null || v === undefined || v === '') u.searchParams.delete(k);
                          else u.searchParams.set(k, v); };
  put('example', example);
  put('codec', codec);
  put('qp', qp);
  put('methods', Array.isArray(methods) ? methods.join(',') : methods);
  window.history.replaceState(null, '', u.toString());
  const a = document.querySelector('#share-link a');
  if (a) { a.href = u.toString(); a.textContent = example ? 'link to this view' : 'link (uploads are not in links)'; }
}"""

#: a tab's select event puts it in the URL; ignored until the page has read its URL state
#: (`LOADED_JS`), since the first tab's select fires as the page starts
TAB_JS = """
(tab) => { if (!window.__nppLoaded) return; const u = new URL(window.location.href);
  if (tab === 'compare') u.searchParams.delete('tab'); else u.searchParams.set('tab', tab);
  window.history.replaceState(null, '', u.toString()); }"""

LOADED_JS = "() => { window.__nppLoaded = true; }"

COPY_JS = """
() => { const a = document.querySelector('#share-link a');
  if (navigator.clipboard && a) navigator.clipboard.writeText(a.href).catch(() => {}); }"""


def read_state(params: Mapping[str, str], examples: Sequence[str], codecs: Sequence[str]) -> dict:
    """Control values from a page URL's query parameters: {"example", "codec", "qp",
    "methods", "tab", "notes"}; a key is absent when its parameter is missing or unusable
    (with a note saying why, for the page to show)."""
    out: dict = {}
    notes: List[str] = []
    example = params.get("example")
    if example:
        stem = Path(example).stem
        match = next((e for e in examples if Path(e).stem == stem), None)
        if match:
            out["example"] = match
        else:
            notes.append(f"no example photo {stem!r} (examples: {', '.join(Path(e).stem for e in examples)})")
    codec = params.get("codec")
    if codec:
        if codec in codecs:
            out["codec"] = codec
        else:
            notes.append(f"codec {codec!r} is not available here")
    if params.get("qp"):
        try:
            out["qp"] = check_qp(_number(params["qp"]))
        except NppError as exc:
            notes.append(str(exc))
    if params.get("methods"):
        try:
            out["methods"] = [m.name for m in app_methods(split_specs(params["methods"]))]
        except NppError as exc:
            notes.append(f"methods in the link: {exc}")
    tab = params.get("tab")
    if tab in TABS:
        out["tab"] = tab
    out["notes"] = notes
    return out


def _number(text: str) -> object:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def write_bundle(path: Path, files: Mapping[str, Optional[str]], texts: Mapping[str, str]) -> Path:
    """One ZIP of `files` ({name in the ZIP: path}, None skipped) and `texts` ({name: text});
    images and codec files are stored as they are (already compressed), texts deflated."""
    def write(tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w") as z:
            for name, src in files.items():
                if src and Path(src).is_file():
                    z.write(src, name, compress_type=zipfile.ZIP_STORED)
            for name, text in texts.items():
                z.writestr(name, text, compress_type=zipfile.ZIP_DEFLATED)

    atomic_write(path, write)
    return Path(path)


def bundle(folder: Path, compare: Optional[dict], curves: Optional[dict]) -> Optional[Path]:
    """The ZIP of everything shown: the Compare tab's images, codec files and JSON summary
    (`compare`: {"stem", "files", "texts"}) and the Curves tab's sweep CSV, JSON and plot PNG
    (`curves`: the same keys); None before anything was shown."""
    parts = [p for p in (compare, curves) if p]
    if not parts:
        return None
    files: Dict[str, Optional[str]] = {}
    texts: Dict[str, str] = {}
    for p in parts:
        files.update(p["files"])
        texts.update(p["texts"])
    stem = (compare or curves)["stem"]
    texts["README.txt"] = README.format(contents="\n".join(f"- {n}" for n in sorted(list(files) + list(texts))))
    return write_bundle(Path(folder) / f"npp_{stem}.zip", files, texts)


README = """What the npp app showed (https://arxiv.org/abs/2206.05650 for the method).

compare/: the uncompressed photo and, per method, the decoded image, the real codec file (its
size is what bpp counts), the error map, the detections drawn and the Grad-CAM heatmaps;
compare/summary.json is the /compare_json object for this photo, codec, QP and methods.
curves/: the QP sweep (sweep.csv: one row per method and QP, as `npp evaluate` writes
results.csv), curves.json (npp evaluate's summary) and curves.png.

Contents:
{contents}
"""


def dumps(obj: object) -> str:
    return json.dumps(obj, indent=1) + "\n"
