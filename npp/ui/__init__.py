"""The Gradio app: `Services` (what the pages call, loaded lazily) and `build(services)`."""
from npp.ui.blocks import build
from npp.ui.services import Services

__all__ = ["Services", "build"]
