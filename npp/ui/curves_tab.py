"""The Curves tab: the current photo, codec and methods swept over a QP list, through the same
evaluation as `npp evaluate` (`npp.curves`): bits per pixel against the classifier's KL to the
uncompressed photo and against detections kept, with BD-rates per method."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import pandas as pd

from npp.curves import DEFAULT_SWEEP_QPS, MAX_SWEEP_QPS, bd_table, points, sweep, sweep_qps, wide_table
from npp.pipeline import load_photo
from npp.ui.common import checkpoint_path, uploaded_file, user_errors
from npp.ui.compare_tab import Controls
from npp.ui.methods import app_methods
from npp.ui.services import Services


def build(services: Services, c: Controls) -> None:
    gr.Markdown("Sweep the QP for the photo, codec and methods chosen in the Compare tab: each point is a real "
                "file, measured as `npp evaluate` measures it. **BD-rate**: the average change in bits against "
                "plain at equal quality (negative = fewer bits); *n/a* when two curves share no quality range. "
                "One photo's curve is noisy: compare it with the held-out results in the README.")
    qps = gr.Textbox(", ".join(map(str, DEFAULT_SWEEP_QPS)), label=f"QPs (2 to {MAX_SWEEP_QPS})", elem_id="sweep-qps")
    go = gr.Button("Sweep", variant="primary", elem_id="sweep")
    title = gr.Markdown(elem_id="sweep-title")
    with gr.Row():
        plot_kl = gr.LinePlot(x="bpp", y="kl", color="method", title="KL to uncompressed vs bpp (lower is better)")
        plot_det = gr.LinePlot(x="bpp", y="detection_f1", color="method", title="detections kept vs bpp")
    bd = gr.Dataframe(label="BD-rate against plain", interactive=False, elem_id="bd-table")
    table = gr.Dataframe(label="per QP", interactive=False, elem_id="sweep-table")

    @user_errors
    def run(image, codec_name, qps_text, specs, weights_choice, cls_name, det_name, progress=gr.Progress()):
        photo = load_photo(uploaded_file(image), name=Path(str(image)).name)
        qp_list = sweep_qps(qps_text)
        methods = app_methods(specs, checkpoint_path(services.jobs, "train", weights_choice))
        total = 1 + len(methods) * len(qp_list)
        done = [0]

        def step(n: int) -> None:
            done[0] += n
            progress(done[0] / total, desc=f"{done[0]} of {total} points")

        res = sweep(services.pipeline, photo, codec_name, qp_list, methods, step, cls_name or None, det_name or None)
        df = pd.DataFrame(points(res))
        wide, bdt = wide_table(res), bd_table(res)
        head = f"**{photo.name}** ({photo.size}), **{codec_name}**, {len(methods)} methods x {len(qp_list)} QPs"
        return (head, df, df, pd.DataFrame(bdt[1:], columns=bdt[0]), pd.DataFrame(wide[1:], columns=wide[0]))

    go.click(run, [c.upload, c.codec, qps, c.methods, c.weights, c.classifier, c.detector],
             [title, plot_kl, plot_det, bd, table], api_visibility="private", concurrency_id="compare")
