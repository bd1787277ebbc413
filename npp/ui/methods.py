"""Which methods a visitor can ask for, and how their requests become `npp.methods` objects.
Visitors name methods by spec (`plain`, `blur:1.0`, ...) but never pass parameters such as a
weights path: NPP weights are chosen from a menu of the server's own checkpoints."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Union

from npp.errors import NppError
from npp.methods import Method, create_method, list_methods
from npp.methods.npp import Npp
from npp.pipeline import DEFAULT_METHODS, MAX_METHODS

#: the menu: the registry's examples (plain, npp, blur:1.0, down:2, resize:256, ...); other
#: values of a kind can be typed (blur:1.5, resize:320)
METHOD_CHOICES = list_methods()


def split_specs(specs: Union[str, Sequence[str], None]) -> List[str]:
    if specs is None:
        return list(DEFAULT_METHODS)
    if isinstance(specs, str):
        specs = [s for s in specs.replace(",", " ").split() if s]
    return [str(s).strip() for s in specs if str(s).strip()]


def app_methods(specs: Union[str, Sequence[str], None], npp_weights: Optional[Path] = None) -> List[Method]:
    """The methods of a request, plain first (the anchor every change in bytes is measured
    against); `npp` runs `npp_weights` when a Train-tab checkpoint was chosen."""
    names = split_specs(specs)
    if not names:
        raise NppError("choose at least one method")
    if any("[" in s or "]" in s for s in names):
        raise NppError("method parameters cannot be given here: choose NPP weights in the NPP weights menu")
    if "plain" in names:
        names.remove("plain")
    names.insert(0, "plain")
    if len(names) > MAX_METHODS:
        raise NppError(f"at most {MAX_METHODS} methods at a time (plain included), got {len(names)}")
    out: List[Method] = []
    for s in names:
        m = create_method(s)
        if m.kind == "npp" and npp_weights is not None:
            m = Npp(str(npp_weights), shown_as="npp")
        if any(o.name == m.name for o in out):
            raise NppError(f"method {m.name} is listed twice")
        out.append(m)
    return out
