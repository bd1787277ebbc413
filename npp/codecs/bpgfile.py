"""The BPG container (Bellard's BPG specification, v0.9.5+), written and read by the project.

A .bpg file is an HEVC intra stream with the VPS and SPS replaced by a compact header (the
image size, pixel format, colour space and the few SPS fields a decoder cannot infer).
`write_bpg` turns an encoder's Annex-B stream into exactly the bytes bpgenc 0.9.8 writes for the
same stream; `read_bpg` turns any .bpg without alpha or animation (ours or genuine bpgenc's)
back into a standard Annex-B stream, synthesising VPS and SPS, for any HEVC decoder.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from npp.codecs.bitstream import (
    BitReader,
    BitstreamError,
    BitWriter,
    add_emulation_prevention,
    get_ue7,
    nal_spans,
    put_ue7,
    remove_emulation_prevention,
)
from npp.codecs.min_bits import check_holds, hevc_min_bits
from npp.errors import NppError
from npp.image import MAX_PIXELS

MAGIC = b"BPG\xfb"
#: BPG pixel_format values (spec): chroma siting of 4:2:0 is centred (1) or MPEG-2 video (4).
PIXEL_FORMATS = {0: "gray", 1: "420", 2: "422", 3: "444", 4: "420 video", 5: "422 video"}
CHROMA_FORMAT_IDC = {0: 0, 1: 1, 2: 2, 3: 3, 4: 1, 5: 2}
COLOUR_SPACES = {0: "YCbCr BT.601", 1: "RGB", 2: "YCgCo", 3: "YCbCr BT.709", 4: "YCbCr BT.2020"}
NAL_VPS, NAL_SPS = 32, 33
#: bpgenc pads pictures to a multiple of the minimum coding block, 8 with x265.
CB_PAD = 8


@dataclass(frozen=True)
class BpgHeader:
    """The image-level fields of a BPG file."""

    width: int
    height: int
    pixel_format: int = 1
    bit_depth: int = 8
    color_space: int = 0
    limited_range: bool = False
    alpha: bool = False
    animation: bool = False

    @property
    def chroma(self) -> str:
        return PIXEL_FORMATS[self.pixel_format]


@dataclass(frozen=True)
class HevcFields:
    """The SPS fields BPG's compact hevc_header() keeps (spec: hevc_header())."""

    log2_min_cb: int
    log2_diff_cb: int
    log2_min_tb: int
    log2_diff_tb: int
    max_tr_depth_intra: int
    sao: int
    pcm: int
    pcm_fields: Tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    strong_intra: int = 0
    ext: int = 0
    range_ext: int = 0
    range_flags: int = 0


def _nal_type(nal: bytes) -> int:
    return (nal[0] >> 1) & 0x3F


def _skip_profile_tier_level(r: BitReader) -> int:
    r.u(2)
    r.u(1)
    profile = r.u(5)
    r.u(32)
    r.u(4)
    r.u(43)
    r.u(1)
    r.u(8)  # general_level_idc
    return profile


def _skip_vui(r: BitReader) -> None:
    """Read past the VUI: it is informative for BPG (its header carries range and matrix)."""
    if r.u(1) and r.u(8) == 255:  # aspect_ratio_info_present_flag, aspect_ratio_idc
        r.u(16)
        r.u(16)
    if r.u(1):  # overscan_info_present_flag
        r.u(1)
    if r.u(1):  # video_signal_type_present_flag
        r.u(4)
        if r.u(1):
            r.u(24)
    if r.u(1):  # chroma_loc_info_present_flag
        r.ue()
        r.ue()
    r.u(3)  # neutral_chroma, field_seq, frame_field_info
    if r.u(1):  # default_display_window_flag
        for _ in range(4):
            r.ue()
    if r.u(1):  # vui_timing_info_present_flag
        r.u(32)
        r.u(32)
        if r.u(1):
            r.ue()
        if r.u(1):
            raise BitstreamError("HRD parameters cannot be stored in BPG")
    if r.u(1):  # bitstream_restriction_flag
        r.u(3)
        for _ in range(5):
            r.ue()


