"""Process-wide settings for fast CPU inference, applied by the entry points (CLI, app, benches).

glibc's malloc hands large blocks to mmap, and its threshold for doing so moves as blocks are
freed. Once NanoDet has loaded (large temporary buffers while its weights are decoded), the
classifier's activation buffers went back and forth to the kernel on every call: EfficientNet-
Lite1 took 28-30 ms per image instead of 17-18 ms on this 2-core CPU (measured with
MALLOC_MMAP_THRESHOLD_ set and unset). Fixed thresholds keep such blocks in the heap."""
from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_allocator(mmap_threshold: int = 32 << 20, trim_threshold: int = 128 << 20) -> bool:
    """Serve blocks under `mmap_threshold` bytes from the heap and return free heap memory to
    the system only above `trim_threshold`; True when applied (glibc only, a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
