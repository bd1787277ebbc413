"""`python -m npp <command>`: the command-line interface.

Each command group lives in its own module under `npp.commands` and exposes
`register(subparsers)`. Every failure the user can fix prints one line on stderr,
`npp <command>: error: ...`, and exits with status 2, without a traceback: usage errors
(argparse's own, which would otherwise print the whole usage block), NppError from any layer,
and files that cannot be written or read (permissions, a folder that is a file, a full disk)."""
from __future__ import annotations

import argparse
import errno
import importlib
import sys
from typing import NoReturn, Optional, Sequence

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


#: errors of the file system that are about the user's files or machine, not a bug
USER_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOENT,
                         errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP})


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser with usage errors on one line (`npp encode: error: argument --qp:
    invalid int value: 'abc'`) and exit status 2; `--help` is unchanged. Subparsers made by
    `add_subparsers` are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """As argparse's, but arguments no command knows are blamed on the command given."""
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            command = getattr(parsed, "command", None)
            prog = f"{self.prog} {command}" if command else self.prog
            self.exit(2, f"{prog}: error: unrecognized arguments: {' '.join(extra)}\n")
        return parsed


def os_error_line(exc: OSError) -> Optional[str]:
    """The one-line message for a file-system error about the user's files, None for others."""
    if exc.errno not in USER_ERRNOS and exc.filename is None:
        return None
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    return f"{exc.strerror or exc}: {where}" if where else str(exc.strerror or exc)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
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
    except BrokenPipeError:
        return 1
    except OSError as exc:
        line = os_error_line(exc)
        if line is None:
            raise
        print(f"npp {args.command}: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"npp {args.command}: interrupted", file=sys.stderr)
        return 130