def parse_sps(nal: bytes) -> Tuple[HevcFields, dict]:
    """The fields BPG keeps from an encoder's SPS, plus its size and format; checks the SPS
    uses only what BPG's fixed SPS can express (as bpgenc does)."""
    r = BitReader(remove_emulation_prevention(nal[2:]))
    info: dict = {}
    if r.u(4) != 0:
        raise BitstreamError("SPS must refer to VPS 0")
    if r.u(3) != 0:
        raise BitstreamError("only one temporal sub-layer is allowed")
    r.u(1)
    info["profile_idc"] = _skip_profile_tier_level(r)
    if r.ue() != 0:
        raise BitstreamError("SPS id must be 0")
    info["chroma_format_idc"] = r.ue()
    if info["chroma_format_idc"] == 3 and r.u(1):
        raise BitstreamError("separate colour planes are not allowed")
    info["width"], info["height"] = r.ue(), r.ue()
    if r.u(1):
        info["conformance_window"] = [r.ue() for _ in range(4)]
    info["bit_depth_luma"] = r.ue() + 8
    info["bit_depth_chroma"] = r.ue() + 8
    if r.ue() != 4:
        raise BitstreamError("log2_max_pic_order_cnt_lsb must be 8")
    if r.u(1):  # sps_sub_layer_ordering_info_present_flag: one sub-layer only
        r.ue()
        r.ue()
        r.ue()
    log2_min_cb, log2_diff_cb = r.ue() + 3, r.ue()
    log2_min_tb, log2_diff_tb = r.ue() + 2, r.ue()
    depth_inter, depth_intra = r.ue(), r.ue()
    if depth_inter != depth_intra:
        raise BitstreamError("transform depths for inter and intra must match")
    if r.u(1):
        raise BitstreamError("scaling lists are not allowed")
    if not r.u(1):
        raise BitstreamError("amp_enabled_flag must be 1")
    sao, pcm = r.u(1), r.u(1)
    pcm_fields = (0, 0, 0, 0, 0)
    if pcm:
        pcm_fields = (r.u(4), r.u(4), r.ue(), r.ue(), r.u(1))
    if r.ue() != 0:
        raise BitstreamError("short-term reference picture sets are not allowed")
    if r.u(1):
        raise BitstreamError("long-term reference pictures are not allowed")
    if not r.u(1):
        raise BitstreamError("sps_temporal_mvp_enabled_flag must be 1")
    strong_intra = r.u(1)
    if r.u(1):
        _skip_vui(r)
    ext = r.u(1)
    range_ext = range_flags = 0
    if ext:
        range_ext = r.u(1)
        if r.u(7):
            raise BitstreamError("only the range extension is allowed")
        if range_ext:
            range_flags = r.u(9)
    fields = HevcFields(log2_min_cb, log2_diff_cb, log2_min_tb, log2_diff_tb, depth_intra, sao, pcm,
                        pcm_fields, strong_intra, ext, range_ext, range_flags)
    return fields, info


def _write_pcm(w: BitWriter, f: HevcFields) -> None:
    """pcm_enabled_flag and, when set, its bit depths and block sizes (same in both headers)."""
    w.u(1, f.pcm)
    if f.pcm:
        depth_y, depth_c, log2_min, log2_diff, loop_filter_off = f.pcm_fields
        w.u(4, depth_y)
        w.u(4, depth_c)
        w.ue(log2_min)
        w.ue(log2_diff)
        w.u(1, loop_filter_off)


def _hevc_header(f: HevcFields) -> bytes:
    w = BitWriter()
    w.ue(f.log2_min_cb - 3)
    w.ue(f.log2_diff_cb)
    w.ue(f.log2_min_tb - 2)
    w.ue(f.log2_diff_tb)
    w.ue(f.max_tr_depth_intra)
    w.u(1, f.sao)
    _write_pcm(w, f)
    w.u(1, f.strong_intra)
    w.u(1, f.ext)
    if f.ext:
        w.u(1, f.range_ext)
        w.u(7, 0)
        if f.range_ext:
            w.u(9, f.range_flags)
    w.align_zero()
    return w.to_bytes()


def _parse_hevc_header(data: bytes) -> HevcFields:
    r = BitReader(data)
    log2_min_cb, log2_diff_cb = r.ue() + 3, r.ue()
    log2_min_tb, log2_diff_tb = r.ue() + 2, r.ue()
    depth = r.ue()
    sao, pcm = r.u(1), r.u(1)
    pcm_fields = (r.u(4), r.u(4), r.ue(), r.ue(), r.u(1)) if pcm else (0, 0, 0, 0, 0)
    strong_intra, ext = r.u(1), r.u(1)
    range_ext = range_flags = 0
    if ext:
        range_ext = r.u(1)
        r.u(7)
        if range_ext:
            range_flags = r.u(9)
    if not 3 <= log2_min_cb <= 6 or log2_min_cb + log2_diff_cb > 6 or not 2 <= log2_min_tb <= 5:
        raise BitstreamError("impossible coding block sizes")
    return HevcFields(log2_min_cb, log2_diff_cb, log2_min_tb, log2_diff_tb, depth, sao, pcm,
                      pcm_fields, strong_intra, ext, range_ext, range_flags)


