"""The Train tab: real `npp train-proxy` / `npp train` processes in the background (one at a
time per server, others queue), their live progress, and their weights offered in Compare."""
from __future__ import annotations

import html
import shutil
from typing import Callable, Optional

import gradio as gr
import pandas as pd

from npp.codecs import list_codecs
from npp.errors import NppError
from npp.jobs import allowed_data_dirs, copy_uploads, new_token, resolve_data_dir, training_args
from npp.ui.common import SHIPPED, checkpoint_choices, default_codec, uploaded_file, user_errors
from npp.ui.services import Services


def progress_html(job) -> str:
    if job is None:
        return "<p>No job started in this session.</p>"
    pr = job.progress()
    pct = 100.0 * pr["fraction"]
    steps = f"step {pr['step']} / {pr['steps']}" if pr["steps"] else f"step {pr['step']}"
    err = f" — {html.escape(job.error)}" if job.error else ""
    note = (" <i>(re-attached after a server restart: progress from its log; cancel still stops it)</i>"
            if job.reattached else "")
    return (f"<div id='job-progress' data-state='{job.state}' data-step='{pr['step']}'>"
            f"<b>{html.escape(job.label)}</b>: {job.state}, {steps}{err}{note}<br>"
            f"<progress max='100' value='{pct:.1f}' style='width:100%'></progress></div>")


def build(services: Services) -> Optional[Callable[[gr.Blocks], None]]:
    """Lay out the tab; returns what the page must run on load (show this browser's latest job)."""
    if not services.training:
        gr.Markdown("**Training is switched off on this public server.** Run the app on your own machine "
                    "to train.", elem_id="train-off")
        return None
    gr.Markdown("Run a real training job in the background: fine-tune the proxy codec on a codec's "
                "output, or train NPP. One job runs at a time on this server; others wait in the "
                "queue. A finished NPP job's checkpoint appears under *NPP weights* in Compare.")
    with gr.Row():
        kind = gr.Radio(["proxy fine-tuning", "NPP training"], value="proxy fine-tuning", label="Job")
        codec = gr.Dropdown(list_codecs(), value=default_codec(), label="Codec")
        qps = gr.Textbox("28, 31, 34, 37, 41", label="QPs")
        steps = gr.Number(200, label="Steps", precision=0, minimum=1, elem_id="train-steps")
        lr = gr.Number(1e-4, label="Learning rate", minimum=0)
    dirs = [str(d) for d in allowed_data_dirs()]
    with gr.Row():
        source = gr.Radio(["upload", "server folder"], value="upload", label="Photos")
        uploads = gr.File(file_count="multiple", file_types=["image"], label="Upload photos", type="filepath")
        folder = gr.Dropdown(dirs, value=dirs[0] if dirs else None, label="Server folder (NPP_DATA_DIRS)")
        proxy = gr.Dropdown([SHIPPED], value=SHIPPED, label="Proxy for NPP training", allow_custom_value=True,
                            info="shipped, or a finished proxy job", elem_id="proxy-choice")
    with gr.Row():
        start = gr.Button("Start job", variant="primary", elem_id="start-job")
        job_id = gr.Textbox(None, label="Job shown (cancel / resume act on it)", elem_id="job-id")
        cancel = gr.Button("Cancel job", variant="stop", elem_id="cancel-job")
        resume = gr.Button("Resume job", elem_id="resume-job")
    progress = gr.HTML(progress_html(None))
    loss = gr.LinePlot(x="step", y="loss", title="loss")
    tail = gr.Textbox(label="log tail", lines=8, max_lines=8, interactive=False)
    queue = gr.Dataframe(label="jobs on this server", interactive=False)
    timer = gr.Timer(1.0, active=False)  # ticks only while this session's job is queued or running
    # The owner token of this browser's jobs: kept in localStorage, so a reload or a server restart
    # (with the same NPP_BROWSER_SECRET) still controls the jobs it started; other sessions cannot.
    owner = gr.BrowserState("", storage_key="npp-job-owner", secret=services.browser_secret)

    @user_errors
    def start_job(kind_value, codec_name, qps_text, n_steps, lr_value, source_value, upload_paths, folder_value,
                  proxy_choice, token):
        token = token or new_token()
        job_dir = services.jobs.new_job_dir()
        try:
            if source_value == "server folder":
                photos = resolve_data_dir(folder_value)
            else:
                photos = copy_uploads([str(uploaded_file(u)) for u in (upload_paths or [])], job_dir / "photos")
            kind_cli = "train-proxy" if kind_value.startswith("proxy") else "train"
            proxies = services.jobs.checkpoints("train-proxy")
            if proxy_choice not in (None, SHIPPED) and proxy_choice not in proxies:
                raise NppError(f"unknown proxy {proxy_choice!r}: pick 'shipped' or a finished proxy job")
            args = training_args(kind_cli, photos, job_dir, codec=codec_name, qps=qps_text, steps=int(n_steps),
                                 lr=float(lr_value), proxy=proxies.get(proxy_choice))
            job = services.jobs.submit(kind_cli, args, job_dir, token=token,
                                       title=f"{kind_cli} {codec_name} {int(n_steps)} steps", steps=int(n_steps))
        except NppError:
            shutil.rmtree(job_dir, ignore_errors=True)
            raise
        return job.id, token, gr.Timer(active=True)

    @user_errors
    def cancel_job(value, token):
        if not value:
            raise NppError("No job to cancel.")
        services.jobs.cancel(str(value).strip(), token)

    @user_errors
    def resume_job(value, token):
        if not value:
            raise NppError("No job to resume.")
        return services.jobs.resume(str(value).strip(), token).id, gr.Timer(active=True)

    def latest(token):
        """On page load: this browser's latest job (e.g. one re-attached after a restart)."""
        mine = services.jobs.jobs(token) if token else []
        job = mine[-1] if mine else None
        return (job.id if job else None), gr.Timer(active=job is not None)

    def poll(value, token):
        job = None
        if value:
            try:
                job = services.jobs.get(str(value).strip())
            except NppError:
                job = None
        losses = job.progress()["losses"] if job else []
        rows = [[j.id, j.kind, j.title, j.state, "yes" if j.owned_by(token) else ""] for j in services.jobs.jobs()]
        running = job is not None and job.state in ("queued", "running")
        return (progress_html(job), pd.DataFrame(losses, columns=["step", "loss"]), job.output_tail() if job else "",
                pd.DataFrame(rows, columns=["job", "kind", "what", "state", "yours"]), gr.Timer(active=running))

    proxy.focus(lambda v: gr.update(choices=checkpoint_choices(services.jobs, "train-proxy"),
                                    value=v if v in checkpoint_choices(services.jobs, "train-proxy") else SHIPPED),
                [proxy], [proxy], api_visibility="private")
    start.click(start_job, [kind, codec, qps, steps, lr, source, uploads, folder, proxy, owner], [job_id, owner, timer],
                api_name="start_job")
    cancel.click(cancel_job, [job_id, owner], None, api_name="cancel_job")
    resume.click(resume_job, [job_id, owner], [job_id, timer], api_name="resume_job")
    job_id.submit(lambda _: gr.Timer(active=True), [job_id], [timer], api_visibility="private")
    timer.tick(poll, [job_id, owner], [progress, loss, tail, queue, timer], api_visibility="private",
               show_progress="hidden", queue=False)
    return lambda demo: demo.load(latest, [owner], [job_id, timer], api_visibility="private")
