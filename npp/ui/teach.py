"""What the page teaches, in one place: the introduction with its diagram (inline SVG, drawn
here, nothing downloaded), the paper's citation, one-line explanations of the quantities the
page shows, why NPP's PSNR is lower, and a "what to try" list whose entries are links to a
page state (query parameters, see `npp.ui.share`)."""
from __future__ import annotations

import html
from typing import Dict, List, Sequence
from urllib.parse import urlencode

PAPER = ('Lu, Ge, Zhong, Hu, Geng, "Preprocessing Enhanced Image Compression for Machine Vision", '
         "IEEE Transactions on Circuits and Systems for Video Technology (TCSVT), 2024")
PAPER_URL = "https://arxiv.org/abs/2206.05650"

#: one line per quantity, shown next to it (control info, table legend, tab captions)
EXPLAIN: Dict[str, str] = {
    "qp": "QP (quantisation parameter): how coarsely the codec rounds; +6 doubles the step, so higher QP = fewer "
          "bits and more damage (bpgenc's scale; JPEG's quality is derived from it).",
    "bpp": "bpp: bits per pixel of the original photo, the file's size x 8 / (width x height): what sending costs.",
    "bytes": "bytes: the real file's size; the % compares it with the plain codec at the same QP.",
    "psnr": "PSNR: how close the decoded pixels are to the original (dB, higher = closer); what people see, not "
            "what the model needs.",
    "kl": "KL: how far the classifier's answer (its probabilities over 1,000 classes) moved from its answer on the "
          "uncompressed photo; 0 = unchanged.",
    "top1": "top-1: does the classifier's first guess stay the same as on the uncompressed photo?",
    "detections": "detections kept: F1 of the detector's boxes against its boxes on the uncompressed photo "
                  "(same label, overlap >= 0.5); 1 = all kept.",
    "gradcam": "Grad-CAM: where the model looked for its answer (red = the pixels that raised its score most).",
    "error": "error map: |decoded - original|, x4 and coloured (black = nothing lost, bright = most lost).",
}

WHY_PSNR = ("**Why is NPP's PSNR lower?** NPP removes detail the classifier does not use before the codec "
            "sees the photo, so the decoded picture is further from the original pixel by pixel (lower PSNR) "
            "while the classifier's answer stays close (low KL). PSNR measures what people see; KL measures what "
            "the machine sees. NPP is a pre-filter for a model, not for people.")

DIAGRAM_SVG = """
<svg class="npp-diagram" viewBox="0 0 700 150" role="img" aria-labelledby="npp-diagram-title"
     xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">
  <title id="npp-diagram-title">photo, then a method, then a codec at a QP, then the vision model; the
  uncompressed photo gives the reference answer</title>
  <defs><marker id="npp-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"
    orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker></defs>
  <g fill="none" stroke="currentColor" stroke-width="2">
    <rect x="4" y="34" width="104" height="56" rx="8"/>
    <rect x="146" y="34" width="124" height="56" rx="8" stroke="#d62728"/>
    <rect x="308" y="34" width="124" height="56" rx="8"/>
    <rect x="470" y="34" width="104" height="56" rx="8"/>
    <rect x="612" y="34" width="84" height="56" rx="8"/>
    <path d="M108,62 H142" marker-end="url(#npp-arrow)"/>
    <path d="M270,62 H304" marker-end="url(#npp-arrow)"/>
    <path d="M432,62 H466" marker-end="url(#npp-arrow)"/>
    <path d="M574,62 H608" marker-end="url(#npp-arrow)"/>
    <path d="M56,90 V128 H654 V94" stroke-dasharray="5 4" marker-end="url(#npp-arrow)"/>
  </g>
  <g fill="currentColor" font-size="17" text-anchor="middle">
    <text x="56" y="58">photo</text><text x="56" y="80" font-size="13">uncompressed</text>
    <text x="208" y="58" fill="#d62728">method</text><text x="208" y="80" font-size="13">plain · NPP · blur · resize</text>
    <text x="370" y="58">codec at QP</text><text x="370" y="80" font-size="13">BPG · JPEG · VVC</text>
    <text x="522" y="58">decoded</text><text x="522" y="80" font-size="13">what arrives</text>
    <text x="654" y="58">model</text><text x="654" y="80" font-size="13">answer</text>
    <text x="450" y="24" font-size="14">bits = the real file: what we pay</text>
    <text x="340" y="146" font-size="14">the uncompressed photo's answer: what we must keep</text>
  </g>
</svg>"""


def intro_html() -> str:
    """The page's header: what NPP is, the diagram, the paper."""
    return f"""
<div id="intro">
  <div class="intro-text">
    <h1>npp: what the codec keeps for the machine</h1>
    <p><b>NPP</b> (neural pre-processing) is a small network that filters a photo <i>before</i> a standard codec,
    so that a vision model gives the same answer from fewer bits. Compare it, with real files and real models,
    with the codec alone and with simple things anyone could do instead (blur, downscale, resize).</p>
    <p class="cite">Paper: {html.escape(PAPER)}, <a href="{PAPER_URL}" target="_blank" rel="noopener">arXiv:2206.05650</a>.
    This app re-implements it; its NPP was trained here on 40 photos (none of the examples).</p>
  </div>
  {DIAGRAM_SVG}
</div>"""


def state_link(example: str, codec: str, qp: int, methods: Sequence[str], tab: str = "") -> str:
    """A page link to a state (the query parameters `npp.ui.share` reads)."""
    params = {"example": example, "codec": codec, "qp": qp, "methods": ",".join(methods)}
    if tab:
        params["tab"] = tab
    return "?" + urlencode(params)


def what_to_try(codec: str) -> str:
    """The "what to try" list; every entry opens the page in the state it talks about."""
    items: List[tuple] = [
        ("Find the QP where the label flips", "move QP up until a panel's top-1 says <b>flipped</b>; "
         "which method flips first?", state_link("coffee", "jpeg", 45, ["plain", "npp", "resize:256"])),
        ("Compare NPP with resize", "resizing to the classifier's 256 px input is free under this protocol: "
         "which spends fewer bytes for the same KL?", state_link("chelsea", codec, 37, ["plain", "npp", "resize:256",
                                                                                         "blur:1.0", "down:2"])),
        ("See what NPP removes", "open <i>Error maps</i> and <i>Inspector</i>: wipe between plain and NPP and zoom "
         "into the fur", state_link("chelsea", codec, 41, ["plain", "npp", "blur:1.0"])),
        ("Watch where the model looks", "open <i>Grad-CAM</i>: does the red area stay on the object as QP rises?",
         state_link("astronaut", codec, 45, ["plain", "npp", "down:2"])),
        ("Is this photo typical?", "sweep the QPs in <i>Curves</i> and compare the photo's curve with the held-out "
         "set's (110 photos)", state_link("rocket", codec, 37, ["plain", "npp", "resize:256"], tab="curves")),
        ("Fine-tune NPP", "<i>Train</i>: fine-tune the shipped NPP on your photos for ~2 minutes, then compare "
         "its weights with the shipped ones", ""),
    ]
    links = [f' (<a href="{href}">open</a>)' if href else "" for _, _, href in items]
    lis = "".join(f"<li><b>{t}</b>: {d}{link}</li>" for (t, d, _), link in zip(items, links))
    return f"<ol class='try'>{lis}</ol>"
