"""The Train tab: real `npp train` / `npp train-proxy` processes in the background (one at a
time per server, others queue), started from a preset (fine-tune the shipped NPP or proxy with
their own recipe) or custom settings; their live progress (state, ETA, bits saved and KL
curves, the log), a table of the server's jobs, and one click to use finished weights in
Compare.

Which jobs a visitor may act on is decided in one place, `SessionJobs`: a browser keeps an
owner token (gr.BrowserState, encrypted with the server's browser secret), the runner stores only
its hash, and a visitor acts only on jobs that token owns. A reload or a server restart keeps the
token, so the page shows and still controls the browser's latest job (re-attached if it ran on)."""
from __future__ import annotations

import html
import shutil
import statistics
import time
from typing import Callable, List, Optional

import gradio as gr

from npp.codecs import list_codecs
from npp.errors import NppError
from npp.jobs import allowed_data_dirs, copy_uploads, new_token, resolve_data_dir, training_args
from npp.ui.common import SHIPPED, checkpoint_choices, default_codec, uploaded_file, user_errors
from npp.ui.compare_tab import Controls
from npp.ui.services import Services
from npp.ui.train_presets import PRESETS, fit_crop, preset_args, preset_fields
from npp.visualize import plot_training

KIND_LABELS = {"train": "NPP training", "train-proxy": "proxy fine-tuning"}
ACTIVE = ("queued", "running")


class SessionJobs:
    """The page's only contact with job identities and ownership (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def get(self, ref: Optional[str]):
        if not ref:
            return None
        try:
            return self.services.jobs.get(str(ref))
        except NppError:
            return None

    def check(self, ref: Optional[str], token: Optional[str], what: str):
        """The job `ref` if this browser's token owns it, else a one-line error."""
        job = self.get(ref)
        if job is None or not job.owned_by(token):
            raise NppError(f"No job of yours to {what}: start one first.")
        return job

    def cancel(self, ref: str, token: str) -> None:
        self.services.jobs.cancel(self.check(ref, token, "cancel").id, token)

    def resume(self, ref: str, token: str):
        return self.services.jobs.resume(self.check(ref, token, "resume").id, token)

    def latest(self, token: Optional[str]):
        """This browser's newest job (e.g. one re-attached after a server restart), or None."""
        mine = self.services.jobs.jobs(token) if token else []
        return mine[-1] if mine else None


def _clock(t: Optional[float]) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else ""


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"


def seconds_per_step(records: List[dict]) -> Optional[float]:
    times = [r["step_s"] for r in records[-20:] if isinstance(r.get("step_s"), (int, float))]
    return statistics.median(times) if times else None


def eta(job, records: List[dict]) -> Optional[float]:
    """Seconds left: the steps to go at the median time of the recent steps."""
    per = seconds_per_step(records)
    if job.state != "running" or per is None or not job.steps:
        return None
    return max(0.0, (job.steps - records[-1]["step"]) * per)


def progress_html(job, records: List[dict]) -> str:
    """The shown job's state line: starting, step n of N with ETA, or how it ended."""
    if job is None:
        return "<div id='job-progress' data-state='none' data-step='0'>No job started in this session.</div>"
    step = records[-1]["step"] if records else 0
    steps = job.steps or 0
    if job.state == "queued":
        line = "starting: in the queue (one job runs at a time on this server)"
    elif job.state == "running" and not records:
        line = "starting: loading the models and photos (the first steps take longest)"
    elif job.state == "running":
        left = eta(job, records)
        per = seconds_per_step(records)
        line = (f"step {step} of {steps} &middot; {per:.1f} s a step &middot; about "
                f"{_duration(left)} left" if left is not None else f"step {step} of {steps}")
    elif job.state == "done":
        line = f"done: {step} steps in {_duration((job.ended or 0) - (job.started or 0))}"
    else:
        line = f"{job.state} at step {step}" + (f": {html.escape(job.error)}" if job.error else "")
    if job.reattached:
        line += " <i>(re-attached after a server restart: progress from its log; cancel still stops it)</i>"
    pct = 100.0 if job.state == "done" else (100.0 * step / steps if steps else 0.0)
    state = "starting" if job.state in ACTIVE and not records else job.state
    return (f"<div id='job-progress' data-state='{job.state}' data-phase='{state}' data-step='{step}'>"
            f"<b>{html.escape(job.label)}</b>: {line}<br>"
            f"<progress max='100' value='{pct:.1f}' style='width:100%'></progress></div>")


#: lines of the log shown: the box holds them all, so its end is always in view
LOG_LINES = 12


