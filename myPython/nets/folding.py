"""A Caffe net as a graph of single-assignment steps, and BatchNorm/Scale folded into convolutions.

`ssa_steps` gives every layer Caffe instantiates, with in-place blobs renamed to versions; `fold_plan`
finds the BatchNorm/Scale chains that directly follow a convolution (and feed nothing else), and
`folded_conv_params` computes the folded weights in float64. The ONNX export and the Caffe deploy copy
(`fold_batchnorm`) share this, so both fold exactly the same layers the same way.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from myPython.common.fileio import atomic_write_text
from myPython.errors import ModelError


class UnsupportedLayerError(ModelError):
    """A layer that has no ONNX (or folding) equivalent; the message names the layer and its type."""


def active_layers(param, net) -> list:
    """The prototxt's layers that Caffe instantiated in this phase (include/exclude rules applied)."""
    names = set(net._layer_names)
    return [layer for layer in param.layer if layer.name in names]


def truncate_at(layers: list, output: str) -> list:
    """Layers Caffe runs for ``forward(end=output)``: up to the layer named ``output`` if there is one."""
    for i, layer in enumerate(layers):
        if layer.name == output:
            return layers[: i + 1]
    return layers


@dataclass
class Step:
    """One layer with its bottoms/tops renamed to single-assignment tensor names."""

    layer: Any
    inputs: list[str]
    outputs: list[str]


def ssa_steps(layers: Sequence, output: str | None) -> tuple[list[Step], str, Counter]:
    """Single-assignment names (in-place layers get new versions); also the output tensor and consumer counts."""
    current: dict[str, str] = {}
    versions: Counter = Counter()
    steps = []
    for layer in layers:
        inputs = []
        for bottom in layer.bottom:
            if bottom not in current:
                raise UnsupportedLayerError(f"layer {layer.name} ({layer.type}) reads blob {bottom!r}, "
                                            "which no earlier layer produces")
            inputs.append(current[bottom])
        outputs = []
        for top in layer.top:
            if layer.type == "Input":
                name = top
            else:
                versions[top] += 1
                name = f"{top}#{versions[top]}"
            current[top] = name
            outputs.append(name)
        steps.append(Step(layer, inputs, outputs))
    consumers: Counter = Counter(t for step in steps for t in step.inputs)
    if output is None:
        return steps, "", consumers
    if output not in current:
        raise ValueError(f"the net has no blob {output!r}")
    consumers[current[output]] += 1
    return steps, current[output], consumers


def bn_affine(layer, blobs) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with BatchNorm(x) = a * x + b per channel, as Caffe computes it with global statistics."""
    p = layer.batch_norm_param
    if p.HasField("use_global_stats") and not p.use_global_stats:
        raise UnsupportedLayerError(f"layer {layer.name} (BatchNorm) uses batch statistics "
                                    "(use_global_stats: false); a deploy net needs global statistics")
    factor = float(blobs[2].data.reshape(-1)[0])
    factor = 0.0 if factor == 0 else 1.0 / factor
    mean = blobs[0].data.astype(np.float64).reshape(-1) * factor
    var = blobs[1].data.astype(np.float64).reshape(-1) * factor
    a = 1.0 / np.sqrt(var + float(p.eps))
    return a, -mean * a


def scale_affine(layer, blobs) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of a one-bottom Scale layer (bias zero without bias_term)."""
    a = blobs[0].data.astype(np.float64).reshape(-1)
    b = blobs[1].data.astype(np.float64).reshape(-1) if layer.scale_param.bias_term else np.zeros_like(a)
    return a, b


def _foldable(step: Step, channels: int, params) -> bool:
    layer = step.layer
    if len(step.inputs) != 1 or len(step.outputs) != 1:
        return False
    if layer.type == "BatchNorm":
        p = layer.batch_norm_param
        return not (p.HasField("use_global_stats") and not p.use_global_stats)
    if layer.type == "Scale":
        p = layer.scale_param
        blobs = params.get(layer.name, [])
        return p.axis in (1, -3) and p.num_axes == 1 and len(blobs) >= 1 and blobs[0].data.size == channels
    return False


