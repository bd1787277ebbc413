"""The page's HTML fragments, as pure functions of results (no Gradio in here, so they are
tested directly): the Compare tab's numbers table, verdicts, top-5 and detection lists, and
the Curves tab's tables. Tables sit in a scrolling box, so a phone scrolls them sideways
instead of cutting them off; every method keeps its colour (`npp.visualize.method_colour`)."""
from __future__ import annotations

import html
import math
from typing import Iterable, Mapping, Optional, Sequence

from npp.ui.teach import EXPLAIN, WHY_PSNR
from npp.visualize import method_colour

UNCOMPRESSED = "uncompressed"


def esc(x: object) -> str:
    return html.escape(str(x))


def fmt(x: Optional[float], spec: str, none: str = "n/a") -> str:
    return none if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def swatch(name: str) -> str:
    return f"<span class='swatch' style='background:{method_colour(name)}'></span>"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "", titles: Sequence[str] = ()) -> str:
    """A table in a horizontally scrolling box; cells are HTML already (escape first);
    `titles` are header tooltips."""
    ths = "".join(f"<th title='{esc(t)}'>{h}</th>" if t else f"<th>{h}</th>"
                  for h, t in zip(header, list(titles) + [""] * len(header)))
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return (f"<div class='scroll-x'><table class='npp-table {cls}'><thead><tr>{ths}</tr></thead>"
            f"<tbody>{trs}</tbody></table></div>")


def _top1(top5: Optional[list]) -> Optional[dict]:
    return top5[0] if top5 else None


def numbers_table(summary: dict, size: tuple) -> str:
    """One row for the uncompressed photo and one per method: bytes, change against plain,
    bpp, PSNR, KL, top-1 verdict, detections kept."""
    w, h = size
    ref = _top1(summary["uncompressed"]["top5"])
    ref_label = f"{esc(ref['label'])} {ref['prob']:.0%}" if ref else "n/a"
    ndet = len(summary["uncompressed"]["detections"] or [])
    rows = [[f"{swatch(UNCOMPRESSED)}<b>uncompressed</b>", f"{w * h * 3:,} raw", "", "24", "&infin;", "0",
             f"<span class='ref'>{ref_label}</span>", f"{ndet} found"]]
    for name, m in summary["methods"].items():
        vs = "" if name == "plain" or m["bytes_vs_plain"] is None else f"{m['bytes_vs_plain']:+.1f}%"
        cls = "better" if vs.startswith("-") else ("worse" if vs.startswith("+") else "")
        t1 = _top1(m["top5"])
        if m["top1_kept"] is True:
            verdict = f"<span class='kept'>kept</span> {t1['prob']:.0%}"
        elif m["top1_kept"] is False:
            verdict = f"<span class='flipped'>flipped</span> &rarr; {esc(t1['label'])} {t1['prob']:.0%}"
        else:
            verdict = "n/a"
        rows.append([f"{swatch(name)}<b>{esc(name)}</b>", f"{m['bytes']:,}", f"<span class='{cls}'>{vs}</span>",
                     fmt(m["bpp"], ".3f"), fmt(m["psnr"], ".2f"), fmt(m["kl"], ".3f"), verdict,
                     fmt(m["detections_kept"], ".2f")])
    header = ["method", "bytes", "vs plain", "bpp", "PSNR dB", "KL", "top-1", "detections kept"]
    titles = ["", EXPLAIN["bytes"], EXPLAIN["bytes"], EXPLAIN["bpp"], EXPLAIN["psnr"], EXPLAIN["kl"], EXPLAIN["top1"],
              EXPLAIN["detections"]]
    return table(header, rows, "numbers", titles)


def headline(photo: str, size: tuple, codec: str, qp: int, jpeg_quality: Optional[int]) -> str:
    quality = f" (JPEG quality {jpeg_quality})" if jpeg_quality is not None else ""
    return f"<b>{esc(photo)}</b> ({size[0]}x{size[1]}) &middot; <b>{esc(codec)}</b> at <b>QP {qp}</b>{quality}"


def verdict_html(summary: dict, versus: Sequence[dict], photo: str, size: tuple) -> str:
    """The headline and the verdicts: whose top-1 flipped, and, honestly, how NPP fares against
    every baseline shown for this photo (a baseline that beats it is named first)."""
    s = summary
    lines = [headline(photo, size, s["codec"], s["qp"], s.get("jpeg_quality"))]
    flipped = [n for n, m in s["methods"].items() if m["top1_kept"] is False]
    if flipped:
        lines.append(f"<span class='flipped'>top-1 flipped</span> for {', '.join(map(esc, flipped))}; "
                     "kept by the others.")
    elif s["methods"]:
        lines.append("<span class='kept'>top-1 kept</span> by every method shown.")
    order = {"beats": 0, "trade-off": 1, "equal": 2, "beaten": 3, "unknown": 4}
    for v in sorted(versus, key=lambda v: order[v["verdict"]]):
        b, a = esc(v["method"]), esc(v["against"])
        mine = f"{v['bytes']:,} bytes at KL {fmt(v['kl'], '.3f')}"
        theirs = f"{v['against_bytes']:,} bytes at KL {fmt(v['against_kl'], '.3f')}"
        if v["verdict"] == "beats":
            lines.append(f"<span class='honest'>{b} beats {a} on this photo</span>: {mine}, against {a}'s {theirs}.")
        elif v["verdict"] == "beaten":
            lines.append(f"{a} beats {b} on this photo: {theirs}, against {b}'s {mine}.")
        elif v["verdict"] == "trade-off":
            lines.append(f"{a} or {b}? A trade-off here ({a}: {theirs}; {b}: {mine}): only curves at equal KL can "
                         "rank them (Curves tab).")
        elif v["verdict"] == "equal":
            lines.append(f"{a} and {b} give the same file size and KL here.")
    if versus:
        lines.append("<i>One photo at one QP is an anecdote: the held-out curves in the Curves tab are the "
                     "evidence.</i>")
    return "<div class='verdict'>" + "<br>".join(lines) + "</div>"


