"""Real codecs behind one interface: `create_codec("bpg" | "jpeg" | "vvc", **options)`."""
from npp.codecs.qp import QP_MAX, QP_MIN, check_qp, parse_qps
from npp.codecs.base import (
    Codec,
    Encoded,
    add_codec_arguments,
    codec_class,
    codec_from_args,
    codec_suffixes,
    create_codec,
    detect_codec,
    list_codecs,
    register_codec,
)
from npp.codecs import bpg, jpeg, vvc  # noqa: F401  (register "bpg", "jpeg", "vvc")

__all__ = [
    "Codec",
    "Encoded",
    "add_codec_arguments",
    "codec_from_args",
    "codec_suffixes",
    "check_qp",
    "codec_class",
    "create_codec",
    "detect_codec",
    "list_codecs",
    "parse_qps",
    "QP_MAX",
    "QP_MIN",
    "register_codec",
]