def fold_plan(steps: Sequence[Step], consumers: Counter, params) -> dict[str, list[Step]]:
    """Convolution layer name -> the BatchNorm/Scale steps that directly follow it and fold into it."""
    readers: dict[str, list[Step]] = {}
    for s in steps:
        for t in s.inputs:
            readers.setdefault(t, []).append(s)
    plan: dict[str, list[Step]] = {}
    for step in steps:
        if step.layer.type != "Convolution" or len(step.outputs) != 1:
            continue
        channels = int(step.layer.convolution_param.num_output)
        chain, tensor = [], step.outputs[0]
        while consumers[tensor] == 1 and len(readers.get(tensor, [])) == 1:
            nxt = readers[tensor][0]
            if not _foldable(nxt, channels, params):
                break
            chain.append(nxt)
            tensor = nxt.outputs[0]
        if chain:
            plan[step.layer.name] = chain
    return plan


def folded_conv_params(conv_layer, params, chain: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(weights, bias) float32 of a convolution with the BatchNorm/Scale layers of `chain` folded in."""
    blobs = params[conv_layer.name]
    weight = blobs[0].data.astype(np.float64)
    cout = weight.shape[0]
    bias = blobs[1].data.astype(np.float64).reshape(-1) if conv_layer.convolution_param.bias_term else np.zeros(cout)
    for item in chain:
        layer = getattr(item, "layer", item)
        a, b = (bn_affine if layer.type == "BatchNorm" else scale_affine)(layer, params[layer.name])
        weight = weight * a.reshape(-1, *([1] * (weight.ndim - 1)))
        bias = bias * a + b
    return weight.astype(np.float32), bias.astype(np.float32)


def fold_batchnorm(proto: str | os.PathLike, weights: str | os.PathLike, out_proto: str | os.PathLike,
                   out_weights: str | os.PathLike) -> list[str]:
    """Write a Caffe deploy copy with every BatchNorm/Scale that follows a convolution folded into it.

    The folded convolutions get a bias; every other layer and weight is copied unchanged. Returns the
    names of the folded convolutions (`deep-retrieval surgery fold-bn`, the caffe-folded engine).
    """
    from google.protobuf import text_format

    from myPython.nets.runtime import caffe, caffe_pb2, load_net, read_net_param, save_net
    param = read_net_param(proto)
    net = load_net(proto, weights)
    active = active_layers(param, net)
    steps, _, consumers = ssa_steps(active, None)
    params = dict(net.params.items())
    plan = fold_plan(steps, consumers, params)
    dropped = {s.layer.name for chain in plan.values() for s in chain}
    out = caffe_pb2.NetParameter()
    out.CopyFrom(param)
    del out.layer[:]
    for layer in param.layer:
        if layer.name in dropped:
            continue
        copy = out.layer.add()
        copy.CopyFrom(layer)
        if layer.name in plan:
            copy.convolution_param.bias_term = True
            copy.ClearField("blobs")
            last = plan[layer.name][-1].layer
            if last.top[0] != layer.top[0]:
                del copy.top[:]
                copy.top.append(last.top[0])
    out_proto, out_weights = Path(out_proto), Path(out_weights)
    header = f"# {Path(proto).name} with BatchNorm/Scale folded into {len(plan)} convolutions (nets.folding)\n"
    atomic_write_text(out_proto, header + text_format.MessageToString(out))
    folded = caffe.Net(str(out_proto), caffe.TEST)
    for name, blobs in folded.params.items():
        if name in plan:
            layer = next(x for x in active if x.name == name)
            weight, bias = folded_conv_params(layer, params, plan[name])
            blobs[0].data[...] = weight
            blobs[1].data[...] = bias
        else:
            for dst, src in zip(blobs, params[name]):
                dst.data[...] = src.data
    save_net(folded, out_weights)
    return list(plan)
