"""The quantisation parameter every codec here takes (bpgenc's meaning, 0..51): checking one
value and reading a list of them. One grammar everywhere (CLI, app, training jobs):
integers separated by commas and/or spaces, and inclusive ranges `A-B` or `A-B:STEP`, so
"28,31,34", "28 31 34" and "28-34:3" are the same list."""
from __future__ import annotations

import re
from typing import List, Optional

from npp.errors import NppError

QP_MIN, QP_MAX = 0, 51
_RANGE = re.compile(r"(\d+)-(\d+)(?::(\d+))?")


def check_qp(qp: object) -> int:
    """`qp` as an int if it is a whole number in QP_MIN..QP_MAX (37 and 37.0 pass, 37.5, "abc",
    None and True do not), else NppError naming the rule."""
    ok = not isinstance(qp, bool)
    try:
        value = float(qp) if ok else 0.0  # type: ignore[arg-type]
        ok = ok and value.is_integer() and QP_MIN <= value <= QP_MAX
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise NppError(f"QP must be an integer in {QP_MIN}..{QP_MAX}, got {qp!r}")
    return int(value)


def parse_qps(text: object, min_count: int = 1, max_count: Optional[int] = None, what: str = "QPs") -> List[int]:
    """The QPs of `text` in ascending order; NppError (naming `what`) for anything that is not
    a list of distinct valid QPs, or has fewer than `min_count` or more than `max_count`."""
    qps: List[int] = []
    for token in re.split(r"[,\s]+", str(text if text is not None else "").strip()):
        if not token:
            continue
        m = _RANGE.fullmatch(token)
        if m:
            a, b, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
            if a > b or step < 1:
                raise NppError(f"{what} {text!r}: range {token} must be A-B or A-B:STEP with A <= B, STEP >= 1")
            qps.extend(range(a, b + 1, step))
        elif re.fullmatch(r"\d+", token):
            qps.append(int(token))
        else:
            raise NppError(f"{what} {text!r}: expected integers separated by commas or spaces, or ranges "
                           "like 28-41:3")
    for q in qps:
        check_qp(q)
    if len(set(qps)) != len(qps):
        raise NppError(f"{what} {text!r}: a QP is listed twice")
    if len(qps) < min_count:
        raise NppError(f"{what} {text!r}: give at least {min_count} different QP{'s' if min_count > 1 else ''}")
    if max_count is not None and len(qps) > max_count:
        raise NppError(f"{what} {text!r}: at most {max_count} QPs, got {len(qps)}")
    return sorted(qps)
