"""Caffemodel / prototxt surgery, as sub-commands.

  deep-retrieval surgery list    --weights W [--proto P]
  deep-retrieval surgery compare A.caffemodel B.caffemodel
  deep-retrieval surgery copy    --weights SRC.caffemodel --proto DST.prototxt --out OUT.caffemodel
                                         [--init DST.caffemodel] [--rename OLD=NEW ...] [--prefix l_ --prefix m_ ...]
  deep-retrieval surgery toggle  --proto P --to train|deploy --out Q [--trainable LAYER ...]
  deep-retrieval surgery fold-bn --proto P --weights W --out-proto Q --out-weights V
  deep-retrieval surgery truncate-pca --proto P --weights W --layer pooled_rois/pca --dim 512
                                         --out-proto Q --out-weights V [--new-layer pooled_rois/pca_512]
  deep-retrieval surgery teacher --proto DEPLOY --weights W --out-proto T --out-weights TW
                                         [--sizes 192x256,384x512,576x768] [--mean B,G,R]

Copying is by layer name (after ``--rename`` and with any ``--prefix`` stripped, so one set of weights
fills every tower of a teacher or triplet net); blobs must have the same number of values. Caffe aborts
the process on shape mismatches in ``copy_from``, so every tool checks shapes itself first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from google.protobuf import text_format  # noqa: E402

from myPython.common.fileio import atomic_write_text  # noqa: E402
from myPython.nets import runtime  # noqa: E402
from myPython.nets.folding import fold_batchnorm  # noqa: E402,F401  (re-exported: `surgery fold-bn`)
from myPython.nets.runtime import (  # noqa: E402
    blob_shape,
    caffe,
    caffe_pb2,
    caffemodel_shapes,
    net_shapes,
    read_net_param,
    read_weights,
    save_net,
)

# --------------------------------------------------------------------------------------------
# Reading caffemodels without a prototxt
# --------------------------------------------------------------------------------------------


def blob_array(blob: caffe_pb2.BlobProto) -> np.ndarray:
    """A BlobProto as a float32 array of its declared shape."""
    values = blob.data if len(blob.data) else blob.double_data
    return np.asarray(values, dtype=np.float32).reshape(blob_shape(blob))


def caffemodel_params(weights: str | os.PathLike[str]) -> dict[str, list[np.ndarray]]:
    """Layer name -> parameter arrays of a caffemodel (layers without blobs are left out)."""
    net = read_weights(weights)
    layers = list(net.layer) or list(net.layers)
    return {layer.name: [blob_array(b) for b in layer.blobs] for layer in layers if len(layer.blobs)}


def load_net(proto: str | os.PathLike[str], weights: str | os.PathLike[str] | None = None,
             phase: int | None = None) -> caffe.Net:
    """A net whose caffemodel may fill only some layers (surgery and training start from such pairs)."""
    return runtime.load_net(proto, weights, phase, require_all=False)


# --------------------------------------------------------------------------------------------
# list / compare
# --------------------------------------------------------------------------------------------


def list_params(weights: str | os.PathLike[str] | None = None, proto: str | os.PathLike[str] | None = None
                ) -> list[tuple[str, str, list[tuple[int, ...]]]]:
    """(layer, type, blob shapes) of every parameter layer, from a net (proto) or a caffemodel alone."""
    if proto is not None:
        param = read_net_param(proto)
        types = {layer.name: layer.type for layer in param.layer}
        net = load_net(proto, weights)
        return [(name, types.get(name, "?"), shapes) for name, shapes in net_shapes(net).items()]
    if weights is None:
        raise ValueError("list: give --weights and/or --proto")
    model = read_weights(weights)
    layers = list(model.layer) or list(model.layers)
    shapes = caffemodel_shapes(weights)
    return [(layer.name, str(layer.type), shapes[layer.name]) for layer in layers if layer.name in shapes]


@dataclass
class Comparison:
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    shape_differs: list[str] = field(default_factory=list)
    max_abs_diff: dict[str, float] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not (self.only_a or self.only_b or self.shape_differs) and all(
            v == 0 for v in self.max_abs_diff.values())

    def report(self) -> str:
        lines = [f"only in A ({len(self.only_a)}): {', '.join(self.only_a) or '-'}",
                 f"only in B ({len(self.only_b)}): {', '.join(self.only_b) or '-'}",
                 f"different shapes ({len(self.shape_differs)}): {', '.join(self.shape_differs) or '-'}"]
        changed = {k: v for k, v in self.max_abs_diff.items() if v > 0}
        lines.append(f"different values ({len(changed)} of {len(self.max_abs_diff)} common layers)")
        lines += [f"  {name}: max |A - B| = {value:.6g}" for name, value in changed.items()]
        return "\n".join(lines)


def compare_params(a: Mapping[str, list[np.ndarray]], b: Mapping[str, list[np.ndarray]]) -> Comparison:
    out = Comparison(only_a=[k for k in a if k not in b], only_b=[k for k in b if k not in a])
    for name in (k for k in a if k in b):
        xa, xb = a[name], b[name]
        if len(xa) != len(xb) or any(u.size != v.size for u, v in zip(xa, xb)):
            out.shape_differs.append(name)
            continue
        out.max_abs_diff[name] = max(float(np.max(np.abs(u.ravel() - v.ravel()), initial=0.0))
                                     for u, v in zip(xa, xb))
    return out


def compare_models(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> Comparison:
    """Parameter layers only in A / only in B / with other shapes, and the largest value difference."""
    return compare_params(caffemodel_params(a), caffemodel_params(b))


# --------------------------------------------------------------------------------------------
# copy with renaming and prefixes
# --------------------------------------------------------------------------------------------


@dataclass
class CopyReport:
    copied: list[tuple[str, str]] = field(default_factory=list)  # (dst layer, src layer)
    missing: list[str] = field(default_factory=list)  # dst layers without a source
    mismatched: list[str] = field(default_factory=list)


def source_name(dst: str, rename: Mapping[str, str], prefixes: Sequence[str]) -> str:
    """Source layer for a destination layer: prefix stripped, then ``rename`` (src -> dst) inverted."""
    base = dst
    for prefix in sorted(prefixes, key=len, reverse=True):
        if prefix and base.startswith(prefix):
            base = base[len(prefix):]
            break
    inverse = {new: old for old, new in rename.items()}
    return inverse.get(base, base)


def copy_params(src: Mapping[str, list[np.ndarray]], dst: caffe.Net, rename: Mapping[str, str] | None = None,
                prefixes: Sequence[str] = (), strict: bool = False) -> CopyReport:
    """Fill the parameters of ``dst`` from ``src`` arrays (by name, after renaming/prefix stripping)."""
    rename = dict(rename or {})
    report = CopyReport()
    for name, blobs in dst.params.items():
        src_name = source_name(name, rename, prefixes)
        arrays = src.get(src_name)
        if arrays is None:
            report.missing.append(name)
            continue
        if len(arrays) != len(blobs) or any(a.size != b.data.size for a, b in zip(arrays, blobs)):
            report.mismatched.append(f"{name} <- {src_name}: {[a.shape for a in arrays]} vs "
                                     f"{[tuple(b.data.shape) for b in blobs]}")
            continue
        for a, b in zip(arrays, blobs):
            b.data[...] = a.reshape(b.data.shape)
        report.copied.append((name, src_name))
    if strict and (report.missing or report.mismatched):
        raise ValueError(f"copy: {len(report.missing)} layer(s) without source "
                         f"({', '.join(report.missing[:5])}), {len(report.mismatched)} mismatched "
                         f"({'; '.join(report.mismatched[:3])})")
    return report


def net_params(net: caffe.Net) -> dict[str, list[np.ndarray]]:
    return {name: [b.data.copy() for b in blobs] for name, blobs in net.params.items()}


def copy_weights(src_weights: str | os.PathLike[str], dst_proto: str | os.PathLike[str],
                 out: str | os.PathLike[str], init: str | os.PathLike[str] | None = None,
                 rename: Mapping[str, str] | None = None, prefixes: Sequence[str] = (),
                 strict: bool = False) -> CopyReport:
    """Write ``out``: the net of ``dst_proto`` (optionally initialised from ``init``) filled from ``src``."""
    net = load_net(dst_proto, init)
    report = copy_params(caffemodel_params(src_weights), net, rename, prefixes, strict)
    save_net(net, out)
    return report


# --------------------------------------------------------------------------------------------
# deploy <-> train, teacher
# --------------------------------------------------------------------------------------------


def toggle(proto: str | os.PathLike[str], to: str, out: str | os.PathLike[str],
           trainable: Sequence[str] = ()) -> caffe_pb2.NetParameter:
    """``train``: frozen params everywhere (BatchNorm on global stats) except ``trainable`` layers, which
    get the head convention (Scale: bias lr 2; others: lr 1 / 2); ``deploy``: drop lr/decay settings."""
    from myPython.nets import netgen_train as G

    net = read_net_param(proto)
    if to == "train":
        specs = {}
        for layer in net.layer:
            if layer.name in trainable:
                specs[layer.name] = G.SHIFT_TRAIN if layer.type == "Scale" else G.PCA_TRAIN
        G.freeze(net, specs)
    elif to == "deploy":
        G.strip_learning(net)
    else:
        raise ValueError(f"toggle: --to must be train or deploy, got {to!r}")
    write_proto(net, out)
    return net


def write_proto(net: caffe_pb2.NetParameter, out: str | os.PathLike[str], header: str = "") -> Path:
    atomic_write_text(out, header + text_format.MessageToString(net))
    return Path(out)


def make_teacher(proto: str | os.PathLike[str], weights: str | os.PathLike[str], out_proto: str | os.PathLike[str],
                 out_weights: str | os.PathLike[str], sizes: Sequence[tuple[int, int]] | None = None,
                 mean: Sequence[float] | None = None) -> CopyReport:
    """3-tower teacher (l_/m_/h_, shared params) from a deploy net and its weights."""
    from myPython.nets import netgen_recipes as R
    from myPython.nets import netgen_train as G

    deploy = read_net_param(proto)
    sizes = tuple(sizes) if sizes else G.TEACHER_SIZES
    mean = tuple(mean) if mean else G.MODEL_MEAN_BGR
    write_proto(R.make_teacher(deploy, sizes, mean, input_hw=sizes[1]), out_proto,
                "# 3-resolution teacher made by myPython.nets.surgery teacher\n")
    return copy_weights(weights, out_proto, out_weights, prefixes=G.TEACHER_PREFIXES, strict=True)


# --------------------------------------------------------------------------------------------
# fold BatchNorm + Scale into convolutions
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# truncated PCA heads
# --------------------------------------------------------------------------------------------


def truncate_pca(proto: str | os.PathLike[str], weights: str | os.PathLike[str], layer: str, dim: int,
                 out_weights: str | os.PathLike[str], out_proto: str | os.PathLike[str] | None = None,
                 new_layer: str | None = None, target_proto: str | os.PathLike[str] | None = None) -> Path:
    """Keep the first ``dim`` outputs (rows of W, entries of b) of an InnerProduct: the leading PCA components.

    The reduced net is ``target_proto`` when given, else ``proto`` with that layer's ``num_output`` set to
    ``dim`` (and renamed to ``new_layer``) written to ``out_proto``. Every other layer is copied by name.
    Returns the prototxt of the reduced net.
    """
    params = caffemodel_params(weights)
    if layer not in params:
        raise ValueError(f"truncate-pca: {weights} has no layer {layer}")
    w = params[layer][0]
    if w.ndim != 2 or not 0 < dim <= w.shape[0]:
        raise ValueError(f"truncate-pca: {layer} has weights {w.shape}; cannot keep {dim} rows")
    new_name = new_layer or layer
    if target_proto is None:
        if out_proto is None:
            raise ValueError("truncate-pca: give --out-proto (or --target-proto)")
        net_param = read_net_param(proto)
        for lp in net_param.layer:
            if lp.name == layer:
                if lp.type != "InnerProduct":
                    raise ValueError(f"truncate-pca: {layer} is a {lp.type}, not an InnerProduct")
                lp.inner_product_param.num_output = dim
                lp.name = new_name
        write_proto(net_param, out_proto, f"# {layer} truncated to {dim} outputs by myPython.nets.surgery\n")
        target_proto = out_proto
    src = dict(params)
    src[new_name] = [a[:dim] for a in params[layer]]
    if new_name != layer:
        src.pop(layer)
    net = load_net(target_proto)
    report = copy_params(src, net)
    if new_name not in dict(report.copied):
        raise ValueError(f"truncate-pca: {target_proto} has no {dim}-output layer {new_name}")
    save_net(net, out_weights)
    return Path(target_proto)