def write_bpg(annexb: bytes, header: BpgHeader) -> bytes:
    """A .bpg file from an encoder's Annex-B stream (VPS, SPS, PPS, slices) for `header`'s
    image; the stream's picture is the image padded to a multiple of 8 (as bpgenc's)."""
    if header.alpha or header.animation:
        raise NppError("writing BPG alpha or animation is not supported")
    try:
        spans = nal_spans(annexb)
        if len(spans) < 3:
            raise BitstreamError("expected VPS, SPS, PPS and slice NAL units")
        vps, sps = (annexb[s:e] for s, e in spans[:2])
        if _nal_type(vps) != NAL_VPS or _nal_type(sps) != NAL_SPS:
            raise BitstreamError("stream must start with a VPS and an SPS")
        fields, info = parse_sps(sps)
    except BitstreamError as exc:
        raise NppError(f"HEVC stream cannot be stored as BPG: {exc}") from None
    cb = 1 << fields.log2_min_cb
    expect = (-(-header.width // cb) * cb, -(-header.height // cb) * cb)
    if (info["width"], info["height"]) != expect:
        raise NppError(f"HEVC picture is {info['width']}x{info['height']}, expected {expect[0]}x{expect[1]}")
    if info["bit_depth_luma"] != header.bit_depth or info["bit_depth_chroma"] != header.bit_depth:
        raise NppError("HEVC bit depth does not match the BPG header")
    if info["chroma_format_idc"] != CHROMA_FORMAT_IDC[header.pixel_format]:
        raise NppError("HEVC chroma format does not match the BPG header")
    hh = _hevc_header(fields)
    out = bytearray(MAGIC)
    out.append((header.pixel_format << 5) | (header.bit_depth - 8))
    out.append((header.color_space << 4) | (int(header.limited_range) << 1))
    out += put_ue7(header.width) + put_ue7(header.height)
    out += put_ue7(0)  # picture_data_length 0: the picture data runs to the end of the file
    out += put_ue7(len(hh)) + hh
    out += annexb[spans[2][0]:]  # PPS without its start code, then the rest verbatim
    return bytes(out)


def read_header(data: bytes) -> Tuple[BpgHeader, int]:
    """The BPG header and the offset of hevc_header_and_data()."""
    if data[:4] != MAGIC:
        raise NppError("not a BPG file")
    if len(data) < 6:
        raise NppError("truncated BPG file (header)")
    b4, b5 = data[4], data[5]
    try:
        pos = 6
        width, pos = get_ue7(data, pos)
        height, pos = get_ue7(data, pos)
        length, pos = get_ue7(data, pos)
        if (b5 >> 3) & 1:  # extension_present_flag: metadata (EXIF, ICC, ...), skipped
            ext_len, pos = get_ue7(data, pos)
            pos += ext_len
    except BitstreamError as exc:
        raise NppError(f"truncated or corrupt BPG header ({exc})") from None
    header = BpgHeader(width=width, height=height, pixel_format=b4 >> 5, bit_depth=(b4 & 15) + 8,
                       color_space=b5 >> 4, limited_range=bool((b5 >> 1) & 1),
                       alpha=bool((b4 >> 4) & 1 or (b5 >> 2) & 1), animation=bool(b5 & 1))
    if width == 0 or height == 0 or header.pixel_format not in PIXEL_FORMATS:
        raise NppError("corrupt BPG header")
    if header.bit_depth > 14 or header.color_space not in COLOUR_SPACES:
        raise NppError("corrupt BPG header")
    if width * height > MAX_PIXELS:
        raise NppError(f"BPG image is {width}x{height}, beyond the {MAX_PIXELS / 1e6:.0f} MP limit")
    if length and pos + length > len(data):
        raise NppError("truncated BPG file (picture data shorter than its header says)")
    return header, pos


def read_bpg(data: bytes) -> Tuple[BpgHeader, bytes]:
    """(header, Annex-B stream with synthesised VPS and SPS) of a .bpg file; NppError when its
    picture data is too short for the picture its header claims (`npp.codecs.min_bits`)."""
    header, pos = read_header(data)
    if header.alpha or header.animation:
        raise NppError("BPG files with alpha or animation are not supported")
    try:
        hl, pos = get_ue7(data, pos)
        if pos + hl > len(data):
            raise BitstreamError("header ends early")
        fields = _parse_hevc_header(data[pos:pos + hl])
    except BitstreamError as exc:
        raise NppError(f"truncated or corrupt BPG header ({exc})") from None
    pos += hl
    if pos >= len(data):
        raise NppError("truncated BPG file (no picture data)")
    cb = 1 << fields.log2_min_cb
    width, height = -(-header.width // cb) * cb, -(-header.height // cb) * cb
    check_holds("BPG file", header.width, header.height,
                hevc_min_bits(width, height, cb << fields.log2_diff_cb, cb), len(data) - pos)
    start = b"\x00\x00\x00\x01"
    vps, sps = _vps(header, fields), _sps(header, fields)
    return header, start + vps + start + sps + start + data[pos:]


def _profile(header: BpgHeader, fields: HevcFields) -> int:
    if header.pixel_format in (1, 4) and not fields.ext and header.bit_depth in (8, 10):
        return 1 if header.bit_depth == 8 else 2  # Main, Main 10
    return 4  # format range extensions


def _profile_tier_level(w: BitWriter, profile: int) -> None:
    w.u(2, 0)
    w.u(1, 0)
    w.u(5, profile)
    for j in range(32):
        w.u(1, int(j == profile or (profile == 1 and j == 2)))
    w.u(4, 0b1001)  # progressive source, not interlaced, not non-packed, frame only
    w.u(43, 0)
    w.u(1, 0)
    w.u(8, 186)  # level 6.2: any picture size


def _nal(nal_type: int, w: BitWriter) -> bytes:
    w.rbsp_trailing()
    return bytes([nal_type << 1, 1]) + add_emulation_prevention(w.to_bytes())


def _vps(header: BpgHeader, fields: HevcFields) -> bytes:
    w = BitWriter()
    w.u(4, 0)
    w.u(2, 0b11)  # base layer internal and available
    w.u(6, 0)
    w.u(3, 0)
    w.u(1, 1)
    w.u(16, 0xFFFF)
    _profile_tier_level(w, _profile(header, fields))
    w.u(1, 0)
    w.ue(1)  # max_dec_pic_buffering_minus1
    w.ue(0)
    w.ue(0)
    w.u(6, 0)
    w.ue(0)
    w.u(1, 0)  # no timing info
    w.u(1, 0)  # no extension
    return _nal(NAL_VPS, w)


def _sps(header: BpgHeader, fields: HevcFields) -> bytes:
    cb = 1 << fields.log2_min_cb
    w = BitWriter()
    w.u(4, 0)
    w.u(3, 0)
    w.u(1, 1)
    _profile_tier_level(w, _profile(header, fields))
    w.ue(0)
    chroma = CHROMA_FORMAT_IDC[header.pixel_format]
    w.ue(chroma)
    if chroma == 3:
        w.u(1, 0)
    w.ue(-(-header.width // cb) * cb)
    w.ue(-(-header.height // cb) * cb)
    w.u(1, 0)  # no conformance window: the reader crops to the header's size
    w.ue(header.bit_depth - 8)
    w.ue(header.bit_depth - 8)
    w.ue(4)  # log2_max_pic_order_cnt_lsb 8
    w.u(1, 1)
    w.ue(1)
    w.ue(0)
    w.ue(0)
    w.ue(fields.log2_min_cb - 3)
    w.ue(fields.log2_diff_cb)
    w.ue(fields.log2_min_tb - 2)
    w.ue(fields.log2_diff_tb)
    w.ue(fields.max_tr_depth_intra)
    w.ue(fields.max_tr_depth_intra)
    w.u(1, 0)  # no scaling lists
    w.u(1, 1)  # amp_enabled_flag
    w.u(1, fields.sao)
    _write_pcm(w, fields)
    w.ue(0)  # no short-term reference picture sets
    w.u(1, 0)
    w.u(1, 1)  # sps_temporal_mvp_enabled_flag
    w.u(1, fields.strong_intra)
    w.u(1, 0)  # no VUI
    w.u(1, fields.ext)
    if fields.ext:
        w.u(1, fields.range_ext)
        w.u(7, 0)
        if fields.range_ext:
            w.u(9, fields.range_flags)
    return _nal(NAL_SPS, w)
