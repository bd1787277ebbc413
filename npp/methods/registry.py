"""The method registry, in the style of the codec and vision registries: one file per method,
registered by name; `create_method("blur:1.0")` builds one from its spec, `list_methods()`
names them all.

Spec grammar: `KIND`, `KIND:VALUE` or `KIND[key=value,...]` (e.g. `plain`, `blur:1.0`,
`down:2`, `resize:256`, `npp`, `npp[weights=runs/a/npp.safetensors]`). A method's `name` is
its canonical spec, so `create_method(m.name)` gives the same method back."""
from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional, Sequence, Type

from npp.errors import NppError
from npp.methods.base import Method

#: kind -> factory(spec, value, params) -> Method
_REGISTRY: Dict[str, Callable[[str, Optional[str], Dict[str, str]], Method]] = {}
#: kind -> an example spec (what `list_methods` shows and the parametrised tests build)
_EXAMPLES: Dict[str, str] = {}
_SPEC = re.compile(r"(?P<kind>[a-z][a-z0-9-]*)(?::(?P<value>[^\[\]\s]+))?(?:\[(?P<params>[^\]]*)\])?")


def register_method(kind: str, example: Optional[str] = None) -> Callable[[Type[Method]], Type[Method]]:
    """Class decorator: `cls.from_spec(spec, value, params)` builds the method for `KIND...` specs."""

    def deco(cls: Type[Method]) -> Type[Method]:
        cls.kind = kind
        _REGISTRY[kind] = cls.from_spec  # type: ignore[attr-defined]
        _EXAMPLES[kind] = example or kind
        return cls

    return deco


def list_methods() -> List[str]:
    """One example spec per registered method kind, `plain` first."""
    return sorted(_EXAMPLES.values(), key=lambda s: (s != "plain", s))


def method_kinds() -> List[str]:
    return sorted(_REGISTRY)


def parse_spec(spec: str) -> tuple:
    """`"npp:x[weights=a.safetensors]"` -> ("npp", "x", {"weights": "a.safetensors"})."""
    m = _SPEC.fullmatch(str(spec).strip())
    if not m:
        raise NppError(f"method {spec!r}: expected KIND, KIND:VALUE or KIND[key=value] (e.g. blur:1.0)")
    params: Dict[str, str] = {}
    for item in filter(None, (p.strip() for p in (m.group("params") or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise NppError(f"method {spec!r}: parameter {item!r} is not key=value")
        params[key.strip()] = value.strip()
    return m.group("kind"), m.group("value"), params


def create_method(spec: str) -> Method:
    """The method a spec names; NppError (one line, listing the kinds) for anything else."""
    kind, value, params = parse_spec(spec)
    if kind not in _REGISTRY:
        raise NppError(f"unknown method {kind!r} (methods: {', '.join(list_methods())})")
    return _REGISTRY[kind](str(spec).strip(), value, params)


def create_methods(specs: Sequence[str] | str) -> List[Method]:
    """Several methods from specs (a list, or one comma- or space-separated string whose
    brackets may hold commas); each name once."""
    if isinstance(specs, str):
        specs = [s for s in re.findall(r"[^\s,\[]+(?:\[[^\]]*\])?", specs)]
    methods = [create_method(s) for s in specs]
    names = [m.name for m in methods]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise NppError(f"method {dup} is listed twice")
    return methods
