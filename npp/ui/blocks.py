"""The whole page: `build(services)` lays out the header (what NPP is, the diagram, the paper),
the share row (ZIP of everything shown, link to this view) and the tabs, reads the page state
from the URL on load, and wires everything to `services`; it loads no model (Gradio's reload
mode and Spaces import the module that calls it). `launch_options` and `queue_options` are
what `app.py` passes to Gradio (stylesheet, upload cap, queue sized for a class)."""
from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from npp.hosting import summary as hosting_summary
from npp.pipeline import DEFAULT_METHODS, DEFAULT_QP
from npp.ui import api, compare_tab, curves_tab, render, train_tab
from npp.ui.common import codec_choices, default_codec
from npp.ui.services import ASSETS, EXAMPLES, Services
from npp.ui.share import COPY_JS, LOADED_JS, TAB_JS, read_state
from npp.vision.registry import models_summary
from npp.ui.teach import EXPLAIN, PAPER, PAPER_URL, WHY_PSNR, intro_html, what_to_try

TITLE = "npp: preprocessing-enhanced compression for machine vision"

CSS = """
#intro { display: flex; gap: 8px 20px; align-items: center; flex-wrap: wrap; }
#intro .intro-text { flex: 1 1 440px; }
#intro h1 { font-size: 1.45rem; margin: 0 0 4px; }
#intro p { margin: 2px 0; font-size: 0.92rem; line-height: 1.35; }
#intro .cite { font-size: 0.8rem; opacity: 0.85; }
.npp-diagram { flex: 1 1 420px; max-width: 600px; width: 100%; height: auto; color: var(--body-text-color); }
#share-row { align-items: center; gap: 8px; flex-wrap: wrap; }
#share-row > * { flex: 0 0 auto !important; width: auto !important; min-width: 0 !important; }
#share-row button { white-space: nowrap; padding: 4px 12px; }
#share-link { font-size: 0.85rem; }
.gradio-container { overflow: visible !important; }  /* hidden would stop the QP bar sticking */
#qp-bar { position: sticky; top: 0; z-index: 30; background: var(--background-fill-primary);
          box-shadow: 0 2px 4px rgba(0,0,0,0.08); }
#jpeg-quality { min-height: 0; font-size: 0.85rem; }
#jpeg-quality p { margin: 0; }
.scroll-x { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
.npp-table { border-collapse: collapse; font-size: 0.88rem; white-space: nowrap; width: auto; }
.npp-table th, .npp-table td { padding: 3px 8px; border: none;
    border-bottom: 1px solid var(--border-color-primary); text-align: right; }
.npp-table th { font-weight: 600; cursor: help; }
.npp-table td:first-child, .npp-table th:first-child { text-align: left; position: sticky; left: 0;
    background: var(--background-fill-primary); }
.npp-table.top5 td, .npp-table.top5 th { text-align: left; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; }
.kept { color: #1a7f37; font-weight: 600; }
.flipped { color: #cf222e; font-weight: 700; }
.better { color: #1a7f37; }
.worse { color: #cf222e; }
.changed { color: #cf222e; text-decoration: underline dotted; }
.honest { background: #fff3cd; color: #5c4400; padding: 0 3px; font-weight: 600; }
.verdict { font-size: 0.92rem; line-height: 1.45; }
.legend, .det-list, .try { font-size: 0.88rem; margin: 4px 0; padding-left: 20px; }
.note { font-size: 0.82rem; opacity: 0.9; }
.panels .grid-wrap { min-height: 0 !important; max-height: none !important; overflow-y: visible !important; }
.panels .grid-container { grid-auto-rows: auto !important; grid-template-rows: none !important;
    padding-top: 30px; }
.panels .thumbnail-item { aspect-ratio: 4 / 3; height: auto !important; }
#inspector img { image-rendering: pixelated; }
#examples .grid-wrap { min-height: 0 !important; max-height: none !important; overflow: hidden !important;
    padding: 4px !important; }
#examples .grid-container { grid-template-columns: repeat(4, minmax(0, 1fr)) !important;
    grid-auto-rows: auto !important; grid-template-rows: none !important; padding-top: 18px; gap: 6px; }
#examples .thumbnail-item { aspect-ratio: 1; height: auto !important; }
#examples { height: auto !important; }
@media (max-width: 700px) {
  #intro h1 { font-size: 1.1rem; }
  #intro p { font-size: 0.8rem; }
  #intro .intro-text > p:nth-of-type(1), #intro .cite { display: none; }
  #qp-bar { padding: 0 2px; gap: 0; }
  #qp-bar .info-text, #codec > [data-testid="block-info"] { display: none; }
  #qp-bar .block { padding: 4px 8px; }
  #compare-main > #results { order: -1; }
  #results > #views { order: -1; }
  .panels .grid-container { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
  #detections .grid-container { grid-template-columns: repeat(1, minmax(0, 1fr)) !important; }
}
"""


#: runs once when the page loads: Enter in the QP box commits it (the slider's number box
#: otherwise commits only when it loses focus)
JS = """
() => { document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && e.target.matches && e.target.matches('#qp input[type=number]')) e.target.blur();
}); }"""


