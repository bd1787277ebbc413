"""The Compare tab: the uncompressed photo and each chosen method side by side, with what each
costs in real bits and what the classifier and detector still see.

Results arrive in three steps, so the page is never blank while the slow part runs: the
numbers (table, verdicts, top-5), then the images (decoded panels, error maps, detections, the
inspector), then Grad-CAM heatmaps and the ZIP (a separate event with its own concurrency
group, so one visitor's heatmaps never hold back another's numbers). The codec and QP sit in a
bar that stays on screen while the images scroll under it (phones included)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional

import gradio as gr

from npp.analysis import model_choices
from npp.codecs.jpeg import qp_to_quality
from npp.pipeline import DEFAULT_METHODS, DEFAULT_QP, MAX_METHODS, CompareResult, load_photo
from npp.ui import render
from npp.ui.common import (SHIPPED, checkpoint_choices, checkpoint_path, codec_choices, default_codec, uploaded_file,
                           user_errors)
from npp.ui.methods import METHOD_CHOICES, app_methods
from npp.ui.services import EXAMPLES, Services
from npp.ui.share import URL_JS, bundle, dumps
from npp.ui.teach import EXPLAIN
from npp.vision import DEFAULTS
from npp.visualize import write_pngs

#: what a panel can show, in the inspector's menu and as the tabs of the panel grid
VIEWS = {"decoded": "decoded", "error map": "error", "detections": "detections",
         "Grad-CAM classifier": "cam_cls", "Grad-CAM detector": "cam_det"}


@dataclass
class Controls:
    """The inputs the Curves and Train tabs share with Compare."""

    photo: gr.State
    example: gr.Textbox
    examples: gr.Gallery
    codec: gr.Radio
    qp: gr.Slider
    methods: gr.Dropdown
    weights: gr.Dropdown
    classifier: gr.Dropdown
    detector: gr.Dropdown
    download: gr.DownloadButton
    shown: gr.State
    curves_shown: gr.State
    status: gr.HTML
    settings: gr.Accordion
    #: `start(dep)`: run a compare (numbers, then heatmaps) after the event `dep`
    start: Callable = None

    def inputs(self) -> list:
        return [self.photo, self.codec, self.qp, self.methods, self.weights, self.classifier, self.detector]


def default_model(task: str) -> Optional[str]:
    return DEFAULTS[task] if any(v == DEFAULTS[task] for _, v in model_choices(task)) else None


def qp_note(codec: str, qp: object) -> str:
    """The line under the QP slider: JPEG's quality for this QP."""
    try:
        q = int(qp)
    except (TypeError, ValueError):
        return ""
    if codec == "jpeg":
        return f"JPEG quality **{qp_to_quality(q)}** (QP {q}; JPEG has no QP: its step size is matched to HEVC's)"
    return ""


class Shown:
    """What the page shows for one compare (kept per visitor in a gr.State): the request, the
    image files by panel and view, and the files and texts of the ZIP."""

    @staticmethod
    def make(request: tuple, res: CompareResult, images: Dict[str, Dict[str, Optional[str]]]) -> dict:
        stem = f"{res.photo.name}_{res.codec}_qp{res.qp}"
        files = {f"compare/{r.file.name}": str(r.file) for r in res.methods.values()}
        for panel, views in images.items():
            for view, path in views.items():
                if path:
                    files[f"compare/{_safe(panel)}_{view}.png"] = path
        texts = {"compare/summary.json": dumps(res.summary()),
                 "compare/versus.json": dumps(res.against_baselines())}
        return {"request": request, "stem": stem, "panels": list(images), "images": images, "files": files,
                "texts": texts}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "_" for c in name)


def cam_status_html(res: CompareResult, ready: bool) -> str:
    """Which photo and QP the Grad-CAM panels show, and whether they are still being made."""
    what = f"{res.photo.name}, {res.codec} QP {res.qp}"
    text = f"Grad-CAM heatmaps for {what}: ready." if ready else f"Grad-CAM heatmaps for {what}: computing..."
    return (f"<div class='note' data-state='{'ready' if ready else 'computing'}' data-qp='{res.qp}' "
            f"data-photo='{res.photo.name}'>{text}</div>")


