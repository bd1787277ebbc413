"""Bit-level reading and writing for codec headers: fixed-width fields, Exp-Golomb codes,
emulation prevention and Annex-B NAL unit splitting (H.265 section 7 and Annex B).

Only headers go through here (a few dozen bytes), so clarity wins over speed."""
from __future__ import annotations

from typing import List, Tuple


class BitstreamError(ValueError):
    """A header ends early or holds a value the format does not allow."""


class BitReader:
    """Reads big-endian bit fields from bytes; raises BitstreamError past the end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u(self, n: int) -> int:
        if self.pos + n > 8 * len(self.data):
            raise BitstreamError("header ends early")
        v = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]
            v = (v << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def ue(self) -> int:
        """Unsigned Exp-Golomb code ue(v)."""
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise BitstreamError("Exp-Golomb code too long")
        return (1 << zeros) - 1 + self.u(zeros)


class BitWriter:
    """Collects bit fields and returns whole bytes."""

    def __init__(self) -> None:
        self.bits: List[int] = []

    def u(self, n: int, v: int) -> None:
        if v < 0 or v >= 1 << n:
            raise BitstreamError(f"value {v} does not fit in {n} bits")
        self.bits.extend((v >> k) & 1 for k in range(n - 1, -1, -1))

    def ue(self, v: int) -> None:
        v += 1
        n = v.bit_length()
        self.u(n - 1, 0)
        self.u(n, v)

    def align_zero(self) -> None:
        while len(self.bits) % 8:
            self.bits.append(0)

    def rbsp_trailing(self) -> None:
        """rbsp_stop_one_bit then zero bits up to a byte boundary."""
        self.bits.append(1)
        self.align_zero()

    def to_bytes(self) -> bytes:
        if len(self.bits) % 8:
            raise BitstreamError("not byte aligned")
        out = bytearray()
        for i in range(0, len(self.bits), 8):
            b = 0
            for bit in self.bits[i:i + 8]:
                b = (b << 1) | bit
            out.append(b)
        return bytes(out)


def remove_emulation_prevention(ebsp: bytes) -> bytes:
    """EBSP -> RBSP: drop each 0x03 that follows two zero bytes."""
    out = bytearray()
    zeros = 0
    for b in ebsp:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def add_emulation_prevention(rbsp: bytes) -> bytes:
    """RBSP -> EBSP: insert 0x03 wherever two zero bytes precede a byte <= 3."""
    out = bytearray()
    zeros = 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def nal_spans(stream: bytes) -> List[Tuple[int, int]]:
    """(start, end) of each NAL unit's bytes (start codes and trailing zeros excluded) in an
    Annex-B byte stream, in order."""
    starts = []
    i = stream.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = stream.find(b"\x00\x00\x01", i + 3)
    spans = []
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(stream)
        while end > s and stream[end - 1] == 0:
            end -= 1  # zero_byte of a 4-byte start code, or trailing_zero_8bits
        spans.append((s, end))
    return spans


def put_ue7(v: int) -> bytes:
    """BPG's ue7(32): big-endian base-128, high bit set on all but the last byte."""
    if v < 0 or v >= 1 << 32:
        raise BitstreamError(f"ue7 value out of range: {v}")
    out = [v & 0x7F]
    v >>= 7
    while v:
        out.append(0x80 | (v & 0x7F))
        v >>= 7
    return bytes(reversed(out))


def get_ue7(data: bytes, pos: int) -> tuple[int, int]:
    """Read a ue7(32) at `pos`; return (value, position after it)."""
    v = 0
    for k in range(5):
        if pos >= len(data):
            raise BitstreamError("header ends early")
        b = data[pos]
        pos += 1
        if k == 0 and b == 0x80:
            raise BitstreamError("non-canonical ue7 value")
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            if v >= 1 << 32:
                raise BitstreamError("ue7 value out of range")
            return v, pos
    raise BitstreamError("ue7 value too long")
