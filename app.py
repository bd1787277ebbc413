"""npp's Gradio app (placeholder until the app issue lands): codec round trip on one photo."""
from __future__ import annotations

import gradio as gr
import numpy as np

from npp.codecs import create_codec, list_codecs


def compress(image: np.ndarray, codec: str, qp: int):
    if image is None:
        raise gr.Error("Upload an image first.")
    c = create_codec(codec)
    enc = c.encode(np.asarray(image, dtype=np.uint8)[..., :3], int(qp))
    return c.decode(enc.data), f"{enc.nbytes} bytes, {enc.bpp:.4f} bpp"


with gr.Blocks(title="npp") as demo:
    with gr.Row():
        inp = gr.Image(type="numpy", label="Photo")
        out = gr.Image(type="numpy", label="Decoded")
    codec = gr.Dropdown(list_codecs(), value=list_codecs()[0], label="Codec")
    qp = gr.Slider(0, 51, value=37, step=1, label="QP")
    stats = gr.Textbox(label="Size")
    gr.Button("Compress").click(compress, [inp, codec, qp], [out, stats], api_name="compress")

if __name__ == "__main__":
    demo.launch()
