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

    return {"codecs": codecs, "models": _models(), "evaluate": info_section()}


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
