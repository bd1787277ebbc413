"""The Train tab's presets: jobs that start from the shipped weights with the recipe those
weights were trained with (read from their metadata, `meta["train"]`), so "fine-tune" means
what it says, and a custom job for everything else. Each preset gives the `npp train` /
`npp train-proxy` arguments added to the ones `npp.jobs.training_args` builds."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from npp.errors import NppError

#: recipe keys (as `npp train`'s config stores them) and the flags that set them; architecture
#: keys (width, lowpass, upsample) are not here: `--init` takes the architecture of the weights
_FLAGS = {"task": "--task", "model": "--model", "lambdas": "--lambdas", "beta": "--beta", "low_weight": "--low-weight",
          "keep_tone": "--keep-tone", "calibrate_rate": "--calibrate-rate", "log_rate": "--log-rate",
          "batch": "--batch", "crop": "--crop", "arch": "--arch", "max_side": "--max-side",
          "min_scale": "--min-scale", "degrade": "--degrade"}


@dataclass(frozen=True)
class Preset:
    label: str
    kind: str  # "train" or "train-proxy"
    steps: int
    #: start from the shipped weights with their recipe (False: the command's defaults)
    from_shipped: bool
    what: str


PRESETS = [
    Preset("fine-tune the shipped NPP (~2 min)", "train", 100, True,
           "continues the shipped NPP for 100 steps on your photos with its own recipe (batch 4 of 320 px crops, "
           "log-rate loss, lambda 3.3, keep-tone, calibrated rate); about 1 s a step on an idle 2-core CPU"),
    Preset("proxy fine-tune (~2 min)", "train-proxy", 100, True,
           "continues the shipped DCT proxy codec for 100 steps so its bits and pixels follow the real codec's on "
           "your photos"),
    Preset("custom", "train", 200, False, "the command's defaults: a new NPP (or proxy) from scratch"),
]
PRESET_BY_LABEL = {p.label: p for p in PRESETS}


def shipped(kind: str) -> Path:
    from npp.nn.zoo import SHIPPED_NPP, SHIPPED_PROXY

    return SHIPPED_NPP if kind == "train" else SHIPPED_PROXY


def recipe(kind: str) -> dict:
    """The training config stored in the shipped weights of `kind` ({} if they have none)."""
    from npp.nn.checkpoint import load_weights

    path = shipped(kind)
    if not path.is_file():
        raise NppError(f"no shipped weights at {path.name} to fine-tune")
    _, _, meta = load_weights(path, "npp" if kind == "train" else "proxy")
    return dict(meta.get("train") or {})


def recipe_args(kind: str, codec: str) -> List[str]:
    """`--init SHIPPED` plus the shipped recipe's flags; the recipe's codec options (e.g. BPG
    level 2) only where the chosen codec takes them."""
    from npp.codecs import create_codec

    r = recipe(kind)
    args = ["--init", str(shipped(kind))]
    for key, flag in _FLAGS.items():
        value = r.get(key)
        if value is None or value is False or (key == "keep_tone" and not value):
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, (list, tuple)):
            args += [flag, ",".join(map(str, value))]
        else:
            args += [flag, str(value)]
    options = r.get("codec_options") or {}
    if options:
        try:
            create_codec(codec, **options)
        except (NppError, TypeError, ValueError):
            options = {}
    for k, v in options.items():
        args += ["--codec-opt", f"{k}={v}"]
    return args


def preset_args(label: str, codec: str) -> Optional[List[str]]:
    """The extra arguments of a preset (None for a custom job)."""
    p = PRESET_BY_LABEL.get(label)
    if p is None:
        raise NppError(f"unknown preset {label!r}")
    return recipe_args(p.kind, codec) if p.from_shipped else None


def preset_fields(label: str) -> dict:
    """What choosing a preset puts in the form: kind, steps, and the recipe's learning rate and
    QPs (the command's defaults for a custom job)."""
    p = PRESET_BY_LABEL.get(label)
    if p is None:
        raise NppError(f"unknown preset {label!r}")
    r = recipe(p.kind) if p.from_shipped else {}
    default_qps = "28, 31, 34, 37, 41" if p.kind == "train" else "26-43"
    qps = [int(q) for q in r.get("qps") or []]
    if len(qps) > 2 and qps == list(range(qps[0], qps[-1] + 1)):
        text = f"{qps[0]}-{qps[-1]}"
    else:
        text = ", ".join(map(str, qps)) or default_qps
    return {"kind": p.kind, "steps": p.steps, "lr": float(r.get("lr") or (2e-4 if p.kind == "train" else 5e-4)),
            "qps": text, "what": p.what}


def fit_crop(args: List[str], photos: Path) -> tuple:
    """The recipe's crop size made to fit the smallest photo (the shipped recipe crops 320 px;
    a 451x300 photo needs a smaller crop): (args, note or "")."""
    from PIL import Image

    from npp.image import IMAGE_SUFFIXES

    if "--crop" not in args:
        return args, ""
    i = args.index("--crop") + 1
    crop = int(args[i])
    sides = []
    for p in Path(photos).rglob("*"):
        if p.suffix.lower() in IMAGE_SUFFIXES:
            try:
                with Image.open(p) as im:
                    sides.append(min(im.size))
            except OSError:
                continue  # the training command reports unreadable photos itself
    smallest = min(sides, default=crop)
    if smallest >= crop:
        return args, ""
    fitted = max(64, smallest // 32 * 32)
    out = list(args)
    out[i] = str(fitted)
    return out, f"crop {fitted} px: the smallest photo is {smallest} px"
