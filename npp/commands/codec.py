"""`npp encode` and `npp decode`: real codec files from and to images."""
from __future__ import annotations

import argparse
from pathlib import Path

from npp.commands.common import expand_inputs, output_paths, print_json
from npp.errors import NppError


def run_encode(args: argparse.Namespace) -> int:
    from npp.codecs import check_qp, codec_from_args
    from npp.fsutil import atomic_write_bytes
    from npp.image import load_rgb

    check_qp(args.qp)
    codec = codec_from_args(args)
    ok, reason = codec.availability()
    if not ok:
        raise NppError(f"codec {args.codec} is not available here: {reason}")
    inputs = expand_inputs(args.inputs)
    for src, dst in zip(inputs, output_paths(inputs, args.output, codec.extension)):
        enc = codec.encode(load_rgb(src), args.qp)
        atomic_write_bytes(dst, enc.data)
        row = {
            "input": str(src),
            "output": str(dst),
            "codec": enc.codec,
            "qp": enc.qp,
            "width": enc.width,
            "height": enc.height,
            "bytes": enc.nbytes,
            "bpp": enc.bpp,
            "encode_ms": round(enc.encode_ms, 3),
            **enc.options,
        }
        if args.json:
            print_json(row)
        else:
            print(f"{src} -> {dst}: {enc.nbytes} bytes, {enc.bpp:.4f} bpp, {enc.encode_ms:.0f} ms")
    return 0


def run_decode(args: argparse.Namespace) -> int:
    import time

    from npp.codecs import codec_suffixes, create_codec, detect_codec
    from npp.image import save_png

    inputs = expand_inputs(args.inputs, suffixes=codec_suffixes())
    for src, dst in zip(inputs, output_paths(inputs, args.output, ".png")):
        data = Path(src).read_bytes()
        try:
            name = detect_codec(data)
            t0 = time.perf_counter()
            rgb = create_codec(name).decode(data)
            ms = (time.perf_counter() - t0) * 1000.0
        except NppError as exc:
            raise NppError(f"{src}: {exc}") from None
        save_png(rgb, dst)
        row = {"input": str(src), "output": str(dst), "codec": name,
               "width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "decode_ms": round(ms, 3)}
        if args.json:
            print_json(row)
        else:
            print(f"{src} ({name}) -> {dst}: {rgb.shape[1]}x{rgb.shape[0]}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from npp.codecs import add_codec_arguments, list_codecs

    p = sub.add_parser("encode", help="encode images with a real codec at a QP")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    p.add_argument("--codec", required=True, choices=list_codecs())
    p.add_argument("--qp", type=int, required=True, help="0..51, bpgenc's meaning (default codecs: 37)")
    add_codec_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    p.set_defaults(func=run_encode)

    p = sub.add_parser("decode", help="decode .bpg/.jpg/.vvc files to PNG (codec recognised from content)")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-o", "--output", required=True, help="output PNG (one input) or folder")
    p.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    p.set_defaults(func=run_decode)
