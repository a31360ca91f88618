"""Caffe deploy nets -> ONNX (for ONNX Runtime), and BatchNorm folding for Caffe deploy copies.

`export_onnx` walks the Caffe NetParameter of a deploy net (the prototxt, parsed with
caffe_pb2/text_format) in the order Caffe runs it, reading the weights from the loaded caffe.Net,
and writes an equivalent ONNX graph:

* Convolution + following BatchNorm/Scale (use_global_stats) -> one Conv with bias: the affine
  transforms are folded into the convolution in float64 (`fold_batchnorm` does the same surgery
  on a Caffe deploy copy);
* ReLU -> Relu/LeakyRelu, Eltwise -> Add/Sum/Mul/Max, Pooling -> MaxPool/AveragePool with
  ``ceil_mode`` (Caffe's CEIL rounding; checked against Caffe, including its rule that the last
  window starts inside the padded input; configurations where Caffe and ONNX disagree, stride >
  kernel without padding, raise), InnerProduct -> Flatten + Gemm, Reshape/Flatten/Concat/Softmax;
* ROIPooling -> ``MaxRoiPool`` (inputs: the map and the rois with their batch-index column). ONNX
  Runtime's CPU kernel follows Fast R-CNN exactly like the project's C++ layer (coordinates times
  spatial_scale rounded half away from zero, bins clipped to the map, empty bins give 0), so
  the whole net, head included, runs in one session and matches Caffe bit for bit there;
* Normalize (C++) and the Python NormalizeLayer -> ReduceSumSquare/Sqrt/Add(eps)/Div;
* the Python AggregateLayer (per-image sum of region vectors by the rois' batch index) ->
  one-hot(batch index) MatMul regions, so batches of several images stay one forward.

Batch, height, width and the number of rois are dynamic axes. A layer type (or a Python layer)
without an ONNX equivalent raises `UnsupportedLayerError` (a ValueError) naming the layer and its type.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from myPython.common.fileio import atomic_write_bytes
from myPython.nets.folding import (  # noqa: F401  (UnsupportedLayerError re-exported)
    Step,
    UnsupportedLayerError,
    active_layers,
    bn_affine,
    fold_plan,
    folded_conv_params,
    scale_affine,
    ssa_steps,
    truncate_at,
)
from myPython.nets.param_str import parse_param_str

#: Bump whenever the exported graphs change (it is part of the ONNX cache key).
EXPORTER_VERSION = "1"
OPSET = 17

# Layers whose type maps onto ONNX ops (Python layers are listed by class below).
SUPPORTED_TYPES = (
    "Input", "Convolution", "BatchNorm", "Scale", "ReLU", "Pooling", "Eltwise", "ROIPooling", "Normalize",
    "Reshape", "Flatten", "InnerProduct", "Concat", "Softmax", "Sigmoid", "TanH", "Dropout", "Split", "Silence",
    "Python",
)
PYTHON_LAYERS = ("NormalizeLayer", "AggregateLayer")




# --------------------------------------------------------------------------------------------
# Reading the net
# --------------------------------------------------------------------------------------------


def _caffe():
    from myPython.nets.runtime import caffe, caffe_pb2, load_net, read_net_param

    return caffe, caffe_pb2, load_net, read_net_param


# --------------------------------------------------------------------------------------------
# ONNX graph building
# --------------------------------------------------------------------------------------------


@dataclass
class _Graph:
    nodes: list = field(default_factory=list)
    initializers: dict[str, np.ndarray] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)
    counter: int = 0

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}/_{self.counter}"

    def const(self, hint: str, value: np.ndarray | Sequence | float | int, dtype=np.float32) -> str:
        name = self.fresh(hint)
        self.initializers[name] = np.asarray(value, dtype=dtype)
        return name

    def node(self, op: str, inputs: Sequence[str], outputs: Sequence[str] | str | None = None, name: str = "",
             **attrs) -> str:
        from onnx import helper

        if outputs is None:
            outputs = [self.fresh(name or op)]
        elif isinstance(outputs, str):
            outputs = [outputs]
        self.nodes.append(helper.make_node(op, list(inputs), list(outputs), name=self.fresh(name or op), **attrs))
        return outputs[0]


def _hw(p, base: str, default: int | None = None) -> tuple[int, int]:
    """(h, w) of a Caffe kernel/stride/pad setting: ``<base>_h``/``<base>_w`` or the plain (repeated) field."""
    if p.HasField(f"{base}_h") or p.HasField(f"{base}_w"):
        return int(getattr(p, f"{base}_h")), int(getattr(p, f"{base}_w"))
    plain = "kernel_size" if base == "kernel" else base
    values = getattr(p, plain)
    if isinstance(values, int):  # PoolingParameter: optional scalars
        if p.HasField(plain) or default is None:
            return int(values), int(values)
        return default, default
    values = [int(v) for v in values]  # ConvolutionParameter: repeated
    if not values:
        if default is None:
            raise ValueError(f"missing {plain}")
        return default, default
    return values[0], values[-1]


def _unsupported(layer, why: str = "") -> UnsupportedLayerError:
    kind = layer.type
    if kind == "Python":
        kind = f"Python {layer.python_param.module}.{layer.python_param.layer}"
    detail = f": {why}" if why else " has no ONNX equivalent in myPython.nets.onnx_export"
    return UnsupportedLayerError(f"layer {layer.name!r} of type {kind}{detail}")


def _python_params(layer) -> dict:
    return parse_param_str(layer.python_param.param_str, layer.name)


class _Builder:
    def __init__(self, params, plan: dict[str, list[Step]]) -> None:
        self.g = _Graph()
        self.params = params
        self.plan = plan
        self.folded = {s.layer.name for chain in plan.values() for s in chain}
        self.alias: dict[str, str] = {}  # folded tensor -> the conv output that now carries it
        self.inputs: list[tuple[str, list]] = []

    def t(self, name: str) -> str:
        return self.alias.get(name, name)

    def blobs(self, layer) -> list:
        return self.params.get(layer.name, [])

    # -- per layer ---------------------------------------------------------------------------
    def add(self, step: Step) -> None:
        layer = step.layer
        if layer.name in self.folded:
            self.alias[step.outputs[0]] = self.t(step.inputs[0])
            return
        if layer.type not in SUPPORTED_TYPES:
            raise _unsupported(layer)
        handler = getattr(self, "_" + layer.type.lower())
        handler(layer, [self.t(i) for i in step.inputs], step.outputs)

    def _input(self, layer, ins, outs) -> None:
        shapes = list(layer.input_param.shape)
        for i, top in enumerate(outs):
            dims = list(shapes[min(i, len(shapes) - 1)].dim) if shapes else []
            if not dims:
                raise _unsupported(layer, f"input {top!r} has no shape")
            sym: list = [int(d) for d in dims]
            sym[0] = f"{top}_batch" if top != "rois" else "num_rois"
            if len(sym) == 4:
                sym[2], sym[3] = f"{top}_height", f"{top}_width"
            self.inputs.append((top, sym))
            self.g.ranks[top] = len(sym)

    def _convolution(self, layer, ins, outs) -> None:
        p = layer.convolution_param
        if p.axis != 1 or len(p.kernel_size) > 2 or len(p.pad) > 2 or len(p.stride) > 2:
            raise _unsupported(layer, "only 2-D convolutions over axis 1 are supported")
        kh, kw = _hw(p, "kernel")
        sh, sw = _hw(p, "stride", 1)
        ph, pw = _hw(p, "pad", 0)
        dilation = list(p.dilation) or [1]
        dh, dw = (dilation[0], dilation[-1])
        chain = self.plan.get(layer.name, [])
        if chain or not p.bias_term:
            weight, bias = folded_conv_params(layer, self.params, chain)
        else:
            weight = self.blobs(layer)[0].data.astype(np.float32)
            bias = self.blobs(layer)[1].data.astype(np.float32).reshape(-1)
        w = self.g.const(layer.name + "/W", weight)
        b = self.g.const(layer.name + "/b", bias)
        self.g.node("Conv", [ins[0], w, b], outs[0], name=layer.name, kernel_shape=[kh, kw], strides=[sh, sw],
                    pads=[ph, pw, ph, pw], dilations=[dh, dw], group=int(p.group))
        self.g.ranks[outs[0]] = 4

    def _channel_affine(self, layer, x: str, out: str, a: np.ndarray, b: np.ndarray, axis: int = 1,
                        shape: Sequence[int] | None = None) -> None:
        rank = self.g.ranks[x]
        axis = axis % rank
        shape = list(shape) if shape is not None else [len(a)]
        full = shape + [1] * (rank - axis - len(shape))
        y = self.g.node("Mul", [x, self.g.const(layer.name + "/a", a.reshape(full))], name=layer.name)
        self.g.node("Add", [y, self.g.const(layer.name + "/b", b.reshape(full))], out, name=layer.name)
        self.g.ranks[out] = rank

    def _batchnorm(self, layer, ins, outs) -> None:
        a, b = bn_affine(layer, self.blobs(layer))
        self._channel_affine(layer, ins[0], outs[0], a, b)

    def _scale(self, layer, ins, outs) -> None:
        if len(ins) != 1:
            raise _unsupported(layer, "a Scale with the scale taken from a second bottom is not supported")
        p = layer.scale_param
        blobs = self.blobs(layer)
        a, b = scale_affine(layer, blobs)
        self._channel_affine(layer, ins[0], outs[0], a, b, axis=p.axis, shape=list(blobs[0].data.shape))

    def _relu(self, layer, ins, outs) -> None:
        slope = float(layer.relu_param.negative_slope)
        if slope:
            self.g.node("LeakyRelu", ins, outs[0], name=layer.name, alpha=slope)
        else:
            self.g.node("Relu", ins, outs[0], name=layer.name)
        self.g.ranks[outs[0]] = self.g.ranks[ins[0]]

    def _sigmoid(self, layer, ins, outs) -> None:
        self.g.node("Sigmoid", ins, outs[0], name=layer.name)
        self.g.ranks[outs[0]] = self.g.ranks[ins[0]]

    def _tanh(self, layer, ins, outs) -> None:
        self.g.node("Tanh", ins, outs[0], name=layer.name)
        self.g.ranks[outs[0]] = self.g.ranks[ins[0]]

    def _pooling(self, layer, ins, outs) -> None:
        from caffe.proto import caffe_pb2

        p = layer.pooling_param
        kind = {caffe_pb2.PoolingParameter.MAX: "Max", caffe_pb2.PoolingParameter.AVE: "Average"}.get(p.pool)
        if kind is None:
            raise _unsupported(layer, "only MAX and AVE pooling are supported")
        if p.global_pooling:
            self.g.node(f"Global{kind}Pool", ins, outs[0], name=layer.name)
            self.g.ranks[outs[0]] = 4
            return
        kh, kw = _hw(p, "kernel")
        sh, sw = _hw(p, "stride", 1)
        ph, pw = _hw(p, "pad", 0)
        ceil = int(p.round_mode == caffe_pb2.PoolingParameter.CEIL)
        # ONNX (ONNX Runtime) drops a last window that starts past the input even without padding;
        # Caffe only does that with padding (and emits -FLT_MAX or 0 there). They agree unless
        # stride > kernel without padding.
        if ceil and ((sh > kh and ph == 0) or (sw > kw and pw == 0)):
            raise _unsupported(layer, f"CEIL pooling with stride {sh}x{sw} > kernel {kh}x{kw} and no padding "
                                      "has windows outside the input in Caffe")
        if kind == "Average" and (ph or pw):
            raise _unsupported(layer, "padded AVE pooling (Caffe counts part of the padding) is not supported")
        attrs: dict[str, Any] = {"kernel_shape": [kh, kw], "strides": [sh, sw], "pads": [ph, pw, ph, pw],
                                 "ceil_mode": ceil}
        if kind == "Average":
            attrs["count_include_pad"] = 0
        self.g.node(f"{kind}Pool", ins, outs[0], name=layer.name, **attrs)
        self.g.ranks[outs[0]] = 4

    def _eltwise(self, layer, ins, outs) -> None:
        from caffe.proto import caffe_pb2

        p = layer.eltwise_param
        if p.operation == caffe_pb2.EltwiseParameter.SUM:
            coeffs = list(p.coeff)
            terms = list(ins)
            if coeffs and any(c != 1 for c in coeffs):
                terms = [x if c == 1 else self.g.node("Mul", [x, self.g.const(layer.name + "/coeff", c)],
                                                      name=layer.name) for x, c in zip(ins, coeffs)]
            op = "Add" if len(terms) == 2 else "Sum"
        elif p.operation == caffe_pb2.EltwiseParameter.PROD:
            terms, op = list(ins), "Mul"
        else:
            terms, op = list(ins), "Max"
        if op == "Mul" and len(terms) > 2:
            acc = terms[0]
            for x in terms[1:-1]:
                acc = self.g.node("Mul", [acc, x], name=layer.name)
            terms = [acc, terms[-1]]
        self.g.node(op, terms, outs[0], name=layer.name)
        self.g.ranks[outs[0]] = self.g.ranks[ins[0]]

    def _roipooling(self, layer, ins, outs) -> None:
        p = layer.roi_pooling_param
        self.g.node("MaxRoiPool", ins, outs[0], name=layer.name, pooled_shape=[int(p.pooled_h), int(p.pooled_w)],
                    spatial_scale=float(p.spatial_scale))
        self.g.ranks[outs[0]] = 4

    def _l2(self, layer, x: str, out: str, axes: list[int], eps: float) -> None:
        sq = self.g.node("ReduceSumSquare", [x], name=layer.name, axes=axes, keepdims=1)
        norm = self.g.node("Sqrt", [sq], name=layer.name)
        denom = self.g.node("Add", [norm, self.g.const(layer.name + "/eps", eps)], name=layer.name)
        self.g.node("Div", [x, denom], out, name=layer.name)
        self.g.ranks[out] = self.g.ranks[x]

    def _normalize(self, layer, ins, outs) -> None:
        p = layer.normalize_param
        rank = self.g.ranks[ins[0]]
        axes = list(range(1, rank)) if (p.across_spatial or rank < 3) else [1]
        self._l2(layer, ins[0], outs[0], axes, float(p.eps))

    def _reshape(self, layer, ins, outs) -> None:
        p = layer.reshape_param
        if p.axis != 0 or p.num_axes != -1:
            raise _unsupported(layer, "Reshape with axis/num_axes is not supported")
        dims = [int(d) for d in p.shape.dim]
        self.g.node("Reshape", [ins[0], self.g.const(layer.name + "/shape", dims, np.int64)], outs[0],
                    name=layer.name)
        self.g.ranks[outs[0]] = len(dims)

    def _flatten(self, layer, ins, outs) -> None:
        p = layer.flatten_param
        rank = self.g.ranks[ins[0]]
        if p.axis % rank != 1 or p.end_axis % rank != rank - 1:
            raise _unsupported(layer, "only Flatten from axis 1 to the end is supported")
        self.g.node("Flatten", ins, outs[0], name=layer.name, axis=1)
        self.g.ranks[outs[0]] = 2

    def _innerproduct(self, layer, ins, outs) -> None:
        p = layer.inner_product_param
        rank = self.g.ranks[ins[0]]
        if p.axis % rank != 1:
            raise _unsupported(layer, "only InnerProduct over axis 1 is supported")
        blobs = self.blobs(layer)
        weight = blobs[0].data.astype(np.float32)
        weight = weight.reshape(weight.shape[0], -1) if not p.transpose else weight.reshape(-1, weight.shape[-1])
        flat = ins[0] if rank == 2 else self.g.node("Flatten", ins, name=layer.name, axis=1)
        operands = [flat, self.g.const(layer.name + "/W", weight)]
        if p.bias_term:
            operands.append(self.g.const(layer.name + "/b", blobs[1].data.astype(np.float32).reshape(-1)))
        self.g.node("Gemm", operands, outs[0], name=layer.name, transB=0 if p.transpose else 1)
        self.g.ranks[outs[0]] = 2

    def _concat(self, layer, ins, outs) -> None:
        p = layer.concat_param
        axis = int(p.concat_dim) if p.HasField("concat_dim") else int(p.axis)
        self.g.node("Concat", ins, outs[0], name=layer.name, axis=axis)
        self.g.ranks[outs[0]] = self.g.ranks[ins[0]]

    def _softmax(self, layer, ins, outs) -> None:
        self.g.node("Softmax", ins, outs[0], name=layer.name, axis=int(layer.softmax_param.axis))
        self.g.ranks[outs[0]] = self.g.ranks[ins[0]]

    def _dropout(self, layer, ins, outs) -> None:  # identity at test time
        self.g.node("Identity", ins, outs[0], name=layer.name)
        self.g.ranks[outs[0]] = self.g.ranks[ins[0]]

    def _split(self, layer, ins, outs) -> None:
        for out in outs:
            self.g.node("Identity", ins, out, name=layer.name)
            self.g.ranks[out] = self.g.ranks[ins[0]]

    def _silence(self, layer, ins, outs) -> None:
        return

    def _python(self, layer, ins, outs) -> None:
        kind = layer.python_param.layer
        if kind not in PYTHON_LAYERS:
            raise _unsupported(layer)
        params = _python_params(layer)
        if kind == "NormalizeLayer":
            self._l2(layer, ins[0], outs[0], [1], float(params.get("eps", 1e-8)))
            return
        # AggregateLayer: regions R x C[x1x1] (+ rois R x 5) -> B x C x 1 x 1.
        regions = ins[0] if self.g.ranks[ins[0]] == 2 else self.g.node("Flatten", [ins[0]], name=layer.name, axis=1)
        shape4 = self.g.const(layer.name + "/shape", [0, -1, 1, 1], np.int64)
        if len(ins) == 1:
            total = self.g.node("ReduceSum", [regions, self.g.const(layer.name + "/axes", [0], np.int64)],
                                name=layer.name, keepdims=1)
            self.g.node("Reshape", [total, shape4], outs[0], name=layer.name)
            self.g.ranks[outs[0]] = 4
            return
        rois = self.g.node("Flatten", [ins[1]], name=layer.name, axis=1) if self.g.ranks[ins[1]] != 2 else ins[1]
        first = self.g.node("Gather", [rois, self.g.const(layer.name + "/col", 0, np.int64)], name=layer.name,
                            axis=1)
        index = self.g.node("Cast", [first], name=layer.name, to=7)  # INT64, truncation as in the layer
        if params.get("batch_size") is not None:
            batch = self.g.const(layer.name + "/batch", int(params["batch_size"]), np.int64)
        else:
            top = self.g.node("ReduceMax", [index], name=layer.name, keepdims=0)
            batch = self.g.node("Add", [top, self.g.const(layer.name + "/one", 1, np.int64)], name=layer.name)
        images = self.g.node("Range", [self.g.const(layer.name + "/zero", 0, np.int64), batch,
                                       self.g.const(layer.name + "/step", 1, np.int64)], name=layer.name)
        rows = self.g.node("Unsqueeze", [images, self.g.const(layer.name + "/ax1", [1], np.int64)], name=layer.name)
        cols = self.g.node("Unsqueeze", [index, self.g.const(layer.name + "/ax0", [0], np.int64)], name=layer.name)
        onehot = self.g.node("Cast", [self.g.node("Equal", [rows, cols], name=layer.name)], name=layer.name, to=1)
        total = self.g.node("MatMul", [onehot, regions], name=layer.name)
        self.g.node("Reshape", [total, shape4], outs[0], name=layer.name)
        self.g.ranks[outs[0]] = 4


def _prune(nodes: list, output: str) -> list:
    """Nodes the output depends on, in order."""
    needed, keep = {output}, []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(node.input)
    return keep[::-1]


def build_onnx(proto: str | os.PathLike, weights: str | os.PathLike | None, output: str = "rmac/normalized",
               net=None):
    """The ONNX ModelProto of a deploy net up to blob `output` (weights from `net` or loaded from the files)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    _, _, load_net, read_net_param = _caffe()
    param = read_net_param(proto)
    for layer in param.layer:  # name unsupported layers before Caffe builds anything
        if layer.type not in SUPPORTED_TYPES or (layer.type == "Python" and layer.python_param.layer
                                                 not in PYTHON_LAYERS):
            truncated = truncate_at(list(param.layer), output)
            if any(x.name == layer.name for x in truncated):
                raise _unsupported(layer)
    if net is None:
        net = load_net(proto, weights)
    layers = truncate_at(active_layers(param, net), output)
    steps, out_tensor, consumers = ssa_steps(layers, output)
    params = dict(net.params.items())
    builder = _Builder(params, fold_plan(steps, consumers, params))
    for step in steps:
        builder.add(step)
    final = builder.t(out_tensor)
    nodes = builder.g.nodes
    nodes.append(helper.make_node("Identity", [final], [output], name=f"{output}/output"))
    nodes = _prune(nodes, output)
    used = {i for n in nodes for i in n.input}
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
              for name, dims in builder.inputs if name in used]
    inits = [numpy_helper.from_array(v, name) for name, v in builder.g.initializers.items() if name in used]
    out_dims = [f"{output}_dim{i}" for i in range(builder.g.ranks.get(final, 4))]
    graph = helper.make_graph(nodes, (param.name or "caffe").replace(" ", "_"), inputs,
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, out_dims)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="deep-retrieval nets.onnx_export",
                              producer_version=EXPORTER_VERSION)
    model.ir_version = min(model.ir_version, 10)
    meta = {"exporter_version": EXPORTER_VERSION, "output": output, "proto": str(proto),
            "proto_sha256": hashlib.sha256(Path(proto).read_bytes()).hexdigest(),
            "folded_convolutions": str(len(builder.plan)), "caffe_layers": str(len(layers))}
    if weights:
        meta["weights"] = str(weights)
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    return model


def export_onnx(proto: str | os.PathLike, weights: str | os.PathLike | None, out_path: str | os.PathLike,
                output: str = "rmac/normalized", net=None) -> Path:
    """Export the deploy net (prototxt + caffemodel) up to `output` to an ONNX file (atomic write)."""
    model = build_onnx(proto, weights, output, net=net)
    atomic_write_bytes(out_path, model.SerializeToString())
    return Path(out_path)
