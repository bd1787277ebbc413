"""`npp info`: what can run here (codecs, models, NPP) and why not."""
from __future__ import annotations

import argparse
import json

from npp.commands.common import print_json


def _models() -> dict:
    from npp.vision import list_models, model_spec

    models = {}
    for name in list_models():
        spec = model_spec(name)
        ok, reason = spec.status()
        models[name] = {"task": spec.task, "available": ok, "reason": reason,
                        "description": spec.description, "licence": spec.licence}
    return models


def collect() -> dict:
    from npp.codecs import create_codec, list_codecs

    codecs = {}
    for name in list_codecs():
        codec = create_codec(name)
        ok, reason = codec.availability()
        codecs[name] = {"available": ok, "reason": reason, "extension": codec.extension,
                        "options": codec.options()}
    from npp.commands.evaluate import info_section

    return {"codecs": codecs, "models": _models(), **npp_section(), "app": app_info(), "evaluate": info_section()}


def npp_section() -> dict:
    """NPP: the paper architecture's parameter count and the shipped weights, if any."""
    from npp.nn.checkpoint import load_weights
    from npp.nn.zoo import SHIPPED_NPP, SHIPPED_PROXY, npp_params

    shipped = {}
    for kind, path in (("npp", SHIPPED_NPP), ("proxy", SHIPPED_PROXY)):
        if path.is_file():
            _, config, meta = load_weights(path, kind)
            shipped[kind] = {"file": path.name, "config": config, "steps": meta.get("steps")}
        else:
            shipped[kind] = None
    return {"npp_params": npp_params(), "npp_weights": shipped}


def app_info() -> dict:
    """The app's limits and settings as this environment configures them."""
    from npp.hosting import download_allowed, public_mode, space_id, zero_gpu
    from npp.jobs import allowed_data_dirs
    from npp.pipeline import APP_MAX_PIXELS, APP_MIN_SIDE

    return {"max_pixels": APP_MAX_PIXELS, "min_side": APP_MIN_SIDE, "public": public_mode(),
            "training": not public_mode(), "data_dirs": [str(d) for d in allowed_data_dirs()],
            "space": space_id(), "zero_gpu": zero_gpu(), "downloads": download_allowed()}


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        print_json(info)
    else:
        print(json.dumps(info, indent=2))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="list codecs and models and whether each can run here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
