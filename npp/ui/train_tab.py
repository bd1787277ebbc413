"""The Train tab: real `npp train` / `npp train-proxy` processes in the background (one at a
time per server, others queue), started from a preset (fine-tune the shipped NPP or proxy with
their own recipe) or custom settings; their live progress (state, ETA, bits saved and KL
curves, the log), a table of the server's jobs, and one click to use finished weights in
Compare.

Which jobs a visitor may act on is decided in one place, `SessionJobs`: it turns a job into
the reference the page keeps and back. Today a reference is the runner's job id and a session
acts only on jobs it started; when the runner hands out owner tokens, only `SessionJobs`
changes."""
from __future__ import annotations

import html
import shutil
import statistics
import time
from typing import List, Optional

import gradio as gr

from npp.codecs import list_codecs
from npp.errors import NppError
from npp.jobs import allowed_data_dirs, copy_uploads, resolve_data_dir, training_args
from npp.ui.common import SHIPPED, checkpoint_choices, default_codec, uploaded_file, user_errors
from npp.ui.compare_tab import Controls
from npp.ui.services import Services
from npp.ui.train_presets import PRESETS, fit_crop, preset_args, preset_fields
from npp.visualize import plot_training

KIND_LABELS = {"train": "NPP training", "train-proxy": "proxy fine-tuning"}
ACTIVE = ("queued", "running")


class SessionJobs:
    """The page's only contact with job identities (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def ref(self, job) -> str:
        return str(job.id)

    def get(self, ref: Optional[str]):
        if not ref:
            return None
        try:
            return self.services.jobs.get(int(ref))
        except (NppError, ValueError):
            return None

    def check(self, ref: Optional[str], mine: List[str], what: str):
        """The job `ref` if this session started it, else a one-line error."""
        job = self.get(ref)
        if job is None or ref not in (mine or []):
            raise NppError(f"No job of yours to {what}: start one first.")
        return job

    def cancel(self, ref: str, mine: List[str]) -> None:
        self.services.jobs.cancel(self.check(ref, mine, "cancel").id)

    def resume(self, ref: str, mine: List[str]):
        return self.services.jobs.resume(self.check(ref, mine, "resume").id)


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


def jobs_table(jobs, mine: List[str], refs) -> str:
    """Every job on this server: name, state, times; this session's marked."""
    rows = []
    for j in reversed(jobs):
        recs = j.records() if j.state == "running" else []
        left = eta(j, recs) if recs else None
        ran = ((j.ended or time.time()) - j.started) if j.started else None
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in (
            html.escape(j.label) + (" <b>(yours)</b>" if refs(j) in (mine or []) else ""),
            KIND_LABELS.get(j.kind, j.kind), j.state, _clock(j.started), _duration(ran),
            _duration(left) if left is not None else "")) + "</tr>")
    if not rows:
        return "<p>No jobs on this server yet.</p>"
    head = "".join(f"<th>{h}</th>" for h in ("job", "kind", "state", "started", "ran for", "time left"))
    return (f"<div class='scroll-x'><table class='npp-table jobs' id='jobs-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def build(services: Services, c: Controls, tabs: gr.Tabs) -> None:
    if not services.training:
        gr.Markdown("**Training is switched off on this public server.** Run the app on your own machine "
                    "to train.", elem_id="train-off")
        return
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
    table = gr.HTML(lambda: jobs_table(services.jobs.jobs(), [], sj.ref), elem_id="jobs")  # on each page load
    mine = gr.State([])
    shown = gr.State(None)
    plotted = gr.State(None)  # (job ref, records plotted), so the plot is redrawn only when the log grew
    timer = gr.Timer(1.0, active=False)  # ticks only while this session's job is queued or running

    def on_preset(label):
        f = preset_fields(label)
        return f["kind"], f["steps"], f["lr"], f["qps"], f["what"]

    @user_errors
    def start_job(preset_label, kind_value, codec_name, qps_text, n_steps, lr_value, source_value, upload_paths,
                  folder_value, proxy_choice, mine_refs):
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
            job = services.jobs.submit(kind_value, args, job_dir, title=title, steps=int(n_steps))
        except NppError:
            shutil.rmtree(job_dir, ignore_errors=True)
            raise
        ref = sj.ref(job)
        refs = list(mine_refs or []) + [ref]
        return (ref, refs, progress_html(job, []), jobs_table(services.jobs.jobs(), refs, sj.ref), "",
                gr.Button(visible=False), gr.Timer(active=True))

    @user_errors
    def cancel_job(ref, mine_refs):
        sj.cancel(ref, mine_refs)
        return gr.Timer(active=True)

    @user_errors
    def resume_job(ref, mine_refs):
        job = sj.resume(ref, mine_refs)
        new = sj.ref(job)
        return new, list(mine_refs or []) + [new], gr.Timer(active=True)

    def poll(ref, mine_refs, last_plot):
        job = sj.get(ref)
        records = [r for r in job.records() if "step" in r] if job else []
        out = {progress: progress_html(job, records), tail: log_lines(job, records) if job else "",
               table: jobs_table(services.jobs.jobs(), mine_refs, sj.ref),
               timer: gr.Timer(active=job is not None and job.state in ACTIVE)}
        if job is not None and records and last_plot != (ref, len(records)):
            out[curves] = str(plot_training(records, services.files.new_dir() / "training.png", job.steps))
            out[plotted] = (ref, len(records))
        done_npp = job is not None and job.state == "done" and job.checkpoint() is not None
        out[use] = gr.Button(visible=done_npp, value="Use these weights in Compare" if job is not None and
                             job.kind == "train" else "Use as the proxy for NPP training")
        return out

    @user_errors
    def use_weights(ref, mine_refs):
        job = sj.check(ref, mine_refs, "use")
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
    start.click(start_job, [preset, kind, codec, qps, steps, lr, source, uploads, folder, proxy, mine],
                [shown, mine, progress, table, tail, use, timer], api_name="start_job")
    cancel.click(cancel_job, [shown, mine], [timer], api_name="cancel_job")
    resume.click(resume_job, [shown, mine], [shown, mine, timer], api_name="resume_job")
    timer.tick(poll, [shown, mine, plotted], {progress, tail, table, timer, curves, plotted, use},
               api_visibility="private", show_progress="hidden", queue=False)
    used = use.click(use_weights, [shown, mine], {proxy, c.weights, c.settings, tabs}, api_visibility="private")
    c.start(used)
