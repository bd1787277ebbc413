"""`npp compress` and `npp decompress`: a method and a real codec in one command, and the
receiver's side of it. `compress` writes the real codec file (for `plain`, exactly what
`npp encode` writes); `decompress` decodes such a file and applies the method's receiver step
(upscaling for `down` and `resize`), which needs the original size for `resize`."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from npp.commands.common import expand_inputs, output_paths, print_json
from npp.errors import NppError


def run_compress(args: argparse.Namespace) -> int:
    from npp.codecs import check_qp, codec_from_args
    from npp.fsutil import atomic_write_bytes
    from npp.image import load_rgb
    from npp.methods import code, create_method

    qp = check_qp(args.qp)
    method = create_method(args.method)
    codec = codec_from_args(args)
    ok, reason = codec.availability()
    if not ok:
        raise NppError(f"codec {args.codec} is not available here: {reason}")
    inputs = expand_inputs(args.inputs)
    for src, dst in zip(inputs, output_paths(inputs, args.output, codec.extension)):
        coded = code(method, codec, load_rgb(src), qp)
        atomic_write_bytes(dst, coded.data)
        row = {"input": str(src), "output": str(dst), "method": method.name, "codec": codec.name, "qp": qp,
               "width": coded.width, "height": coded.height, "bytes": coded.nbytes, "bpp": coded.bpp,
               "encode_ms": round(coded.encode_ms, 3), **codec.options()}
        if args.json:
            print_json(row)
        else:
            print(f"{src} -> {dst}: {method.name}, {coded.nbytes} bytes, {coded.bpp:.4f} bpp of {coded.width}x"
                  f"{coded.height}")
    return 0


def parse_size(text: str) -> tuple:
    """"640x480" -> (480, 640) as (height, width)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m or not int(m.group(1)) or not int(m.group(2)):
        raise NppError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 640x480")
    return int(m.group(2)), int(m.group(1))


def run_decompress(args: argparse.Namespace) -> int:
    from npp.codecs import codec_suffixes, create_codec, detect_codec
    from npp.image import save_png
    from npp.methods import create_method

    method = create_method(args.method)
    size = parse_size(args.size) if args.size else None
    inputs = expand_inputs(args.inputs, suffixes=codec_suffixes())
    for src, dst in zip(inputs, output_paths(inputs, args.output, ".png")):
        data = Path(src).read_bytes()
        try:
            decoded = create_codec(detect_codec(data)).decode(data)
        except NppError as exc:
            raise NppError(f"{src}: {exc}") from None
        shape = size or method.original_shape(decoded.shape)
        if shape is None:
            raise NppError(f"method {method.name}: give the original size with --size WIDTHxHEIGHT "
                           "(`npp compress --json` prints it)")
        rgb = method.restore(decoded, shape)
        save_png(rgb, dst)
        row = {"input": str(src), "output": str(dst), "method": method.name,
               "width": int(rgb.shape[1]), "height": int(rgb.shape[0])}
        if args.json:
            print_json(row)
        else:
            print(f"{src} -> {dst}: {rgb.shape[1]}x{rgb.shape[0]}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from npp.codecs import add_codec_arguments, list_codecs
    from npp.methods import list_methods

    p = sub.add_parser("compress", help="a method (plain, npp, blur, down, resize, ...) and a real codec: "
                                        "writes the codec file")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    p.add_argument("--method", default="plain", help=f"what to do before the codec: {', '.join(list_methods())} "
                                                     "(default plain)")
    p.add_argument("--codec", required=True, choices=list_codecs())
    p.add_argument("--qp", required=True, help="0..51, bpgenc's meaning")
    add_codec_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    p.set_defaults(func=run_compress)

    p = sub.add_parser("decompress", help="decode a codec file and apply the method's receiver step (PNG out)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="codec files or folders")
    p.add_argument("-o", "--output", required=True, help="output PNG (one input) or folder")
    p.add_argument("--method", default="plain", help="the method the file was compressed with (default plain)")
    p.add_argument("--size", help="the original WIDTHxHEIGHT (needed for resize:SIDE; down:F infers it)")
    p.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    p.set_defaults(func=run_decompress)
