"""Real codecs behind one interface: `create_codec("bpg" | "jpeg" | "vvc", **options)`."""
from npp.codecs.base import (
    Codec,
    Encoded,
    check_qp,
    codec_class,
    create_codec,
    detect_codec,
    list_codecs,
    register_codec,
)
from npp.codecs import bpg, jpeg, vvc  # noqa: F401  (register "bpg", "jpeg", "vvc")

__all__ = [
    "Codec",
    "Encoded",
    "check_qp",
    "codec_class",
    "create_codec",
    "detect_codec",
    "list_codecs",
    "register_codec",
]