def launch_options(services: Services) -> dict:
    """Keyword arguments for `demo.launch`: the stylesheet and script, the upload cap, the
    assets folder."""
    return {"css": CSS, "js": JS, "max_file_size": services.max_upload, "allowed_paths": [str(ASSETS)]}


def queue_options() -> dict:
    """A class of 30 on one server: compares run `NPP_CONCURRENCY` at a time (default 2: more
    than the cores only makes each wait longer), the rest wait in line and see their place
    (the status box shows "queue: n/m"); a queue longer than `NPP_QUEUE_MAX` (default 100)
    turns new requests away with a message instead of waiting for ever."""
    return {"default_concurrency_limit": int(os.environ.get("NPP_CONCURRENCY") or 2),
            "max_size": int(os.environ.get("NPP_QUEUE_MAX") or 100)}


def about_md() -> str:
    return f"""
### What NPP is
A *pre-processor*: a small convolutional network that changes the photo **before** a standard codec
(BPG, JPEG, VVC) so that the codec spends fewer bits on what a vision model does not use. The codec and
the receiver stay unchanged; only the sender runs NPP. It is trained with the real codec in the loop
(a learned proxy codec supplies gradients) to minimise *bits + lambda x how far the model's answer
moves*. Paper: {PAPER}, [arXiv:2206.05650]({PAPER_URL}).

### What the page measures
- {EXPLAIN['qp']}
- {EXPLAIN['bpp']}
- {EXPLAIN['psnr']}
- {EXPLAIN['kl']}
- {EXPLAIN['top1']}
- {EXPLAIN['detections']}
- {EXPLAIN['gradcam']}

{WHY_PSNR}

### Be fair to NPP's rivals
Under this app's protocol the classifier sees the photo resized to 256 px, so anything finer is
invisible to it: a blur, downscaling by 2 or resizing to 256 px before the codec save bits for free.
NPP is only worth something where it beats them; the Compare tab says so for the photo shown, and the
Curves tab shows the held-out photos' curves, which are the evidence (one photo is an anecdote).
"""


def build(services: Services) -> gr.Blocks:
    with gr.Blocks(title=TITLE, delete_cache=(1800, 3600)) as demo:
        gr.HTML(intro_html(), elem_id="header")
        # where it runs and which models judge the images, as of each page load
        gr.Markdown(lambda: f"<small>{hosting_summary()} {models_summary()}</small>", elem_id="hosting")
        with gr.Row(elem_id="share-row"):
            download = gr.DownloadButton("Download all shown (ZIP)", value=None, size="sm", elem_id="download-zip")
            copy = gr.Button("Copy link to this view", size="sm", elem_id="copy-link")
            gr.HTML("<div id='share-link'><a href='?'>link to this view</a></div>")
        with gr.Tabs(selected="compare", elem_id="tabs") as tabs:
            with gr.Tab("Compare", id="compare") as t_compare:
                controls = compare_tab.build(services, download)
            with gr.Tab("Curves", id="curves") as t_curves:
                sweep_after = curves_tab.build(services, controls)
            with gr.Tab("Train", id="train") as t_train:
                on_train_load = train_tab.build(services, controls, tabs)
            with gr.Tab("About and what to try", id="about") as t_about:
                gr.Markdown(about_md())
                gr.HTML("<h3>What to try</h3>" + what_to_try(default_codec()), elem_id="what-to-try")
                gr.HTML(render.legend(["error"]))
        api.register(services)

        codecs = [v for label, v in codec_choices() if label == v]

        def on_load(request: gr.Request):
            """The page's state from its URL (defaults where a parameter is missing)."""
            st = read_state(dict(request.query_params) if request else {}, [str(e) for e in EXAMPLES], codecs)
            example = Path(st.get("example", str(EXAMPLES[0])))
            index = [str(e) for e in EXAMPLES].index(str(example))
            notes = "".join(f"<div class='note'>Link: {render.esc(n)}; using the default.</div>" for n in st["notes"])
            return (str(example), example.stem, gr.Gallery(selected_index=index), st.get("codec", default_codec()),
                    st.get("qp", DEFAULT_QP), st.get("methods", list(DEFAULT_METHODS)),
                    gr.Tabs(selected=st.get("tab", "compare")),
                    f"<div class='verdict'>Computing {render.esc(example.name)}...</div>{notes}",
                    st.get("tab") == "curves")

        c = controls
        sweep_wanted = gr.State(False)
        loaded = demo.load(on_load, None, [c.photo, c.example, c.examples, c.codec, c.qp, c.methods, tabs, c.status,
                                           sweep_wanted], api_visibility="private", queue=False)
        loaded.then(None, None, None, js=LOADED_JS, api_visibility="private", queue=False)
        controls.start(loaded)
        sweep_after(loaded, sweep_wanted)
        for tab, name in ((t_compare, "compare"), (t_curves, "curves"), (t_train, "train"), (t_about, "about")):
            tab.select(None, None, None, js=f"() => ({TAB_JS})('{name}')", api_visibility="private")
        copy.click(None, None, None, js=COPY_JS, api_visibility="private")
        if on_train_load is not None:
            on_train_load(demo)
    return demo
