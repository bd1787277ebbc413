"""The Curves tab: the photo, codec and methods chosen in Compare swept over a QP list through
the same evaluation as `npp evaluate` (`npp.curves`), beside the same methods' curves over the
held-out photos (precomputed by `bench/heldout_curves.py`), so one photo's noise shows as noise.
Each plot draws a line per method with QP-labelled points and the uncompressed photo's value
dotted; the BD-rates are a small table (this photo and the held-out set with its interval);
the per-QP numbers are one compact wide table."""
from __future__ import annotations

from typing import Callable, Optional

import gradio as gr

from npp.codecs import create_codec
from npp.curves import DEFAULT_SWEEP_QPS, MAX_SWEEP_QPS, bd_values, load_heldout, sweep, sweep_qps
from npp.evaluate import summary as evaluate_summary
from npp.evaluate.report import jsonable, rows_csv
from npp.pipeline import load_photo
from npp.ui import render
from npp.ui.common import checkpoint_path, uploaded_file, user_errors
from npp.ui.compare_tab import Controls
from npp.ui.methods import app_methods
from npp.ui.services import Services
from npp.ui.share import bundle, dumps
from npp.visualize import Panel, plot_panels

PROTOCOL = ("full protocol: the codec gets the whole photo; the classifier sees five 224 px crops of the decoded "
            "photo resized to a 256 px shorter side")


def heldout_note(h: Optional[dict], codec: str) -> str:
    if not h:
        return f"No held-out curves were precomputed for {codec} (`bench/heldout_curves.py` makes them)."
    return (f"Held-out set: {h['images']} photos never used in training ({h['photos_note']}), {codec} "
            f"{h['codec_label']}, the same protocol; made by `{h['command']}`.")


def build(services: Services, c: Controls) -> Callable:
    """Lay out the tab and wire its events; returns `start(dep, wanted)`: sweep after the event
    `dep` when the gr.State `wanted` is true (the page's load, for a link to the Curves tab)."""
    gr.Markdown("Sweep the QP for the photo, codec and methods chosen in **Compare**: every point is a real file, "
                "measured as `npp evaluate` measures it. Beside it, the same methods over the held-out photos: "
                "if this photo's curve differs, that is this photo, not the method.")
    with gr.Row(equal_height=False, elem_id="sweep-row"):
        qps = gr.Textbox(", ".join(map(str, DEFAULT_SWEEP_QPS)), label=f"QPs (2 to {MAX_SWEEP_QPS})",
                         elem_id="sweep-qps", scale=3)
        go = gr.Button("Sweep", variant="primary", elem_id="sweep", scale=0, min_width=160)
    status = gr.HTML("<div class='verdict'>Press <b>Sweep</b>.</div>", elem_id="sweep-title", min_height=50)
    with gr.Row(equal_height=False):
        kl_photo = gr.Image(label="this photo: KL", elem_id="plot-kl-photo", interactive=False, show_label=False,
                            buttons=["download"], visible=False)
        kl_heldout = gr.Image(label="held-out set: KL", elem_id="plot-kl-heldout", interactive=False, show_label=False,
                              buttons=["download"], visible=False)
    with gr.Row(equal_height=False):
        det_photo = gr.Image(label="this photo: detections kept", elem_id="plot-det-photo", interactive=False,
                             show_label=False,
                             buttons=["download"], visible=False)
        det_heldout = gr.Image(label="held-out set: detections kept", elem_id="plot-det-heldout", interactive=False,
                               show_label=False,
                               buttons=["download"], visible=False)
    gr.Markdown("**BD-rate against plain**: the average change in bits for the same quality over the QP range both "
                "curves cover.")
    bd = gr.HTML(elem_id="bd-table")
    gr.Markdown("**Per QP**: bpp, KL and detections kept (det.) of every method.")
    table = gr.HTML(elem_id="sweep-table")
    heldout_md = gr.Markdown(elem_id="heldout-note")

    @user_errors
    def run(path, codec_name, qps_text, specs, weights_choice, cls_name, det_name, compare_shown,
            progress=gr.Progress()):
        image = uploaded_file(path)
        photo = load_photo(image, name=image.name)
        qp_list = sweep_qps(qps_text)
        methods = app_methods(specs, checkpoint_path(services.jobs, "train", weights_choice))
        total = 1 + len(methods) * len(qp_list)
        done = [0]

        def step(n: int) -> None:
            done[0] += n
            progress(done[0] / total, desc=f"{done[0]} of {total} points")

        progress(0, desc=f"0 of {total} points")
        res = services.run(sweep, services.pipeline, photo, codec_name, qp_list, methods, step, cls_name or None,
                           det_name or None)
        options = create_codec(codec_name).options()
        codec_label = ", ".join(f"{k} {v}" for k, v in options.items())
        h = load_heldout(services.heldout_path, codec_name)
        names = list(res["curves"])
        baselines = res["config"]["baselines"]
        folder = services.files.new_dir()
        h_curves = {n: h["curves"][n] for n in names if h and n in h["curves"]}
        panels = {"kl-photo": Panel(f"this photo: {photo.name}", res["curves"], "kl", baselines),
                  "det-photo": Panel(f"this photo: {photo.name}", res["curves"], "detection_f1", baselines)}
        if h:
            title = f"held-out set: {h['images']} photos" + (f" at {h['max_side']} px" if h.get("max_side") else "")
            panels["kl-heldout"] = Panel(title, h_curves, "kl", baselines)
            panels["det-heldout"] = Panel(title, h_curves, "detection_f1", baselines)
        plots = {k: str(plot_panels([p], folder / f"curves_{k}.png")) for k, p in panels.items()}
        title = (f"<div class='verdict'><b>{render.esc(photo.name)}</b> ({photo.size}) &middot; <b>{codec_name}</b>"
                 f" ({codec_label}) &middot; {', '.join(map(render.esc, names))} &middot; QPs "
                 f"{', '.join(map(str, qp_list))}<br><small>{PROTOCOL}</small></div>")
        summ = jsonable({**evaluate_summary(res), "bd_rates": bd_values(res)})
        stem = f"{photo.name}_{codec_name}_sweep"
        curves_state = {"stem": stem, "files": {f"curves/{k}.png": v for k, v in plots.items()},
                        "texts": {"curves/sweep.csv": rows_csv(res["rows"]), "curves/curves.json": dumps(summ)}}
        zip_path = bundle(services.files.new_dir(), compare_shown, curves_state)
        def image(key: str):
            return gr.Image(value=plots.get(key), visible=key in plots)

        return (title, image("kl-photo"), image("kl-heldout"), image("det-photo"), image("det-heldout"),
                render.bd_rate_table(bd_values(res), h), render.wide_table(res), heldout_note(h, codec_name),
                curves_state, gr.DownloadButton(value=str(zip_path)))

    inputs = [c.photo, c.codec, qps, c.methods, c.weights, c.classifier, c.detector, c.shown]
    outputs = [status, kl_photo, kl_heldout, det_photo, det_heldout, bd, table, heldout_md, c.curves_shown, c.download]
    kw = dict(api_visibility="private", concurrency_id="compare", show_progress="full", show_progress_on=[status])
    go.click(run, inputs, outputs, **kw)

    def run_if(wanted, *args, progress=gr.Progress()):
        return run(*args, progress=progress) if wanted else [gr.skip()] * len(outputs)

    def start(dep, wanted: gr.State) -> None:
        dep.then(run_if, [wanted] + inputs, outputs, **kw)

    return start
