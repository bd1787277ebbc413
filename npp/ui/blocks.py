"""The whole page: `build(services)` lays out the tabs and wires them to `services`; it loads
no model (Gradio's reload mode and Spaces import the module that calls it)."""
from __future__ import annotations

import gradio as gr

from npp.ui import api, compare_tab, curves_tab, train_tab
from npp.ui.services import Services

TITLE = "npp: preprocessing-enhanced compression for machine vision"


def build(services: Services) -> gr.Blocks:
    with gr.Blocks(title=TITLE, delete_cache=(1800, 3600)) as demo:
        gr.Markdown(
            "# npp — what the codec keeps for the machine\n"
            "A small network (NPP, after Lu et al., *Preprocessing Enhanced Image Compression for Machine "
            "Vision*, IEEE TCSVT 2024) filters a photo before a standard codec so that a vision model keeps "
            "its answer at fewer bits. Compare it with the plain codec and with what anyone could do instead "
            "(blur, downscale, resize to the model's input): real files, real bits, real models.")
        with gr.Tab("Compare"):
            controls = compare_tab.build(services)
        with gr.Tab("Curves"):
            curves_tab.build(services, controls)
        with gr.Tab("Train"):
            on_load = train_tab.build(services)
        if on_load is not None:
            on_load(demo)
        api.register(services)
    return demo
