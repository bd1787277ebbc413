"""npp's Gradio app: the Compare, Curves and Train tabs. Layout and callbacks only; everything
computed comes from the `npp` package (npp.pipeline, npp.curves, npp.jobs).

Start: `python app.py` (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are respected).
Environment: NPP_PUBLIC=1 switches training off and caps uploads; NPP_DATA_DIRS lists the
server photo folders the Train tab may use; NPP_JOBS_DIR keeps job folders (default:
runs/app-jobs), so a restarted server still offers finished jobs' weights."""
from __future__ import annotations

import html
import logging
import math
import os
import shutil
import time
from pathlib import Path
from typing import Optional

import gradio as gr

from npp.codecs import create_codec, list_codecs
from npp.analysis import model_choices
from npp.errors import NppError
from npp.jobs import JobRunner, allowed_data_dirs, copy_uploads, public_mode, resolve_data_dir, training_args
from npp.pipeline import APP_MAX_PIXELS, DEFAULT_QP, SHIPPED, ComparePipeline, load_photo
from npp.tempstore import TempStore
from npp.runtime import tune_allocator
from npp.visualize import write_pngs

log = logging.getLogger("npp.app")
HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
EXAMPLES = [str(ASSETS / n) for n in ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg")]
PUBLIC = public_mode()
MAX_UPLOAD = "5mb" if PUBLIC else "50mb"

try:  # ZeroGPU on Hugging Face: request a GPU for the duration of a compare
    import spaces

    gpu = spaces.GPU
except ImportError:
    def gpu(fn):
        return fn

PIPELINE = ComparePipeline()  # models load once, at start-up
FILES = TempStore()
JOBS: Optional[JobRunner] = (None if PUBLIC else
                              JobRunner(Path(os.environ.get("NPP_JOBS_DIR") or HERE / "runs" / "app-jobs")))


def uploaded_file(path) -> Path:
    """The path of a file Gradio received as an upload (or an example photo). An API client
    can send a bare server path instead of uploading; that is refused, so a request can never
    make the app read a file of the server's."""
    p = Path(str(path)).resolve()
    roots = (Path(gr.utils.get_upload_folder()).resolve(), ASSETS.resolve())
    if not any(p.is_relative_to(r) for r in roots):
        raise NppError(f"{p.name}: not an uploaded file")
    return p


def codec_choices() -> list:
    """(label, value) pairs; an unavailable codec keeps its name but its label says why."""
    out = []
    for name in list_codecs():
        ok, reason = create_codec(name).availability()
        out.append((name if ok else f"{name} (unavailable: {reason})", name))
    return out


def default_codec() -> str:
    names = [v for label, v in codec_choices() if label == v]
    return "bpg" if "bpg" in names else names[0]


def weights_choices() -> list:
    return [SHIPPED] + (list(JOBS.checkpoints("train")) if JOBS else [])


def weights_path(choice: Optional[str]):
    """None for the shipped weights, else the checkpoint of a finished Train-tab job (by label)."""
    if not choice or choice == SHIPPED:
        return None
    ckpts = JOBS.checkpoints("train") if JOBS else {}
    if choice not in ckpts:
        raise NppError(f"unknown NPP weights {choice!r}: pick 'shipped' or a finished training job")
    return ckpts[choice]


# -- Compare -----------------------------------------------------------------------------------
def metrics_md(title: str, branch) -> str:
    if branch is None:
        return f"**{title}**: not available (see the notes)"
    e = branch.encoded
    psnr = "inf" if math.isinf(branch.psnr) else f"{branch.psnr:.2f} dB"
    return (f"**{title}**  \n{e.bpp:.4f} bpp · {e.nbytes:,} bytes · PSNR {psnr} · "
            f"encode {e.encode_ms:.0f} ms")


def top5_dict(analysis) -> Optional[dict]:
    if analysis is None or analysis.top5 is None:
        return None
    return {p["label"]: float(p["prob"]) for p in analysis.top5}


def default_model(task: str) -> Optional[str]:
    try:
        from npp.vision import DEFAULTS
    except ImportError:
        return None
    return DEFAULTS[task] if any(v == DEFAULTS[task] for _, v in model_choices(task)) else None


def run_compare(image, codec: str, qp: float, weights: str = SHIPPED, classifier: Optional[str] = None,
                detector: Optional[str] = None):
    """The /compare endpoint: `image` is the uploaded file (its name never names a server path)."""
    if image is None:
        raise gr.Error("Upload a photo or pick an example first.")
    try:
        t0 = time.perf_counter()
        photo = load_photo(uploaded_file(image), name=Path(str(image)).name)
        t1 = time.perf_counter()
        folder = FILES.new_dir()
        res = PIPELINE.compare(photo, codec, int(qp), folder, weights=weights_path(weights),
                               classifier=classifier or None, detector=detector or None)
        t2 = time.perf_counter()
        shown = write_pngs({"original": photo.rgb, "plain": res.plain.decoded, "filtered": res.filtered,
                            "npp": res.npp.decoded if res.npp else None}, folder)
        res.timings.update(load_photo=round((t1 - t0) * 1000, 1),
                           display_pngs=round((time.perf_counter() - t2) * 1000, 1))
    except NppError as exc:
        raise gr.Error(str(exc)) from None
    except Exception as exc:  # never a stack trace in the page; the log keeps it
        log.exception("compare failed")
        raise gr.Error(f"internal error ({type(exc).__name__}); see the server log") from None
    p, n = res.plain, res.npp
    pa, na = p.analysis, (n.analysis if n else None)
    notes = "\n".join(f"- {x}" for x in res.notes) or "—"
    return (
        shown["original"], shown["plain"], shown["filtered"], shown["npp"],
        metrics_md(f"{codec} (original)", p), metrics_md(f"{codec} (NPP-filtered)", n),
        str(p.file), str(n.file) if n else None,
        top5_dict(res.original), top5_dict(pa), top5_dict(na),
        res.original.detections_image, pa.detections_image, na.detections_image if na else None,
        pa.cam_classifier, na.cam_classifier if na else None,
        pa.cam_detector, na.cam_detector if na else None,
        res.difference, notes, res.summary(), res.timings,
    )


# -- Train ------------------------------------------------------------------------------------
def proxy_choices() -> list:
    return [SHIPPED] + (list(JOBS.checkpoints("train-proxy")) if JOBS else [])


def start_job(kind, codec, qps, steps, lr, source, uploads, folder, proxy=SHIPPED):
    if JOBS is None:
        raise gr.Error("Training is switched off on this public server.")
    job_dir = JOBS.new_job_dir()
    try:
        if source == "server folder":
            photos = resolve_data_dir(folder)
        else:
            photos = copy_uploads([str(uploaded_file(u)) for u in (uploads or [])], job_dir / "photos")
        kind_cli = "train-proxy" if kind.startswith("proxy") else "train"
        proxies = JOBS.checkpoints("train-proxy")
        if proxy not in (None, SHIPPED) and proxy not in proxies:
            raise NppError(f"unknown proxy {proxy!r}: pick 'shipped' or a finished proxy job")
        args = training_args(kind_cli, photos, job_dir, codec=codec, qps=qps, steps=int(steps), lr=float(lr),
                             proxy=proxies.get(proxy))
        job = JOBS.submit(kind_cli, args, job_dir, title=f"{kind_cli} {codec} {int(steps)} steps", steps=int(steps))
    except NppError as exc:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise gr.Error(str(exc)) from None
    return job.id, gr.Timer(active=True)


def cancel_job(job_id):
    if JOBS is None or not job_id:
        raise gr.Error("No job to cancel.")
    try:
        JOBS.cancel(int(job_id))
    except NppError as exc:
        raise gr.Error(str(exc)) from None


def resume_job(job_id):
    if JOBS is None or not job_id:
        raise gr.Error("No job to resume.")
    try:
        job = JOBS.resume(int(job_id))
    except NppError as exc:
        raise gr.Error(str(exc)) from None
    return job.id, gr.Timer(active=True)


def progress_html(job) -> str:
    if job is None:
        return "<p>No job started in this session.</p>"
    pr = job.progress()
    pct = 100.0 * pr["fraction"]
    steps = f"step {pr['step']} / {pr['steps']}" if pr["steps"] else f"step {pr['step']}"
    err = f" — {html.escape(job.error)}" if job.error else ""
    return (f"<div id='job-progress' data-state='{job.state}' data-step='{pr['step']}'>"
            f"<b>{html.escape(job.label)}</b>: {job.state}, {steps}{err}<br>"
            f"<progress max='100' value='{pct:.1f}' style='width:100%'></progress></div>")


def poll_job(job_id):
    import pandas as pd

    job = None
    if JOBS is not None and job_id:
        try:
            job = JOBS.get(int(job_id))
        except NppError:
            job = None
    losses = job.progress()["losses"] if job else []
    plot = pd.DataFrame(losses, columns=["step", "loss"])
    rows = [[j.id, j.kind, j.title, j.state] for j in (JOBS.jobs() if JOBS else [])]
    table = pd.DataFrame(rows, columns=["job", "kind", "what", "state"])
    still_running = job is not None and job.state in ("queued", "running")
    return progress_html(job), plot, job.output_tail() if job else "", table, gr.Timer(active=still_running)


def refresh_choices(current, choices_fn=weights_choices):
    choices = choices_fn()
    return gr.update(choices=choices, value=current if current in choices else SHIPPED)


# -- Layout -----------------------------------------------------------------------------------
def build() -> gr.Blocks:
    with gr.Blocks(title="npp: preprocessing-enhanced compression for machine vision",
                   delete_cache=(1800, 3600)) as demo:
        gr.Markdown(
            "# npp — what the codec keeps for the machine, with and without NPP\n"
            "Upload a photo, pick a codec and move the QP: the plain codec and NPP + codec are "
            "compared side by side with real files, real bits and real vision models. "
            f"Photos above {APP_MAX_PIXELS:,} pixels are downscaled.")
        with gr.Tab("Compare"):
            with gr.Row():
                upload = gr.File(label="Photo", file_types=["image"], type="filepath", scale=1)
                with gr.Column(scale=2):
                    codec = gr.Radio(codec_choices(), value=default_codec(), label="Codec",
                                     info="an unavailable codec says why in its label")
                    qp = gr.Slider(0, 51, value=DEFAULT_QP, step=1, label="QP", elem_id="qp")
                    weights = gr.Dropdown(weights_choices(), value=SHIPPED, label="NPP weights",
                                          allow_custom_value=True,
                                          info="shipped, or a checkpoint from the Train tab")
            with gr.Accordion("Vision models", open=False):
                gr.Markdown("The offline defaults run anywhere; torchvision's paper models appear "
                            "where their weights can be downloaded (an unavailable one says why).")
                with gr.Row():
                    classifier = gr.Dropdown(model_choices("cls"), value=default_model("cls"), label="Classifier")
                    detector = gr.Dropdown(model_choices("det"), value=default_model("det"), label="Detector")
            gr.Examples([[e] for e in EXAMPLES], inputs=[upload], label="Examples (credits in assets/CREDITS.md)")
            notes = gr.Markdown(elem_id="notes")
            with gr.Row():
                im_orig = gr.Image(label="Original", format="png", interactive=False)
                im_plain = gr.Image(label="codec(original)", format="png", interactive=False)
                im_filt = gr.Image(label="NPP-filtered", format="png", interactive=False)
                im_npp = gr.Image(label="codec(NPP-filtered)", format="png", interactive=False)
            with gr.Row():
                md_plain = gr.Markdown(elem_id="metrics-plain")
                md_npp = gr.Markdown(elem_id="metrics-npp")
            with gr.Row():
                file_plain = gr.File(label="Download codec(original)", interactive=False)
                file_npp = gr.File(label="Download codec(NPP-filtered)", interactive=False)
            with gr.Accordion("Classifier top-5", open=True):
                with gr.Row():
                    lab_orig = gr.Label(label="Original", num_top_classes=5)
                    lab_plain = gr.Label(label="codec(original)", num_top_classes=5)
                    lab_npp = gr.Label(label="codec(NPP-filtered)", num_top_classes=5)
            with gr.Accordion("Detections", open=True):
                with gr.Row():
                    det_orig = gr.Image(label="Original", format="jpeg", interactive=False)
                    det_plain = gr.Image(label="codec(original)", format="jpeg", interactive=False)
                    det_npp = gr.Image(label="codec(NPP-filtered)", format="jpeg", interactive=False)
            with gr.Accordion("Grad-CAM heatmaps", open=False):
                with gr.Row():
                    cam_cls_plain = gr.Image(label="classifier, codec(original)", format="jpeg", interactive=False)
                    cam_cls_npp = gr.Image(label="classifier, codec(NPP-filtered)", format="jpeg", interactive=False)
                    cam_det_plain = gr.Image(label="detector, codec(original)", format="jpeg", interactive=False)
                    cam_det_npp = gr.Image(label="detector, codec(NPP-filtered)", format="jpeg", interactive=False)
            with gr.Accordion("What NPP removed (original − NPP-filtered, amplified 4x)", open=False):
                diff = gr.Image(label="difference", format="jpeg", interactive=False)
            with gr.Accordion("JSON summary and timings", open=False):
                summary = gr.JSON(label="summary")
                timings = gr.JSON(label="milliseconds per stage")

            outputs = [im_orig, im_plain, im_filt, im_npp, md_plain, md_npp, file_plain, file_npp,
                       lab_orig, lab_plain, lab_npp, det_orig, det_plain, det_npp,
                       cam_cls_plain, cam_cls_npp, cam_det_plain, cam_det_npp, diff, notes, summary, timings]
            inputs = [upload, codec, qp, weights, classifier, detector]
            compare_fn = gpu(run_compare)
            upload.change(compare_fn, inputs, outputs, api_name="compare", concurrency_limit=2,
                          concurrency_id="compare", trigger_mode="always_last")
            for trigger in (qp.change, codec.change, weights.change, classifier.change, detector.change):
                trigger(compare_fn, inputs, outputs, api_visibility="private", concurrency_id="compare",
                        trigger_mode="always_last")
            weights.focus(refresh_choices, [weights], [weights], api_visibility="private")

        with gr.Tab("Curves"):
            build_curves_tab(upload, codec, weights, classifier, detector)

        with gr.Tab("Train"):
            build_train_tab()
    return demo


def build_curves_tab(upload, codec, weights, classifier, detector) -> None:
    from npp.curves import DEFAULT_SWEEP_QPS, sweep_table

    gr.Markdown("Sweep the QP for the current photo and codec: bits per pixel against the "
                "classifier's confidence in the uncompressed top-1 class and against detection "
                "agreement with the uncompressed detections, for both branches, with BD-rates.")
    qps = gr.Textbox(", ".join(map(str, DEFAULT_SWEEP_QPS)), label="QPs")
    go = gr.Button("Sweep", variant="primary")
    bd = gr.Markdown(elem_id="bd-rate")
    with gr.Row():
        plot_cls = gr.LinePlot(x="bpp", y="confidence", color="branch", title="classifier confidence vs bpp")
        plot_det = gr.LinePlot(x="bpp", y="detection_f1", color="branch", title="detection agreement vs bpp")
    table = gr.Dataframe(label="per QP and branch", interactive=False)

    def sweep(upload_path, codec_name, qps_text, weights_choice, cls_name, det_name, progress=gr.Progress()):
        if upload_path is None:
            raise gr.Error("Upload a photo or pick an example in the Compare tab first.")
        try:
            photo = load_photo(uploaded_file(upload_path), name=Path(str(upload_path)).name)
            df, bd_text = sweep_table(PIPELINE, photo, codec_name, qps_text, weights_path(weights_choice),
                                      progress=lambda f, msg: progress(f, desc=msg),
                                      classifier=cls_name or None, detector=det_name or None)
        except NppError as exc:
            raise gr.Error(str(exc)) from None
        return df, df, df, bd_text

    go.click(sweep, [upload, codec, qps, weights, classifier, detector], [plot_cls, plot_det, table, bd],
             api_name="sweep",
             concurrency_id="compare")


def build_train_tab() -> None:
    if JOBS is None:
        gr.Markdown("**Training is switched off on this public server** (NPP_PUBLIC=1). "
                    "Run the app on your own machine to train.", elem_id="train-off")
        return
    gr.Markdown("Run a real training job in the background: fine-tune the proxy codec on a codec's "
                "output, or train NPP. One job runs at a time on this server; others wait in the "
                "queue. A finished NPP job's checkpoint appears under *NPP weights* in Compare.")
    with gr.Row():
        kind = gr.Radio(["proxy fine-tuning", "NPP training"], value="proxy fine-tuning", label="Job")
        codec = gr.Dropdown([c for c in list_codecs()], value=default_codec(), label="Codec")
        qps = gr.Textbox("28, 31, 34, 37, 41", label="QPs")
        steps = gr.Number(200, label="Steps", precision=0, minimum=1, elem_id="train-steps")
        lr = gr.Number(1e-4, label="Learning rate", minimum=0)
    dirs = [str(d) for d in allowed_data_dirs()]
    with gr.Row():
        source = gr.Radio(["upload", "server folder"], value="upload", label="Photos")
        uploads = gr.File(file_count="multiple", file_types=["image"], label="Upload photos", type="filepath")
        folder = gr.Dropdown(dirs, value=dirs[0] if dirs else None, label="Server folder (NPP_DATA_DIRS)")
        proxy = gr.Dropdown(proxy_choices(), value=SHIPPED, label="Proxy for NPP training", allow_custom_value=True,
                            info="shipped, or a finished proxy job", elem_id="proxy-choice")
    with gr.Row():
        start = gr.Button("Start job", variant="primary", elem_id="start-job")
        job_id = gr.Number(None, label="Job shown (cancel / resume act on it)", precision=0, elem_id="job-id")
        cancel = gr.Button("Cancel job", variant="stop", elem_id="cancel-job")
        resume = gr.Button("Resume job", elem_id="resume-job")
    progress = gr.HTML(progress_html(None))
    loss = gr.LinePlot(x="step", y="loss", title="loss")
    tail = gr.Textbox(label="log tail", lines=8, max_lines=8, interactive=False)
    queue = gr.Dataframe(label="jobs on this server", interactive=False)
    timer = gr.Timer(1.0, active=False)  # ticks only while this session's job is queued or running

    proxy.focus(lambda v: refresh_choices(v, proxy_choices), [proxy], [proxy], api_visibility="private")
    start.click(start_job, [kind, codec, qps, steps, lr, source, uploads, folder, proxy], [job_id, timer],
                api_name="start_job")
    cancel.click(cancel_job, [job_id], None, api_name="cancel_job")
    resume.click(resume_job, [job_id], [job_id, timer], api_name="resume_job")
    job_id.submit(lambda _: gr.Timer(active=True), [job_id], [timer], api_visibility="private")
    timer.tick(poll_job, [job_id], [progress, loss, tail, queue, timer], api_visibility="private",
               show_progress="hidden", queue=False)


tune_allocator()  # before the models load: keeps the classifier at its fast speed (npp/runtime.py)
demo = build()

if __name__ == "__main__":
    import signal
    import sys

    logging.basicConfig(level=logging.INFO)
    # SIGTERM (a service manager, a test) exits cleanly: atexit removes temp files and stops jobs
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    demo.queue(default_concurrency_limit=2).launch(max_file_size=MAX_UPLOAD, allowed_paths=[str(ASSETS)])
