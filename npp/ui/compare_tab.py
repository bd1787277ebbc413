"""The Compare tab: the uncompressed photo and each chosen method side by side, with what each
costs in real bits and what the classifier and detector still see. Numbers and predictions
appear first; Grad-CAM heatmaps follow in a second step (they cost most of the time)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import gradio as gr

from npp.analysis import model_choices
from npp.pipeline import DEFAULT_METHODS, DEFAULT_QP, MAX_METHODS, CompareResult, load_photo
from npp.ui.common import SHIPPED, checkpoint_choices, checkpoint_path, codec_choices, default_codec, uploaded_file, user_errors
from npp.ui.methods import METHOD_CHOICES, app_methods
from npp.ui.services import EXAMPLES, Services
from npp.vision import DEFAULTS
from npp.visualize import write_pngs


@dataclass
class Controls:
    """The inputs the Curves tab shares with Compare."""

    upload: gr.File
    codec: gr.Radio
    qp: gr.Slider
    methods: gr.Dropdown
    weights: gr.Dropdown
    classifier: gr.Dropdown
    detector: gr.Dropdown

    def inputs(self) -> list:
        return [self.upload, self.codec, self.qp, self.methods, self.weights, self.classifier, self.detector]


@dataclass
class Slot:
    """One method's panel."""

    column: gr.Column
    title: gr.Markdown
    image: gr.Image
    numbers: gr.Markdown
    file: gr.File
    top5: gr.Label
    detections: gr.Image
    error_map: gr.Image
    cam_cls: gr.Image
    cam_det: gr.Image

    def numbers_outputs(self) -> list:
        return [self.column, self.title, self.image, self.numbers, self.file, self.top5, self.detections,
                self.error_map]

    def heatmap_outputs(self) -> list:
        return [self.cam_cls, self.cam_det]


def default_model(task: str) -> Optional[str]:
    return DEFAULTS[task] if any(v == DEFAULTS[task] for _, v in model_choices(task)) else None


def top5_dict(top5: Optional[list]) -> Optional[dict]:
    return None if not top5 else {p["label"]: float(p["prob"]) for p in top5}


def numbers_md(s: dict) -> str:
    """A method's numbers as a small table (bytes, change against plain, bpp, PSNR, KL, verdicts)."""
    def num(v, fmt):
        return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)

    vs = "" if s["bytes_vs_plain"] is None else f"{s['bytes_vs_plain']:+.1f}%"
    kept = {True: "kept", False: "**flipped**", None: "n/a"}[s["top1_kept"]]
    rows = [("bytes", f"{s['bytes']:,} ({vs} vs plain)" if vs else f"{s['bytes']:,}"),
            ("bpp", num(s["bpp"], ".4f")), ("PSNR", f"{num(s['psnr'], '.2f')} dB"),
            ("KL to uncompressed", num(s["kl"], ".4f")), ("top-1", kept),
            ("detections kept (F1)", num(s["detections_kept"], ".2f"))]
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def verdict_md(result: CompareResult) -> str:
    """One line per method: bytes against plain and whether the machine's answer survived."""
    s = result.summary()
    lines = []
    for name, m in s["methods"].items():
        kept = {True: "top-1 kept", False: "top-1 **flipped**", None: "top-1 n/a"}[m["top1_kept"]]
        vs = "" if name == "plain" or m["bytes_vs_plain"] is None else f", {m['bytes_vs_plain']:+.1f}% bytes vs plain"
        kl = "n/a" if m["kl"] is None else f"{m['kl']:.3f}"
        lines.append(f"- **{name}**: {m['bpp']:.3f} bpp{vs}, KL {kl}, {kept}")
    quality = f" (JPEG quality {s['jpeg_quality']})" if "jpeg_quality" in s else ""
    return f"**{result.photo.name}, {result.codec} at QP {result.qp}{quality}**\n" + "\n".join(lines)


