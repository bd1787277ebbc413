"""What every page of the app shares: turning uploads into photos safely, choices for menus,
and one way to report errors (a visible one-line message, one log line, never a traceback in
the page or a server path in a message)."""
from __future__ import annotations

import functools
import inspect
import logging
from pathlib import Path
from typing import Callable, List, Optional

import gradio as gr

from npp.codecs import create_codec, list_codecs
from npp.errors import NppError
from npp.ui.services import ASSETS

log = logging.getLogger("npp.app")
SHIPPED = "shipped"


def uploaded_file(path: object) -> Path:
    """The path of a file Gradio received as an upload (or an example photo). An API client
    can send a bare server path instead of uploading; that is refused, so a request can never
    make the app read a file of the server's."""
    if path is None:
        raise NppError("Upload a photo or pick an example first.")
    p = Path(str(path)).resolve()
    roots = (Path(gr.utils.get_upload_folder()).resolve(), ASSETS.resolve())
    if not any(p.is_relative_to(r) for r in roots):
        raise NppError(f"{p.name}: not an uploaded file")
    return p


def user_errors(fn: Callable) -> Callable:
    """Run an event handler (a function or a generator that yields partial results); a user
    error (NppError) becomes a visible one-line message and one log line, anything else a
    generic message (the log keeps the traceback)."""

    def translate(exc: Exception) -> gr.Error:
        if isinstance(exc, NppError):
            log.info("%s: %s", fn.__name__, exc)
            return gr.Error(str(exc), print_exception=False)
        log.error("%s failed", fn.__name__, exc_info=exc)
        return gr.Error(f"internal error ({type(exc).__name__}); see the server log")

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:
                raise translate(exc) from None

        return generator

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:
            raise translate(exc) from None

    return wrapper


def codec_choices() -> List[tuple]:
    """(label, value) pairs; an unavailable codec keeps its name but its label says why."""
    out = []
    for name in list_codecs():
        ok, reason = create_codec(name).availability()
        out.append((name if ok else f"{name} (unavailable: {reason})", name))
    return out


def default_codec() -> str:
    names = [v for label, v in codec_choices() if label == v]
    return "bpg" if "bpg" in names else names[0]


def checkpoint_choices(jobs, kind: str) -> List[str]:
    return [SHIPPED] + (list(jobs.checkpoints(kind)) if jobs else [])


def checkpoint_path(jobs, kind: str, choice: Optional[str]) -> Optional[Path]:
    """None for the shipped weights, else the checkpoint of a finished Train-tab job (by label)."""
    if not choice or choice == SHIPPED:
        return None
    ckpts = jobs.checkpoints(kind) if jobs else {}
    if choice not in ckpts:
        raise NppError(f"unknown weights {choice!r}: pick 'shipped' or a finished training job")
    return ckpts[choice]
