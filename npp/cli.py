"""`python -m npp <command>`: the command-line interface.

Each command group lives in its own module under `npp.commands` and exposes
`register(subparsers)`. Failures the user can fix (NppError) print one line on stderr
and exit non-zero, without a traceback."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from npp import __version__
from npp.errors import NppError
from npp.runtime import tune_allocator

COMMAND_MODULES = [
    "npp.commands.codec",
    "npp.commands.compress",
    "npp.commands.info",
    "npp.commands.train",
    "npp.commands.vision",
    "npp.commands.evaluate",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="npp",
        description="Preprocessing-enhanced image compression for machine vision.",
    )
    parser.add_argument("--version", action="version", version=f"npp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    tune_allocator()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NppError as exc:
        print(f"npp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"npp {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