def build(services: Services) -> tuple:
    """Lay out the tab and wire its events; returns (Controls, compare function) for Curves."""
    with gr.Row():
        upload = gr.File(label="Photo", file_types=["image"], type="filepath", scale=1, elem_id="upload")
        with gr.Column(scale=2):
            codec = gr.Radio(codec_choices(), value=default_codec(), label="Codec",
                             info="an unavailable codec says why in its label")
            qp = gr.Slider(0, 51, value=DEFAULT_QP, step=1, label="QP", elem_id="qp",
                           info="quantisation parameter: higher = coarser = fewer bits (bpgenc's meaning; "
                                "JPEG's quality is derived from it)")
            methods = gr.Dropdown(METHOD_CHOICES, value=list(DEFAULT_METHODS), multiselect=True,
                                  allow_custom_value=True, label="Methods", elem_id="methods",
                                  info=f"up to {MAX_METHODS}; type other values too, e.g. blur:1.5 or resize:320")
            weights = gr.Dropdown([SHIPPED], value=SHIPPED, label="NPP weights", allow_custom_value=True,
                                  info="shipped, or a checkpoint from the Train tab", elem_id="weights")
    with gr.Accordion("Vision models", open=False):
        with gr.Row():
            classifier = gr.Dropdown(model_choices("cls"), value=default_model("cls"), label="Classifier")
            detector = gr.Dropdown(model_choices("det"), value=default_model("det"), label="Detector")
    gr.Examples([[str(e)] for e in EXAMPLES], inputs=[upload], label="Examples (credits in assets/CREDITS.md)")
    notes = gr.Markdown(elem_id="notes")
    verdict = gr.Markdown(elem_id="verdict")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=260):
            gr.Markdown("**uncompressed**: what the sender has")
            orig = gr.Image(label="uncompressed", format="png", interactive=False)
            orig_top5 = gr.Label(label="classifier top-5", num_top_classes=5)
            orig_dets = gr.Image(label="detections", format="jpeg", interactive=False)
            orig_cam_cls = gr.Image(label="Grad-CAM, classifier", format="jpeg", interactive=False)
            orig_cam_det = gr.Image(label="Grad-CAM, detector", format="jpeg", interactive=False)
        slots: List[Slot] = []
        for i in range(MAX_METHODS):
            with gr.Column(visible=False, min_width=260, elem_id=f"method-{i}") as col:
                slots.append(Slot(
                    col, gr.Markdown(elem_id=f"method-{i}-title"),
                    gr.Image(label="decoded", format="png", interactive=False),
                    gr.Markdown(elem_id=f"method-{i}-numbers"),
                    gr.File(label="download the codec file", interactive=False),
                    gr.Label(label="classifier top-5", num_top_classes=5),
                    gr.Image(label="detections", format="jpeg", interactive=False),
                    gr.Image(label="error map |decoded - original| x4", format="jpeg", interactive=False),
                    gr.Image(label="Grad-CAM, classifier", format="jpeg", interactive=False),
                    gr.Image(label="Grad-CAM, detector", format="jpeg", interactive=False)))
    with gr.Accordion("JSON summary and timings", open=False):
        summary = gr.JSON(label="summary (the /compare_json object)")
        timings = gr.JSON(label="milliseconds per stage")
    state = gr.State(None)  # the last result's request, for the heatmaps step

    controls = Controls(upload, codec, qp, methods, weights, classifier, detector)

    def run(image, codec_name, qp_value, specs, weights_choice, cls_name, det_name, heatmaps: bool) -> CompareResult:
        photo = load_photo(uploaded_file(image), name=Path(str(image)).name)
        chosen = app_methods(specs, checkpoint_path(services.jobs, "train", weights_choice))
        return services.pipeline.compare(photo, codec_name, qp_value, services.files.new_dir(), methods=chosen,
                                         heatmaps=heatmaps, classifier=cls_name or None, detector=det_name or None)

    @user_errors
    def show_numbers(image, codec_name, qp_value, specs, weights_choice, cls_name, det_name):
        res = run(image, codec_name, qp_value, specs, weights_choice, cls_name, det_name, heatmaps=False)
        folder = services.files.new_dir()
        shown = write_pngs({"uncompressed": res.photo.rgb,
                            **{f"m{i}": r.coded.decoded for i, r in enumerate(res.methods.values())}}, folder)
        s = res.summary()
        out = ["\n".join(f"- {n}" for n in res.notes), verdict_md(res), shown["uncompressed"],
               top5_dict(res.uncompressed.top5), res.uncompressed.detections_image]
        results = list(res.methods.values())
        for i, slot in enumerate(slots):
            if i >= len(results):
                out += [gr.Column(visible=False), "", None, "", None, None, None, None]
                continue
            r = results[i]
            desc = r.method.description or r.name
            out += [gr.Column(visible=True), f"**{r.name}**: {desc}", shown[f"m{i}"], numbers_md(s["methods"][r.name]),
                    str(r.file), top5_dict(r.analysis.top5), r.analysis.detections_image, r.error_map]
        out += [s, res.timings, (image, codec_name, qp_value, specs, weights_choice, cls_name, det_name)]
        return out

    @user_errors
    def show_heatmaps(request):
        if request is None:
            return [None] * (2 + 2 * MAX_METHODS)
        res = run(*request, heatmaps=True)
        out = [res.uncompressed.cam_classifier, res.uncompressed.cam_detector]
        results = list(res.methods.values())
        for i in range(MAX_METHODS):
            a = results[i].analysis if i < len(results) else None
            out += [a.cam_classifier if a else None, a.cam_detector if a else None]
        return out

    numbers_outputs = [notes, verdict, orig, orig_top5, orig_dets]
    for slot in slots:
        numbers_outputs += slot.numbers_outputs()
    numbers_outputs += [summary, timings, state]
    heatmap_outputs = [orig_cam_cls, orig_cam_det]
    for slot in slots:
        heatmap_outputs += slot.heatmap_outputs()

    gr.on([upload.change, qp.change, codec.change, methods.change, weights.change, classifier.change,
           detector.change], show_numbers, controls.inputs(), numbers_outputs, api_visibility="private",
          concurrency_id="compare", trigger_mode="always_last").then(
        show_heatmaps, [state], heatmap_outputs, api_visibility="private", concurrency_id="compare",
        show_progress="hidden")
    weights.focus(lambda v: gr.update(choices=checkpoint_choices(services.jobs, "train"),
                                      value=v if v in checkpoint_choices(services.jobs, "train") else SHIPPED),
                  [weights], [weights], api_visibility="private")
    return controls