def psnr_note(summary: dict) -> str:
    """Why NPP's PSNR is lower, when it is."""
    m = summary["methods"]
    npp = next((v for n, v in m.items() if n.split("[")[0] == "npp"), None)
    plain = m.get("plain")
    if npp and plain and npp["psnr"] is not None and plain["psnr"] is not None and npp["psnr"] < plain["psnr"]:
        return (f"NPP {npp['psnr']:.1f} dB vs plain {plain['psnr']:.1f} dB. " + WHY_PSNR)
    return ""


def top5_table(summary: dict) -> str:
    """Rank 1-5 of the classifier for the uncompressed photo and every method side by side;
    a method's label differing from the uncompressed photo's at the same rank is marked."""
    cols = [(UNCOMPRESSED, summary["uncompressed"]["top5"] or [])]
    cols += [(n, m["top5"] or []) for n, m in summary["methods"].items()]
    ref = cols[0][1]
    rows = []
    for i in range(5):
        row = [str(i + 1)]
        for n, t in cols:
            if i >= len(t):
                row.append("")
                continue
            same = i < len(ref) and t[i]["index"] == ref[i]["index"]
            row.append(f"<span class='{'' if same or n == UNCOMPRESSED else 'changed'}'>{esc(t[i]['label'])}</span> "
                       f"{t[i]['prob']:.0%}")
        rows.append(row)
    return table(["#"] + [f"{swatch(n)}{esc(n)}" for n, _ in cols], rows, "top5")


def detections_lists(summary: dict) -> str:
    """Per panel, the detector's labels and scores (those drawn, score >= 0.3), highest first."""
    cols = [(UNCOMPRESSED, summary["uncompressed"]["detections"])]
    cols += [(n, m["detections"]) for n, m in summary["methods"].items()]
    parts = []
    for n, dets in cols:
        if dets is None:
            body = "<i>detector unavailable</i>"
        elif not dets:
            body = "<i>nothing detected</i>"
        else:
            items = sorted(dets, key=lambda d: -d["score"])
            body = ", ".join(f"{esc(d['label'])}&nbsp;{d['score']:.2f}" for d in items)
        parts.append(f"<li>{swatch(n)}<b>{esc(n)}</b>: {body}</li>")
    return "<ul class='det-list'>" + "".join(parts) + "</ul>"


def caption(name: str, m: Optional[Mapping] = None) -> str:
    """A panel's caption under its image (short: a phone shows about 25 characters)."""
    if m is None:
        return "uncompressed"
    vs = "" if name == "plain" or m["bytes_vs_plain"] is None else f" {m['bytes_vs_plain']:+.0f}%"
    flipped = " FLIPPED" if m["top1_kept"] is False else ""
    return f"{name}: {m['bytes']:,} B{vs}{flipped}"


# -- Curves ---------------------------------------------------------------------------------------
NA_NOTE = ("<b>n/a</b>: the two curves share no range of that quality in this sweep (for example every point of "
           "one has a higher KL than every point of the other), so there is no equal-quality point to compare "
           "bits at; sweep a wider QP range.")


def bd_rate_table(photo_bd: Mapping[str, Mapping[str, Optional[float]]], heldout: Optional[dict],
                  metrics: Sequence[str] = ("kl", "detection_f1")) -> str:
    """BD-rates against plain: this photo's, and the held-out set's with its 95% interval."""
    names = {"kl": "equal KL", "detection_f1": "equal detections kept", "confidence": "equal confidence",
             "psnr": "equal PSNR"}
    header = ["method"] + [f"this photo, {names[m]}" for m in metrics]
    hbd = (heldout or {}).get("bd_rate", {})
    if heldout:
        header += [f"held-out ({heldout['images']} photos), {names[m]}" for m in metrics]
    rows = []
    for name, by in photo_bd.items():
        row = [f"{swatch(name)}<b>{esc(name)}</b>"] + [_pct(by.get(m)) for m in metrics]
        if heldout:
            for m in metrics:
                h = hbd.get(name, {}).get(m)
                row.append("not in the set" if h is None else
                           f"{_pct(h['value'])} <small>[{_pct(h['ci95'][0])}, {_pct(h['ci95'][1])}]</small>")
        rows.append(row)
    return table(header, rows, "bd") + (f"<p class='note'>Negative = fewer bits than plain for the same quality. "
                                        f"{NA_NOTE}</p>")


def wide_table(results: dict) -> str:
    """One row per QP; for every method its bpp, KL and detections kept, 3 significant digits."""
    names = list(results["curves"])
    first = results["curves"][names[0]]
    metrics = [m for m in ("kl", "detection_f1") if m in first]
    short = {"kl": "KL", "detection_f1": "det."}
    header = ["QP"] + [f"{swatch(n)}{esc(n)}<br>{col}" for n in names for col in ["bpp"] + [short[m] for m in metrics]]
    rows = []
    for i, qp in enumerate(results["config"]["qps"]):
        row = [f"<b>{qp}</b>"]
        for n in names:
            c = results["curves"][n]
            row += [fmt(c["bpp"][i], ".3g")] + [fmt(c[m][i], ".3g") for m in metrics]
        rows.append(row)
    return table(header, rows, "wide")


def _pct(x: Optional[float]) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:+.1f}%"


def legend(keys: Sequence[str]) -> str:
    return "<ul class='legend'>" + "".join(f"<li>{esc(EXPLAIN[k])}</li>" for k in keys) + "</ul>"

