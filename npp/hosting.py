"""Where npp runs, and the settings that follow from it.

A Hugging Face Space is public and reaches the internet, so there the defaults flip: public
mode (no training endpoints, small uploads) and torchvision weight downloads are on unless the
host says otherwise. Elsewhere (a laptop, a lab server, CI) both stay off unless asked for.
Each rule reads the environment when called, so tests and hosts can change it.

Variables (values 1/true/yes/on or 0/false/no/off; unset or empty means "the default here"):
- `NPP_PUBLIC`: 1 = public mode, 0 = training allowed even on a Space (the host's opt-in).
- `NPP_ALLOW_DOWNLOAD`: 1 = torchvision's weights may be downloaded, 0 = never.
A Space is recognised by `SPACE_ID` (the Hub sets it to "owner/name") or `SYSTEM=spaces`."""
from __future__ import annotations

import os
from typing import Optional

from npp.errors import NppError

PUBLIC_ENV = "NPP_PUBLIC"
ALLOW_DOWNLOAD_ENV = "NPP_ALLOW_DOWNLOAD"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def flag(name: str) -> Optional[bool]:
    """The boolean environment variable `name`, None when unset or empty. Anything else
    than the accepted words is a host's typo, refused rather than guessed."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise NppError(f"{name}={os.environ[name]!r}: use 1 or 0 (or leave it unset)")


def space_id() -> Optional[str]:
    """The Space's "owner/name" on a Hugging Face Space, else None."""
    sid = os.environ.get("SPACE_ID", "").strip()
    if sid:
        return sid
    return "unknown" if os.environ.get("SYSTEM", "").strip() == "spaces" else None


def on_space() -> bool:
    return space_id() is not None


def zero_gpu() -> bool:
    """True on ZeroGPU hardware (the Hub sets SPACES_ZERO_GPU, as the `spaces` package reads it)."""
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "t", "true")


def public_mode() -> bool:
    """No training, smaller uploads: NPP_PUBLIC when set, else on a Space only."""
    explicit = flag(PUBLIC_ENV)
    return on_space() if explicit is None else explicit


def public_reason() -> str:
    """Why public mode is on or off here, naming the variable that changes it."""
    explicit = flag(PUBLIC_ENV)
    if explicit is not None:
        return f"{PUBLIC_ENV}={'1' if explicit else '0'}"
    if on_space():
        return f"a Hugging Face Space; the host can set {PUBLIC_ENV}=0 to allow training"
    return f"not a Space; {PUBLIC_ENV}=1 switches training off"


def download_allowed() -> bool:
    """Whether torchvision may download weights: NPP_ALLOW_DOWNLOAD when set, else on a Space."""
    explicit = flag(ALLOW_DOWNLOAD_ENV)
    return on_space() if explicit is None else explicit


def summary() -> str:
    """One line on where the app runs and what that switched on or off (for the page and logs)."""
    if on_space():
        where = f"Hugging Face Space {space_id()}" + (" on ZeroGPU" if zero_gpu() else "")
    else:
        where = "a local server"
    training = "training off (public mode)" if public_mode() else "training on"
    downloads = ("the paper's torchvision models download on first use" if download_allowed()
                 else "torchvision models only from the local cache")
    return f"Running on {where}: {training}; {downloads}."
