"""The allocator setting the entry points apply (npp/runtime.py)."""
from __future__ import annotations

import subprocess
import sys


def test_tune_allocator_applies_on_linux_glibc():
    code = "from npp.runtime import tune_allocator; import sys; sys.exit(0 if tune_allocator() else 1)"
    rc = subprocess.run([sys.executable, "-c", code], check=False).returncode
    expected = 0 if sys.platform.startswith("linux") else 1
    assert rc == expected
