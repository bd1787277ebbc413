"""The app's public API: named endpoints returning one JSON object each, so scripts and
notebooks get stable, named data (docs/app.md documents them; keep their fields stable).

- `/compare_json(image, codec, qp, methods)`: `{"codec", "qp", "jpeg_quality" (jpeg only),
  "uncompressed": {"top5", "detections"}, "methods": {"<name>": {"bpp", "bytes",
  "bytes_vs_plain", "psnr", "kl", "confidence", "top1_kept", "top5", "detections",
  "detections_kept", "file"}}}`, `<name>` being the method's registry name (`plain`, `npp`,
  `blur:1.0`, ...); each bpp equals `npp compress --method <name>`'s for the same photo, codec
  and QP.
- `/curves_json(image, codec, qps, methods)`: `npp evaluate`'s `--json` summary for the photo
  (curves per method, BD-rates on KL), plus the BD-rates on every metric.

Their inputs are components of their own (not the page's), so the page's layout can change
without changing the API."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from npp.curves import sweep, sweep_qps
from npp.evaluate import summary
from npp.evaluate.report import jsonable
from npp.pipeline import load_photo
from npp.ui.common import uploaded_file, user_errors
from npp.ui.methods import app_methods
from npp.ui.services import Services


def register(services: Services) -> None:
    """Add the API endpoints (invisible components) to the Blocks being built."""
    with gr.Column(visible=False):
        image = gr.File(type="filepath", label="image")
        codec = gr.Textbox(label="codec")
        qp = gr.Number(label="qp")
        qps = gr.Textbox(label="qps")
        methods = gr.Textbox(label="methods")
        compare_out = gr.JSON(label="compare")
        curves_out = gr.JSON(label="curves")
        go_compare = gr.Button("compare_json")
        go_curves = gr.Button("curves_json")

    @user_errors
    def compare_json(image_path, codec_name, qp_value, specs) -> dict:
        """Every method for one photo, codec and QP: real files, bits and what the models see."""
        photo = load_photo(uploaded_file(image_path), name=Path(str(image_path)).name)
        res = services.run(services.pipeline.compare, photo, str(codec_name), qp_value, services.files.new_dir(),
                           methods=app_methods(specs), heatmaps=False)
        return res.summary()

    @user_errors
    def curves_json(image_path, codec_name, qps_text, specs) -> dict:
        """The QP sweep of the Curves tab as `npp evaluate --json` prints it."""
        photo = load_photo(uploaded_file(image_path), name=Path(str(image_path)).name)
        res = services.run(sweep, services.pipeline, photo, str(codec_name), sweep_qps(qps_text), app_methods(specs))
        return jsonable({**summary(res), "bd_rates": {m: {k: v["value"] for k, v in by.items()}
                                                      for m, by in res["bd_rate"].items()}})

    go_compare.click(compare_json, [image, codec, qp, methods], [compare_out], api_name="compare_json",
                     concurrency_id="compare")
    go_curves.click(curves_json, [image, codec, qps, methods], [curves_out], api_name="curves_json",
                    concurrency_id="compare")
