"""VVC (H.266) intra: libvvenc inside imageio-ffmpeg's ffmpeg, decoded by PyAV's VVC decoder.

The file is a raw Annex-B .266 stream that ffmpeg and other VVC decoders open directly. The
project converts RGB to 10-bit BT.601 full-range YCbCr 4:2:0 (centred chroma) itself, as for
BPG, and signals full range and the matrix in the VUI. vvenc codes intra pictures 3 QP lower
(IntraQPOffset=-3, pinned here; at QP < 3 down to 0, as x265 clamps), as x265 does for
bpgenc, so QP has bpgenc's meaning.
VVC cannot code an odd width or height in 4:2:0 and vvenc refuses sides under 16, so such
images are coded slightly larger (edges replicated) and a user-data SEI (34 bytes, part of the
counted file) records the true size for this decoder; other decoders show the extra samples.
"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from npp.codecs import colour
from npp.codecs.avstream import decode_picture, pyav_has
from npp.codecs.base import Codec, register_codec
from npp.codecs.bitstream import (BitReader, BitstreamError, add_emulation_prevention, nal_spans,
                                  remove_emulation_prevention)
from npp.errors import NppError
from npp.image import MAX_PIXELS

PRESETS = ("faster", "fast", "medium", "slow", "slower")
#: a vvenc run is killed after 120 s plus this many seconds per megapixel (several times what
#: each preset took on a loaded 2-core machine: medium about 35 s/MP)
TIMEOUT_S_PER_MP = {"faster": 30, "fast": 60, "medium": 150, "slow": 400, "slower": 1000}
NAL_PPS, NAL_PREFIX_SEI = 16, 23
SEI_USER_DATA_UNREGISTERED = 5
#: full-range BT.601, for the raw input (so ffmpeg converts nothing) and in the VUI
COLOUR_ARGS = ("-color_range", "pc", "-colorspace", "bt470bg")
#: vvenc refuses pictures smaller than this in either direction
MIN_SIDE = 16
#: ffmpeg's libvvenc wrapper gives the coded picture a buffer of width x height bytes, which
#: near-lossless QPs can overflow on detailed content
LOW_QP = 4
#: identifies the project's true-size SEI (a fixed, random UUID)
SIZE_SEI_UUID = bytes.fromhex("6e70702d73697a652d5ab1e3c0de5e10")

_probe_lock = threading.Lock()
_probe: Optional[tuple[bool, str]] = None


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise NppError(f"imageio-ffmpeg is not installed ({exc})") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def _probe_vvc() -> tuple[bool, str]:
    try:
        exe = ffmpeg_exe()
        out = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True,
                             timeout=60, check=False).stdout
    except (NppError, OSError, subprocess.TimeoutExpired) as exc:
        return False, f"ffmpeg from imageio-ffmpeg cannot run ({exc})"
    if "libvvenc" not in out:
        return False, "the ffmpeg from imageio-ffmpeg has no libvvenc (imageio-ffmpeg==0.8.1 has it)"
    return pyav_has("vvc")


def vvc_available() -> tuple[bool, str]:
    """(ok, reason), probed once per process."""
    global _probe
    with _probe_lock:
        if _probe is None:
            _probe = _probe_vvc()
        return _probe


def _size_sei(width: int, height: int) -> bytes:
    payload = SIZE_SEI_UUID + width.to_bytes(4, "big") + height.to_bytes(4, "big")
    rbsp = bytes([SEI_USER_DATA_UNREGISTERED, len(payload)]) + payload + b"\x80"
    return bytes([0, (NAL_PREFIX_SEI << 3) | 1]) + add_emulation_prevention(rbsp)


def _read_size_sei(stream: bytes) -> Optional[tuple[int, int]]:
    for s, e in nal_spans(stream):
        if e - s > 2 and stream[s + 1] >> 3 == NAL_PREFIX_SEI:
            rbsp = remove_emulation_prevention(stream[s + 2:e])
            if rbsp[:2] == bytes([SEI_USER_DATA_UNREGISTERED, 24]) and rbsp[2:18] == SIZE_SEI_UUID:
                return int.from_bytes(rbsp[18:22], "big"), int.from_bytes(rbsp[22:26], "big")
    return None


def coded_size(stream: bytes) -> Optional[tuple[int, int]]:
    """(width, height) from the first PPS of a VVC stream (its picture size follows the PPS's
    ids and one flag), None without one: read before decoding, so that a picture beyond the
    image limit is refused with its size instead of failing to allocate."""
    for s, e in nal_spans(stream):
        if e - s > 2 and stream[s + 1] >> 3 == NAL_PPS:
            r = BitReader(remove_emulation_prevention(stream[s + 2:e]))
            try:
                r.u(6 + 4 + 1)
                return r.ue(), r.ue()
            except BitstreamError as exc:
                raise NppError(f"corrupt VVC stream ({exc})") from None
    return None


def _insert_before_first_vcl(stream: bytes, nal: bytes) -> bytes:
    for s, _ in nal_spans(stream):
        if stream[s + 1] >> 3 <= 11:  # VCL NAL unit types 0..11
            return stream[: s - 3] + b"\x00\x00\x01" + nal + stream[s - 3:]
    raise NppError("vvenc wrote no picture")


def _at_least(planes: colour.Planes, side: int) -> colour.Planes:
    """4:2:0 planes padded (edges replicated) to at least side x side luma samples."""
    def pad(p: np.ndarray, n: int) -> np.ndarray:
        return np.pad(p, ((0, max(0, n - p.shape[0])), (0, max(0, n - p.shape[1]))), mode="edge")

    return pad(planes[0], side), pad(planes[1], side // 2), pad(planes[2], side // 2)


@register_codec("vvc")
class VvcCodec(Codec):
    extension = ".vvc"
    aliases = (".266",)

    def __init__(self, preset: str = "medium") -> None:
        if preset not in PRESETS:
            raise NppError(f"VVC preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        self.preset = preset

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--preset", default="medium", choices=list(PRESETS), help="vvc: vvenc preset")

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> Dict[str, object]:
        return {"preset": args.preset}

    def options(self) -> Dict[str, object]:
        return {"preset": self.preset}

    def availability(self) -> tuple[bool, str]:
        return vvc_available()

    def encode_bytes(self, rgb: np.ndarray, qp: int) -> bytes:
        h, w = rgb.shape[:2]
        planes = colour.pad_planes(_at_least(colour.rgb_to_planes(rgb, "420", 10), MIN_SIDE), 2, "420")
        ph, pw = planes[0].shape
        raw = b"".join(p.astype("<u2").tobytes() for p in planes)
        with tempfile.TemporaryDirectory(prefix="npp-vvc-") as tmp:
            out = Path(tmp) / "picture.266"
            cmd = [
                ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error",
                "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s:v", f"{pw}x{ph}", "-r", "25",
                *COLOUR_ARGS, "-i", "pipe:0", "-frames:v", "1",
                "-c:v", "libvvenc", "-preset", self.preset, "-qp", str(qp), "-qpa", "0",
                "-vvenc-params", f"GOPSize=1:IntraPeriod=1:IntraQPOffset={-min(3, qp)}",
                *COLOUR_ARGS, "-f", "vvc", "-y", str(out),
            ]
            timeout = 120 + TIMEOUT_S_PER_MP[self.preset] * pw * ph / 1e6
            try:
                proc = subprocess.run(cmd, input=raw, capture_output=True, timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                raise NppError(f"vvenc took longer than {timeout:.0f} s") from None
            if proc.returncode != 0 or not out.is_file():
                lines = proc.stderr.decode(errors="replace").strip().splitlines()
                msg = lines[-1] if lines else f"exit status {proc.returncode}"
                if qp <= LOW_QP:
                    msg += (f" (at QP <= {LOW_QP} a picture can need more than 8 bits per pixel, the most"
                            " ffmpeg's libvvenc wrapper can output: use a higher QP)")
                raise NppError(f"vvenc failed: {msg}")
            stream = out.read_bytes()
        if (pw, ph) != (w, h):
            stream = _insert_before_first_vcl(stream, _size_sei(w, h))
        return stream

    def decode(self, data: bytes) -> np.ndarray:
        ok, reason = vvc_available()
        if not ok:
            raise NppError(f"cannot decode VVC here: {reason}")
        if not self.sniff(data):
            raise NppError("not a VVC (H.266) Annex-B stream")
        coded = coded_size(data)
        if coded is not None and coded[0] * coded[1] > MAX_PIXELS * 1.05:  # (padding to even sizes)
            raise NppError(f"VVC picture is {coded[0]}x{coded[1]}, beyond the {MAX_PIXELS / 1e6:.0f} MP limit")
        try:
            planes, depth, chroma = decode_picture("vvc", data)
        except NppError as exc:
            raise NppError(f"VVC: {exc}") from None
        if chroma == "gray":
            raise NppError("monochrome VVC streams are not supported")
        h, w = planes[0].shape
        size = _read_size_sei(data)
        if size is not None:
            if not (0 < size[0] <= w and 0 < size[1] <= h):
                raise NppError("corrupt VVC stream (impossible picture size)")
            w, h = size
        return colour.planes_to_rgb(tuple(planes), w, h, chroma, depth)

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        """An Annex-B start code then a VVC NAL header (its first byte is 0; HEVC's is not)."""
        for start in (b"\x00\x00\x00\x01", b"\x00\x00\x01"):
            if data.startswith(start) and len(data) > len(start) + 1:
                return data[len(start)] == 0 and (data[len(start) + 1] & 7) != 0
        return False
