"""`plain`: the codec alone; the anchor every other method is measured against."""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from npp.errors import NppError
from npp.methods.base import Method, Prepared, no_params
from npp.methods.registry import register_method


@register_method("plain")
class Plain(Method):
    description = "the codec alone, on the photo as it is"

    @classmethod
    def from_spec(cls, spec: str, value: Optional[str], params: Dict[str, str]) -> "Plain":
        no_params(spec, params)
        if value is not None:
            raise NppError(f"method {spec!r}: plain takes no value")
        return cls()

    def prepare(self, rgb: np.ndarray, qp: int) -> Prepared:
        return Prepared(rgb)