def write_images(arrays: Dict[tuple, Optional[object]], folder) -> Dict[str, Dict[str, Optional[str]]]:
    """{(panel, view): image} written as display PNGs -> {panel: {view: path}}."""
    paths = write_pngs({f"{_safe(p)}__{v}": a for (p, v), a in arrays.items()}, folder)
    out: Dict[str, Dict[str, Optional[str]]] = {}
    for p, v in arrays:
        out.setdefault(p, {})[v] = paths[f"{_safe(p)}__{v}"]
    return out


def gallery(shown: Optional[dict], view: str, captions: Dict[str, str]) -> list:
    if not shown:
        return []
    out = []
    for panel in shown["panels"]:
        path = shown["images"][panel].get(view)
        if path:
            out.append((path, captions.get(panel, panel)))
    return out


def build(services: Services, download: gr.DownloadButton) -> Controls:
    """Lay out the tab and wire its events (`download`: the page's ZIP button, which the
    heatmaps step points at the new ZIP); returns the controls Curves and Train share."""
    photo = gr.State(None)
    shown = gr.State(None)
    curves_shown = gr.State(None)  # the Curves tab's last sweep, for the ZIP
    with gr.Row(elem_id="qp-bar", equal_height=True):
        codec = gr.Radio(codec_choices(), value=default_codec(), label="Codec", elem_id="codec", scale=1,
                         min_width=220)
        with gr.Column(scale=3, min_width=260):
            qp = gr.Slider(0, 51, value=DEFAULT_QP, step=1, label="QP: higher = coarser = fewer bits", elem_id="qp",
                           info=EXPLAIN["qp"])
            quality = gr.Markdown(qp_note(default_codec(), DEFAULT_QP), elem_id="jpeg-quality")
    with gr.Row(equal_height=False, elem_id="compare-main"):
        with gr.Column(scale=1, min_width=280, elem_id="controls"):
            examples = gr.Gallery([(str(e), e.stem) for e in EXAMPLES],
                                  label="Example photos (credits: assets/CREDITS.md)",
                                  columns=4, allow_preview=False, object_fit="cover",
                                  elem_id="examples", buttons=[], interactive=False)
            upload = gr.UploadButton("Upload your own photo", file_types=["image"], type="filepath",
                                     elem_id="upload", size="sm")
            example = gr.Textbox(visible="hidden", elem_id="example-name")
            methods = gr.Dropdown(METHOD_CHOICES, value=list(DEFAULT_METHODS), multiselect=True,
                                  allow_custom_value=True, label="Methods", elem_id="methods",
                                  info=f"plain is always in; up to {MAX_METHODS} in all; type others too, "
                                       "e.g. blur:1.5 or resize:320")
            with gr.Accordion("NPP weights and vision models", open=False) as settings:
                weights = gr.Dropdown([SHIPPED], value=SHIPPED, label="NPP weights", allow_custom_value=True,
                                      info="shipped, or a finished job from the Train tab", elem_id="weights")
                classifier = gr.Dropdown(model_choices("cls"), value=default_model("cls"), label="Classifier")
                detector = gr.Dropdown(model_choices("det"), value=default_model("det"), label="Detector")
        with gr.Column(scale=3, min_width=300, elem_id="results"):
            status = gr.HTML("<div class='verdict'>Pick an example photo or upload one.</div>", elem_id="verdict",
                             min_height=60)
            numbers = gr.HTML(elem_id="numbers")
            notes = gr.Markdown(elem_id="notes")
            cam_status = gr.HTML(elem_id="cam-status")
            with gr.Tabs(elem_id="views"):
                with gr.Tab("Side by side", id="side"):
                    g_decoded = gr.Gallery(label="decoded: what the receiver sees (click to enlarge)", columns=4,
                                           height="auto", format="png", object_fit="contain", elem_id="panels",
                                           elem_classes=["panels"], interactive=False)
                with gr.Tab("Inspector", id="inspector"):
                    with gr.Row():
                        left = gr.Dropdown(["uncompressed"] + list(DEFAULT_METHODS), value="plain", label="left",
                                           elem_id="inspect-left", min_width=120)
                        right = gr.Dropdown(["uncompressed"] + list(DEFAULT_METHODS), value="npp", label="right",
                                            elem_id="inspect-right", min_width=120)
                        view = gr.Dropdown(list(VIEWS), value="decoded", label="show", elem_id="inspect-view",
                                           min_width=140)
                    slider = gr.ImageSlider(type="filepath", label="drag the line to wipe; scroll or pinch to zoom "
                                                                   "(both sides zoom together)", max_height=640,
                                            elem_id="inspector", interactive=False, format="png")
                with gr.Tab("Error maps", id="error"):
                    gr.Markdown(EXPLAIN["error"])
                    g_error = gr.Gallery(label="error maps", columns=4, height="auto", format="png",
                                         object_fit="contain", elem_id="error-maps",
                                         elem_classes=["panels"], interactive=False)
                with gr.Tab("Detections", id="detections"):
                    gr.Markdown(EXPLAIN["detections"])
                    det_list = gr.HTML(elem_id="det-list")
                    g_det = gr.Gallery(label="detections", columns=2, height="auto", format="png",
                                       object_fit="contain", elem_id="detections",
                                       elem_classes=["panels"], interactive=False)
                with gr.Tab("Grad-CAM", id="gradcam"):
                    gr.Markdown(EXPLAIN["gradcam"] + " The uncompressed photo comes first.")
                    g_cam_cls = gr.Gallery(label="Grad-CAM, classifier (its top-1 class)", columns=4, height="auto",
                                           format="png", object_fit="contain", elem_id="cam-cls",
                                           elem_classes=["panels"], interactive=False)
                    g_cam_det = gr.Gallery(label="Grad-CAM, detector", columns=4, height="auto", format="png",
                                           object_fit="contain", elem_id="cam-det",
                                           elem_classes=["panels"], interactive=False)
                with gr.Tab("Top-5", id="top5"):
                    top5 = gr.HTML(elem_id="top5")
            with gr.Accordion("How to read the numbers", open=False, elem_id="legend"):
                gr.HTML(render.legend(["qp", "bpp", "bytes", "psnr", "kl", "top1", "detections", "gradcam", "error"]))
            with gr.Accordion("JSON summary and timings", open=False):
                summary = gr.JSON(label="summary (the /compare_json object)")
                timings = gr.JSON(label="milliseconds per stage")

    controls = Controls(photo, example, examples, codec, qp, methods, weights, classifier, detector, download,
                        shown, curves_shown, status, settings)

    def run(path, codec_name, qp_value, specs, weights_choice, cls_name, det_name, heatmaps: bool) -> CompareResult:
        image = uploaded_file(path)
        photo_ = load_photo(image, name=image.name)
        chosen = app_methods(specs, checkpoint_path(services.jobs, "train", weights_choice))
        return services.run(services.pipeline.compare, photo_, codec_name, qp_value, services.files.new_dir(),
                            methods=chosen, heatmaps=heatmaps, classifier=cls_name or None, detector=det_name or None)

    def captions(res: CompareResult) -> Dict[str, str]:
        s = res.summary()["methods"]
        out = {"uncompressed": f"uncompressed: {res.photo.size}"}
        out.update({n: render.caption(n, s[n]) for n in res.methods})
        return out

    def inspector(shown_: Optional[dict], left_: str, right_: str, view_: str):
        if not shown_:
            return None
        key = VIEWS.get(view_, "decoded")
        a = shown_["images"].get(left_, {}).get(key)
        b = shown_["images"].get(right_, {}).get(key)
        if not a or not b:  # e.g. no error map of the uncompressed photo: show it decoded
            a = a or shown_["images"].get(left_, {}).get("decoded")
            b = b or shown_["images"].get(right_, {}).get("decoded")
        return (a, b) if a and b else None

    @user_errors
    def show(path, codec_name, qp_value, specs, weights_choice, cls_name, det_name, left_, right_, view_):
        request = (path, codec_name, qp_value, specs, weights_choice, cls_name, det_name)
        res = run(*request, heatmaps=False)
        s = res.summary()
        size = (res.photo.rgb.shape[1], res.photo.rgb.shape[0])
        weights_note = ([f"- **npp** runs the weights of *{weights_choice}* (Train tab), not the shipped ones."]
                        if weights_choice and weights_choice != SHIPPED and "npp" in s["methods"] else [])
        note = "\n".join([f"- {n}" for n in res.notes] + weights_note +
                          ([render.psnr_note(s)] if render.psnr_note(s) else []))
        yield {status: render.verdict_html(s, res.against_baselines(), res.photo.name, size),
               numbers: render.numbers_table(s, size), top5: render.top5_table(s),
               det_list: render.detections_lists(s), notes: note, quality: qp_note(codec_name, qp_value),
               g_cam_cls: None, g_cam_det: None, cam_status: cam_status_html(res, False), summary: s,
               timings: res.timings}
        arrays = {("uncompressed", "decoded"): res.photo.rgb,
                  ("uncompressed", "detections"): res.uncompressed.detections_image}
        for name, r in res.methods.items():
            arrays.update({(name, "decoded"): r.coded.decoded, (name, "error"): r.error_map,
                           (name, "detections"): r.analysis.detections_image})
        state = Shown.make(request, res, write_images(arrays, services.files.new_dir()))
        caps = captions(res)
        panels = ["uncompressed"] + list(res.methods)
        left_ = left_ if left_ in panels else "plain"
        right_ = right_ if right_ in panels else panels[min(2, len(panels) - 1)]
        yield {shown: state, g_decoded: gallery(state, "decoded", caps), g_error: gallery(state, "error", caps),
               g_det: gallery(state, "detections", caps),
               left: gr.Dropdown(choices=panels, value=left_), right: gr.Dropdown(choices=panels, value=right_),
               slider: inspector(state, left_, right_, view_)}

    @user_errors
    def show_heatmaps(shown_, curves_shown, left_, right_, view_):
        if not shown_:
            return {g_cam_cls: gr.skip()}
        res = run(*shown_["request"], heatmaps=True)
        arrays = {}
        for panel, a in [("uncompressed", res.uncompressed)] + [(n, r.analysis) for n, r in res.methods.items()]:
            arrays.update({(panel, "cam_cls"): a.cam_classifier, (panel, "cam_det"): a.cam_detector})
        images = {p: dict(v) for p, v in shown_["images"].items()}
        for panel, views in write_images(arrays, services.files.new_dir()).items():
            images[panel].update(views)
        state = Shown.make(shown_["request"], res, images)
        state["texts"]["compare/timings.json"] = dumps(res.timings)
        caps = captions(res)
        zip_path = bundle(services.files.new_dir(), state, curves_shown)
        out = {shown: state, g_cam_cls: gallery(state, "cam_cls", caps), g_cam_det: gallery(state, "cam_det", caps),
               cam_status: cam_status_html(res, True),
               download: gr.DownloadButton(value=str(zip_path) if zip_path else None), timings: res.timings}
        if VIEWS.get(view_, "decoded").startswith("cam"):
            out[slider] = inspector(state, left_, right_, view_)
        return out

    numbers_outputs = {status, numbers, top5, det_list, notes, quality, g_cam_cls, g_cam_det, cam_status, summary,
                       timings, shown, g_decoded, g_error, g_det, left, right, slider}
    heatmap_outputs = {shown, g_cam_cls, g_cam_det, cam_status, download, timings, slider}
    inputs = controls.inputs() + [left, right, view]
    numbers_kw = dict(api_visibility="private", concurrency_id="compare", show_progress="full",
                      show_progress_on=[status], trigger_mode="always_last")

    def heatmaps_after(dep) -> None:
        dep.then(show_heatmaps, [shown, curves_shown, left, right, view], heatmap_outputs, api_visibility="private",
                 concurrency_id="heatmaps", concurrency_limit=1, show_progress="minimal",
                 show_progress_on=[g_cam_cls])

    def start(dep) -> None:
        """After `dep` (an event that set the photo or other controls): numbers, then heatmaps."""
        heatmaps_after(dep.then(show, inputs, numbers_outputs, **numbers_kw))

    def pick_example(evt: gr.SelectData):
        e = EXAMPLES[evt.index]
        return str(e), e.stem

    @user_errors
    def pick_upload(path):
        return str(uploaded_file(path)), ""

    start(examples.select(pick_example, None, [photo, example], api_visibility="private", queue=False))
    start(upload.upload(pick_upload, [upload], [photo, example], api_visibility="private", queue=False))
    heatmaps_after(gr.on([codec.input, qp.release, methods.input, weights.input, classifier.input, detector.input],
                         show, inputs, numbers_outputs, **numbers_kw))
    gr.on([left.input, right.input, view.input], inspector, [shown, left, right, view], [slider],
          api_visibility="private", queue=False, show_progress="hidden")
    gr.on([example.change, codec.change, qp.change, methods.change], None, [example, codec, qp, methods], None,
          js=URL_JS, api_visibility="private")
    gr.on([codec.change, qp.change], qp_note, [codec, qp], [quality], api_visibility="private", queue=False,
          show_progress="hidden")
    weights.focus(lambda v: gr.update(choices=checkpoint_choices(services.jobs, "train"),
                                      value=v if v in checkpoint_choices(services.jobs, "train") else SHIPPED),
                  [weights], [weights], api_visibility="private")
    controls.start = start
    return controls
