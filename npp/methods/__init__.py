"""Methods: what a sender does before the codec and a receiver after it (`npp.methods.base`).

`create_method("blur:1.0")`, `list_methods()`, and `code(method, codec, rgb, qp)` (the engine
every caller shares). A new method is one file here plus one import line below."""
from npp.methods.base import Method, Prepared
from npp.methods.engine import Coded, code
from npp.methods.registry import create_method, create_methods, list_methods, method_kinds, parse_spec, register_method
from npp.methods import plain, npp, blur, down, resize, saliency_qp, saliency_blur  # noqa: F401,E402  (register the built-in methods)

__all__ = ["Coded", "Method", "Prepared", "code", "create_method", "create_methods", "list_methods", "method_kinds",
           "parse_spec", "register_method"]
