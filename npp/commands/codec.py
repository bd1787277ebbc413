"""`npp encode` and `npp decode`: real codec files from and to images."""
from __future__ import annotations

import argparse
from pathlib import Path

from npp.commands.common import expand_inputs, output_paths, print_json
from npp.errors import NppError


def codec_options(args: argparse.Namespace) -> dict:
    """The codec constructor options the user set on the command line."""
    opts = {}
    if args.codec == "bpg":
        opts = {"level": args.level, "chroma": args.chroma}
    elif args.codec == "vvc":
        opts = {"preset": args.preset}
    elif args.codec == "jpeg" and args.quality is not None:
        opts = {"quality": args.quality}
    return opts


def run_encode(args: argparse.Namespace) -> int:
    from npp.codecs import check_qp, create_codec
    from npp.fsutil import atomic_write_bytes
    from npp.image import load_rgb

    check_qp(args.qp)
    codec = create_codec(args.codec, **codec_options(args))
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

    from npp.codecs import create_codec, detect_codec
    from npp.image import save_png

    inputs = expand_inputs(args.inputs, suffixes={".bpg", ".jpg", ".jpeg", ".vvc", ".266"})
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
    from npp.codecs import list_codecs

    p = sub.add_parser("encode", help="encode images with a real codec at a QP")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    p.add_argument("--codec", required=True, choices=list_codecs())
    p.add_argument("--qp", type=int, required=True, help="0..51, bpgenc's meaning (default codecs: 37)")
    p.add_argument("--level", type=int, default=8, choices=range(1, 10), metavar="1..9",
                   help="bpg: bpgenc -m level (x265 preset ultrafast..placebo; default 8 = veryslow)")
    p.add_argument("--chroma", default="420", choices=["420", "444"], help="bpg: chroma format")
    p.add_argument("--preset", default="medium", choices=["faster", "fast", "medium", "slow", "slower"],
                   help="vvc: vvenc preset")
    p.add_argument("--quality", type=int, default=None, help="jpeg: raw quality 1..100 (overrides --qp)")
    p.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    p.set_defaults(func=run_encode)

    p = sub.add_parser("decode", help="decode .bpg/.jpg/.vvc files to PNG (codec recognised from content)")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-o", "--output", required=True, help="output PNG (one input) or folder")
    p.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    p.set_defaults(func=run_decode)