def log_lines(job, records: List[dict]) -> str:
    """The log's tail: one readable line per logged step, then the process's own last lines when
    it failed or has not logged a step yet (the error, or what it is loading); newest last."""
    out = []
    for r in records[-LOG_LINES:]:
        parts = [f"step {r['step']}/{job.steps or '?'}"]
        if isinstance(r.get("loss"), (int, float)):
            parts.append(f"loss {r['loss']:.4f}")
        if isinstance(r.get("bpp_saved_pct"), (int, float)):
            parts.append(f"bits saved {r['bpp_saved_pct']:.1f}%")
        if isinstance(r.get("d_machine"), (int, float)) and isinstance(r.get("plain_d_machine"), (int, float)):
            parts.append(f"KL {r['d_machine']:.3f} (plain {r['plain_d_machine']:.3f})")
        if isinstance(r.get("step_s"), (int, float)):
            parts.append(f"{r['step_s']:.2f} s")
        out.append(" · ".join(parts))
    if job.state not in ("running", "done") or not records:
        tail = [ln.rsplit("\r", 1)[-1] for ln in job.output_tail(8).splitlines()]
        out += [ln for ln in tail if ln.strip()]
    return "\n".join(out[-LOG_LINES:])


def jobs_table(jobs, token: Optional[str]) -> str:
    """Every job on this server: name, state, times; this session's marked."""
    rows = []
    for j in reversed(jobs):
        recs = j.records() if j.state == "running" else []
        left = eta(j, recs) if recs else None
        ran = ((j.ended or time.time()) - j.started) if j.started else None
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in (
            html.escape(j.label) + (" <b>(yours)</b>" if j.owned_by(token) else ""),
            KIND_LABELS.get(j.kind, j.kind), j.state, _clock(j.started), _duration(ran),
            _duration(left) if left is not None else "")) + "</tr>")
    if not rows:
        return "<p>No jobs on this server yet.</p>"
    head = "".join(f"<th>{h}</th>" for h in ("job", "kind", "state", "started", "ran for", "time left"))
    return (f"<div class='scroll-x'><table class='npp-table jobs' id='jobs-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def build(services: Services, c: Controls, tabs: gr.Tabs) -> Optional[Callable[[gr.Blocks], None]]:
    """Lay out the tab; returns what the page must run on load (show this browser's latest job)."""
    if not services.training:
        gr.Markdown("**Training is switched off on this public server.** Run the app on your own machine "
                    "to train.", elem_id="train-off")
        return None
    sj = SessionJobs(services)
    gr.Markdown("Run a real training job in the background (the same `npp train` / `npp train-proxy` command as on "
                "the command line). One job runs at a time on this server; others wait. Cancel and resume act on "
                "the jobs you started. A finished NPP job's weights can be used in **Compare** with one click.")
    first = preset_fields(PRESETS[0].label)
    preset = gr.Radio([p.label for p in PRESETS], value=PRESETS[0].label, label="Preset", elem_id="train-preset")
    what = gr.Markdown(first["what"], elem_id="preset-what")
    with gr.Row():
        kind = gr.Radio([("NPP training", "train"), ("proxy fine-tuning", "train-proxy")], value=first["kind"],
                        label="Job", elem_id="train-kind")
        codec = gr.Dropdown(list_codecs(), value=default_codec(), label="Codec in the loop")
        qps = gr.Textbox(first["qps"], label="QPs", elem_id="train-qps")
        steps = gr.Number(first["steps"], label="Steps", precision=0, minimum=1, elem_id="train-steps")
        lr = gr.Number(first["lr"], label="Learning rate", minimum=0, elem_id="train-lr")
    dirs = [str(d) for d in allowed_data_dirs()]
    with gr.Row():
        source = gr.Radio(["upload", "server folder"], value="upload", label="Photos")
        uploads = gr.File(file_count="multiple", file_types=["image"], label="Upload photos", type="filepath",
                          elem_id="train-uploads")
        folder = gr.Dropdown(dirs, value=dirs[0] if dirs else None, label="Server folder (NPP_DATA_DIRS)")
        proxy = gr.Dropdown([SHIPPED], value=SHIPPED, label="Proxy for NPP training", allow_custom_value=True,
                            info="shipped, or a finished proxy job", elem_id="proxy-choice")
    with gr.Row():
        start = gr.Button("Start job", variant="primary", elem_id="start-job")
        cancel = gr.Button("Cancel my job", variant="stop", elem_id="cancel-job")
        resume = gr.Button("Resume my job", elem_id="resume-job")
        use = gr.Button("Use these weights in Compare", elem_id="use-weights", visible=False)
    progress = gr.HTML(progress_html(None, []), elem_id="job-status")
    curves = gr.Image(label="live curves (every 10 steps)", elem_id="train-curves", interactive=False,
                      buttons=["download"], height=300)
    tail = gr.Textbox(label="log (newest last)", lines=LOG_LINES, max_lines=LOG_LINES, interactive=False,
                      autoscroll=True, elem_id="train-log")
    table = gr.HTML(lambda: jobs_table(services.jobs.jobs(), None), elem_id="jobs")  # on each page load
    shown = gr.State(None)
    plotted = gr.State(None)  # (job ref, records plotted), so the plot is redrawn only when the log grew
    timer = gr.Timer(1.0, active=False)  # ticks only while this session's job is queued or running
    # The owner token of this browser's jobs: kept in localStorage, so a reload or a server restart
    # (with the same NPP_BROWSER_SECRET) still controls the jobs it started; other sessions cannot.
    owner = gr.BrowserState("", storage_key="npp-job-owner", secret=services.browser_secret)

    def on_preset(label):
        f = preset_fields(label)
        return f["kind"], f["steps"], f["lr"], f["qps"], f["what"]

    @user_errors
    def start_job(preset_label, kind_value, codec_name, qps_text, n_steps, lr_value, source_value, upload_paths,
                  folder_value, proxy_choice, token):
        token = token or new_token()
        job_dir = services.jobs.new_job_dir()
        try:
            if source_value == "server folder":
                photos = resolve_data_dir(folder_value)
            else:
                photos = copy_uploads([str(uploaded_file(u)) for u in (upload_paths or [])], job_dir / "photos")
            proxies = services.jobs.checkpoints("train-proxy")
            if proxy_choice not in (None, SHIPPED) and proxy_choice not in proxies:
                raise NppError(f"unknown proxy {proxy_choice!r}: pick 'shipped' or a finished proxy job")
            args = training_args(kind_value, photos, job_dir, codec=codec_name, qps=qps_text, steps=int(n_steps),
                                 lr=float(lr_value), proxy=proxies.get(proxy_choice))
            extra = preset_args(preset_label, codec_name)
            preset_kind = next(p.kind for p in PRESETS if p.label == preset_label)
            note = ""
            if extra and preset_kind == kind_value:
                extra, note = fit_crop(extra, photos)
                args += extra
            what = "fine-tune" if extra and preset_kind == kind_value else "new"
            title = f"{what} {'NPP' if kind_value == 'train' else 'proxy'}, {codec_name}, {int(n_steps)} steps"
            title += f" ({note})" if note else ""
            job = services.jobs.submit(kind_value, args, job_dir, token=token, title=title, steps=int(n_steps))
        except NppError:
            shutil.rmtree(job_dir, ignore_errors=True)
            raise
        return (job.id, token, progress_html(job, []), jobs_table(services.jobs.jobs(), token), "",
                gr.Button(visible=False), gr.Timer(active=True))

    @user_errors
    def cancel_job(ref, token):
        sj.cancel(ref, token)
        return gr.Timer(active=True)

    @user_errors
    def resume_job(ref, token):
        return sj.resume(ref, token).id, gr.Timer(active=True)

    def latest(token):
        """On page load: this browser's latest job (e.g. one re-attached after a restart)."""
        job = sj.latest(token)
        return (job.id if job else None), gr.Timer(active=job is not None)

    def poll(ref, token, last_plot):
        job = sj.get(ref)
        records = [r for r in job.records() if "step" in r] if job else []
        out = {progress: progress_html(job, records), tail: log_lines(job, records) if job else "",
               table: jobs_table(services.jobs.jobs(), token),
               timer: gr.Timer(active=job is not None and job.state in ACTIVE)}
        if job is not None and records and last_plot != (ref, len(records)):
            out[curves] = str(plot_training(records, services.files.new_dir() / "training.png", job.steps))
            out[plotted] = (ref, len(records))
        done_npp = job is not None and job.state == "done" and job.checkpoint() is not None
        out[use] = gr.Button(visible=done_npp, value="Use these weights in Compare" if job is not None and
                             job.kind == "train" else "Use as the proxy for NPP training")
        return out

    @user_errors
    def use_weights(ref, token):
        job = sj.check(ref, token, "use")
        if job.checkpoint() is None:
            raise NppError(f"{job.label} has no finished weights yet")
        if job.kind == "train-proxy":
            return {proxy: gr.Dropdown(choices=checkpoint_choices(services.jobs, "train-proxy"), value=job.label)}
        return {c.weights: gr.Dropdown(choices=checkpoint_choices(services.jobs, "train"), value=job.label),
                c.settings: gr.Accordion(open=True), tabs: gr.Tabs(selected="compare")}

    preset.input(on_preset, [preset], [kind, steps, lr, qps, what], api_visibility="private", queue=False)
    proxy.focus(lambda v: gr.update(choices=checkpoint_choices(services.jobs, "train-proxy"),
                                    value=v if v in checkpoint_choices(services.jobs, "train-proxy") else SHIPPED),
                [proxy], [proxy], api_visibility="private")
    start.click(start_job, [preset, kind, codec, qps, steps, lr, source, uploads, folder, proxy, owner],
                [shown, owner, progress, table, tail, use, timer], api_name="start_job")
    cancel.click(cancel_job, [shown, owner], [timer], api_name="cancel_job")
    resume.click(resume_job, [shown, owner], [shown, timer], api_name="resume_job")
    timer.tick(poll, [shown, owner, plotted], {progress, tail, table, timer, curves, plotted, use},
               api_visibility="private", show_progress="hidden", queue=False)
    used = use.click(use_weights, [shown, owner], {proxy, c.weights, c.settings, tabs}, api_visibility="private")
    c.start(used)
    return lambda demo: demo.load(latest, [owner], [shown, timer], api_visibility="private")
