"""Forged headers for the corrupt-file tests: real files whose header claims another picture size."""
from __future__ import annotations

from npp.codecs.bitstream import (BitReader, BitWriter, add_emulation_prevention, get_ue7, nal_spans,
                                  put_ue7, remove_emulation_prevention)

VVC_SPS, VVC_PPS = 15, 16


def bpg_with_size(data: bytes, width: int, height: int) -> bytes:
    """A .bpg whose header says width x height, its picture data unchanged."""
    _, p1 = get_ue7(data, 6)
    _, p2 = get_ue7(data, p1)
    return data[:6] + put_ue7(width) + put_ue7(height) + data[p2:]


def jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """A JPEG whose SOF marker says width x height, its scans unchanged."""
    pos = 2
    while pos + 4 <= len(data):
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2:pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return (data[:pos + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big")
                    + data[pos + 9:])
        pos += 2 + length
    raise ValueError("no SOF marker")


def _rewrite_rbsp(nal: bytes, read_prefix, width: int, height: int) -> bytes:
    rbsp = remove_emulation_prevention(nal[2:])
    r = BitReader(rbsp)
    w = BitWriter()
    read_prefix(r, w)
    start = r.pos
    r.ue()
    r.ue()
    old_bits = r.pos - start
    mark = len(w.bits)
    w.ue(width)
    w.ue(height)
    if (len(w.bits) - mark - old_bits) % 8:
        # later fields are byte-aligned (the SPS's VUI): keep their alignment
        raise ValueError(f"{width}x{height}: its Exp-Golomb codes must differ in length from the old ones by whole bytes")
    rest = [r.u(1) for _ in range(8 * len(rbsp) - r.pos)]
    while rest and rest[-1] == 0:
        rest.pop()
    rest.pop()  # rbsp_stop_one_bit
    for bit in rest:
        w.u(1, bit)
    w.rbsp_trailing()
    return nal[:2] + add_emulation_prevention(w.to_bytes())


def _copy(r: BitReader, w: BitWriter, n: int) -> int:
    v = r.u(n)
    w.u(n, v)
    return v


def _vvc_sps_prefix(r: BitReader, w: BitWriter) -> None:
    _copy(r, w, 8)  # sps_seq_parameter_set_id, sps_video_parameter_set_id
    sublayers = _copy(r, w, 3)
    _copy(r, w, 4)  # chroma_format_idc, log2_ctu_size_minus5
    if _copy(r, w, 1):  # sps_ptl_dpb_hrd_params_present_flag: profile_tier_level(1, sublayers)
        _copy(r, w, 18)  # profile, tier, level, frame-only and multilayer flags
        if _copy(r, w, 1):
            raise ValueError("general constraints info present: not handled by this test helper")
        while r.pos % 8:
            _copy(r, w, 1)
        for _ in range(sublayers):
            if _copy(r, w, 1):
                raise ValueError("sublayer levels: not handled by this test helper")
        while r.pos % 8:
            _copy(r, w, 1)
        for _ in range(_copy(r, w, 8)):
            _copy(r, w, 32)
    _copy(r, w, 1)  # sps_gdr_enabled_flag
    if _copy(r, w, 1):  # sps_ref_pic_resampling_enabled_flag
        _copy(r, w, 1)


def _vvc_pps_prefix(r: BitReader, w: BitWriter) -> None:
    _copy(r, w, 11)  # pps id, sps id, mixed NAL unit types flag


def vvc_with_size(data: bytes, width: int, height: int) -> bytes:
    """A VVC stream whose SPS and PPS say width x height, its slice data unchanged."""
    out = bytearray()
    for s, e in nal_spans(data):
        nal = data[s:e]
        kind = nal[1] >> 3
        if kind == VVC_SPS:
            nal = _rewrite_rbsp(nal, _vvc_sps_prefix, width, height)
        elif kind == VVC_PPS:
            nal = _rewrite_rbsp(nal, _vvc_pps_prefix, width, height)
        out += b"\x00\x00\x00\x01" + nal
    return bytes(out)
