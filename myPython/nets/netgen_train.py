"""Generator of the training nets and solvers (distillation, lifted structure, pair losses, triplet).

Every training net is made by model surgery from a deploy net (`netgen.deploy_net` for the published
ResNet-101, `default_net.default_prototxt` for the embedded default model): its ``data``/``rois`` inputs
are replaced by a Python data layer (TRAIN and TEST twins) and a `RigidGridLayer`, every parameter is
frozen except the named trainable head layers, and loss layers are appended (built with `caffe.net_spec`).
Towers (the 3-resolution teacher ``l_/m_/h_``, the triplet ``''/p_/n_``) are prefixed copies of the deploy
layers whose parameters are shared by name (``<layer>_<k>``).

Checked-in files (ResNet-101, full scale) live under ``proto/train/``; regenerate with
``deep-retrieval proto`` (part of `make proto`), verify with ``--check``.
Small nets on the default model's trunk are written at run time (``--small DIR``).

Paths inside the nets (image folders, lists, teacher features) are relative to the *data root*:
`myPython.training.train` runs Caffe with the data root (``--data-root``, default the solver's directory) as the
current directory; the data layers also honour ``root`` / $DEEP_RETRIEVAL_DATA. A solver's ``net`` is
relative to the solver file and its ``snapshot_prefix`` to ``train --output-dir``; `myPython.training.train`
rewrites both to absolute paths at load time.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

os.environ.setdefault("GLOG_minloglevel", "2")

from caffe import layers as L  # noqa: E402
from caffe import params as P  # noqa: E402
from caffe.net_spec import NetSpec  # noqa: E402
from caffe.proto import caffe_pb2  # noqa: E402

from myPython.nets import netgen  # noqa: E402
from myPython.nets.param_str import format_param_str as param_str  # noqa: E402

PYTHON_MODULE = netgen.PYTHON_MODULE  # module of the Python layers in the checked-in nets
FROZEN = {"lr_mult": 0, "decay_mult": 0}
#: The published training conventions: shift Scale trained in its bias only, PCA InnerProduct 1/2.
SHIFT_TRAIN = ({"lr_mult": 0, "decay_mult": 0}, {"lr_mult": 2, "decay_mult": 0})
PCA_TRAIN = ({"lr_mult": 1, "decay_mult": 1}, {"lr_mult": 2, "decay_mult": 0})
TEACHER_SIZES = ((192, 256), (384, 512), (576, 768))
TEACHER_PREFIXES = ("l_", "m_", "h_")
TRIPLET_PREFIXES = ("", "p_", "n_")


# --------------------------------------------------------------------------------------------
# Small helpers on NetParameter / LayerParameter
# --------------------------------------------------------------------------------------------


def python_layer(
    name: str,
    layer: str,
    bottoms: Sequence[str],
    tops: Sequence[str],
    params: Mapping[str, Any] | None = None,
    module: str = PYTHON_MODULE,
    phase: int | None = None,
    loss_weight: float | None = None,
) -> caffe_pb2.LayerParameter:
    """A Python layer (optionally restricted to one phase)."""
    lp = caffe_pb2.LayerParameter(name=name, type="Python")
    lp.bottom.extend(bottoms)
    lp.top.extend(tops)
    lp.python_param.module = module
    lp.python_param.layer = layer
    lp.python_param.param_str = param_str(params or {})
    if phase is not None:
        lp.include.add().phase = phase
    if loss_weight is not None:
        lp.loss_weight.append(loss_weight)
    return lp


def learnable_blobs(layer: caffe_pb2.LayerParameter) -> int:
    """Number of parameter blobs a layer owns (0 for layers without parameters)."""
    kind = layer.type
    if kind in ("Convolution", "Deconvolution"):
        return 1 + int(layer.convolution_param.bias_term)
    if kind == "InnerProduct":
        return 1 + int(layer.inner_product_param.bias_term)
    if kind == "BatchNorm":
        return 3
    if kind == "Scale":
        return 0 if len(layer.bottom) > 1 else 1 + int(layer.scale_param.bias_term)
    if kind in ("Bias", "PReLU"):
        return 0 if len(layer.bottom) > 1 else 1
    if kind == "Embed":
        return 1 + int(layer.embed_param.bias_term)
    return 0


def set_params(layer: caffe_pb2.LayerParameter, specs: Sequence[Mapping[str, Any]] | None,
               share_name: str | None = None) -> None:
    """Replace the ``param`` specs of a layer (frozen when ``specs`` is None); name them for sharing."""
    count = learnable_blobs(layer)
    if count == 0:
        return
    specs = list(specs) if specs is not None else [FROZEN] * count
    if len(specs) < count:
        specs = specs + [FROZEN] * (count - len(specs))
    del layer.param[:]
    for k, spec in enumerate(specs[:count], 1):
        p = layer.param.add()
        if share_name is not None:
            p.name = f"{share_name}_{k}"
        p.lr_mult = float(spec.get("lr_mult", 1))
        p.decay_mult = float(spec.get("decay_mult", 1))
    if layer.type == "BatchNorm":
        layer.batch_norm_param.use_global_stats = True


def freeze(net: caffe_pb2.NetParameter, trainable: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
           keep_names: bool = True) -> caffe_pb2.NetParameter:
    """Deploy -> train toggle: every parameter frozen (BatchNorm on global stats) except ``trainable``.

    ``trainable`` maps layer names to their param specs (lr_mult/decay_mult). Existing param names
    (weight sharing) are kept.
    """
    trainable = dict(trainable or {})
    unknown = set(trainable) - {layer.name for layer in net.layer}
    if unknown:
        raise ValueError(f"netgen_train: no layer(s) {sorted(unknown)} to train in {net.name}")
    for layer in net.layer:
        names = [p.name for p in layer.param] if keep_names else []
        set_params(layer, trainable.get(layer.name))
        for p, name in zip(layer.param, names):
            if name:
                p.name = name
    return net


def strip_learning(net: caffe_pb2.NetParameter) -> caffe_pb2.NetParameter:
    """Train -> deploy toggle: drop lr/decay settings (keep only sharing names)."""
    for layer in net.layer:
        names = [p.name for p in layer.param]
        del layer.param[:]
        if any(names):
            for name in names:
                layer.param.add().name = name
    return net


def snippet(inputs: Mapping[str, Sequence[int]], build: Callable[[NetSpec], None]) -> list[caffe_pb2.LayerParameter]:
    """Layers made with NetSpec on top of existing blobs (named in ``inputs`` with placeholder shapes)."""
    n = NetSpec()
    for name, shape in inputs.items():
        n[name] = L.Input(shape={"dim": list(shape)})
    build(n)
    proto = n.to_proto()
    return [layer for layer in proto.layer if not (layer.type == "Input" and layer.top[0] in inputs)]


def without_inputs(deploy: caffe_pb2.NetParameter) -> list[caffe_pb2.LayerParameter]:
    return [copy.deepcopy(layer) for layer in deploy.layer if layer.type != "Input"]


def grid_layer(data: str = "data", rois: str = "rois", levels: int = 2, name: str | None = None):
    return python_layer(name or rois, "RigidGridLayer", [data], [rois], {"L": levels})


def training_net(
    deploy: caffe_pb2.NetParameter,
    data_layers: Sequence[caffe_pb2.LayerParameter],
    trainable: Mapping[str, Sequence[Mapping[str, Any]]],
    name: str,
    levels: int = 2,
) -> caffe_pb2.NetParameter:
    """Deploy net -> training net: data layers + RigidGrid rois in place of the inputs, frozen trunk."""
    net = caffe_pb2.NetParameter(name=name)
    for layer in data_layers:
        net.layer.add().CopyFrom(layer)
    net.layer.add().CopyFrom(grid_layer(levels=levels))
    for layer in without_inputs(deploy):
        net.layer.add().CopyFrom(layer)
    return freeze(net, trainable)


def pin_batch(net: caffe_pb2.NetParameter, train_batch: int, test_batch: int | None = None) -> caffe_pb2.NetParameter:
    """Give every two-bottom AggregateLayer an explicit ``batch_size`` (one copy per phase when they differ).

    At net set-up the rois computed by a Python layer are still zeros, so an AggregateLayer would size its
    top for one image and the loss layers' shape checks would fail; the explicit size avoids that.
    """
    layers = list(net.layer)
    del net.layer[:]
    for layer in layers:
        is_agg = layer.type == "Python" and layer.python_param.layer == "AggregateLayer" and len(layer.bottom) == 2
        if not is_agg:
            net.layer.add().CopyFrom(layer)
            continue
        if test_batch is None or test_batch == train_batch:
            layer.python_param.param_str = param_str({"batch_size": int(train_batch)})
            net.layer.add().CopyFrom(layer)
            continue
        for phase, batch, suffix in ((caffe_pb2.TRAIN, train_batch, ""), (caffe_pb2.TEST, test_batch, "_test")):
            twin = net.layer.add()
            twin.CopyFrom(layer)
            twin.name = layer.name + suffix
            twin.python_param.param_str = param_str({"batch_size": int(batch)})
            del twin.include[:]
            twin.include.add().phase = phase
    return net


def batches_of(train: Mapping[str, Any], test: Mapping[str, Any] | None) -> tuple[int, int | None]:
    return int(train["batch_size"]), None if test is None else int(test["batch_size"])


def twin_data_layers(layer: str, tops: Sequence[str], train: Mapping[str, Any], test: Mapping[str, Any] | None,
                     module: str = PYTHON_MODULE) -> list[caffe_pb2.LayerParameter]:
    """TRAIN (and TEST) instances of one Python data layer."""
    out = [python_layer(f"{tops[0]}_train" if test else tops[0], layer, [], tops, train, module, caffe_pb2.TRAIN
                        if test else None)]
    if test:
        out.append(python_layer(f"{tops[0]}_test", layer, [], tops, test, module, caffe_pb2.TEST))
    return out


def add_layers(net: caffe_pb2.NetParameter, layers: Sequence[caffe_pb2.LayerParameter]) -> caffe_pb2.NetParameter:
    for layer in layers:
        net.layer.add().CopyFrom(layer)
    return net


# --------------------------------------------------------------------------------------------
# Losses (NetSpec snippets)
# --------------------------------------------------------------------------------------------


def lifted_loss(desc: str = "rmac/normalized", label: str = "label", margin: float = 1.0,
                python: bool = False) -> list[caffe_pb2.LayerParameter]:
    """LiftedStructSimilaritySoftmaxLoss (C++) or its Python twin on descriptors + labels."""

    def build(n: NetSpec) -> None:
        if python:
            n.loss = L.Python(n[desc], n[label], loss_weight=1, python_param={
                "module": PYTHON_MODULE, "layer": "LiftedStructSimilaritySoftmaxLossLayer",
                "param_str": param_str({"margin": margin})})
        else:
            n.loss = L.LiftedStructSimilaritySoftmaxLoss(
                n[desc], n[label], loss_weight=1, lifted_struct_sim_softmax_loss_param={"margin": margin})

    return snippet({desc: (2, 8, 1, 1), label: (2,)}, build)


def euclidean_loss(target: str = "features", desc: str = "rmac/normalized") -> list[caffe_pb2.LayerParameter]:
    """Caffe EuclideanLoss sum ||a - b||^2 / (2B) between teacher targets and the descriptor."""

    def build(n: NetSpec) -> None:
        n.loss = L.EuclideanLoss(n[target], n[desc], loss_weight=1)

    return snippet({target: (2, 8, 1, 1), desc: (2, 8, 1, 1)}, build)


def pair_loss(x: str, y: str, kind: str = "l2") -> list[caffe_pb2.LayerParameter]:
    """Python PairL2LossLayer (``l2``) or PairLiftedStructuredLossLayer (``lifted``): x learns y's distances."""
    layer = {"l2": "PairL2LossLayer", "lifted": "PairLiftedStructuredLossLayer"}[kind]

    def build(n: NetSpec) -> None:
        n.loss = L.Python(n[x], n[y], loss_weight=1,
                          python_param={"module": PYTHON_MODULE, "layer": layer, "param_str": "{}"})

    return snippet({x: (2, 8, 1, 1), y: (2, 8, 1, 1)}, build)


def triplet_loss(anchor: str, positive: str, negative: str, margin: float = 1.0) -> list[caffe_pb2.LayerParameter]:
    """(1/2B) sum max(0, m + ||a - p||^2 - ||a - n||^2) from standard layers (Caffe has no TripletLoss).

    Eltwise (a - p, a - n) -> Reduction SUMSQ per sample -> Eltwise difference -> Power (+ margin)
    -> ReLU -> Reduction MEAN over the batch x 0.5, the loss output.
    """

    def build(n: NetSpec) -> None:
        n["triplet/ap"] = L.Eltwise(n[anchor], n[positive], operation=P.Eltwise.SUM, coeff=[1, -1])
        n["triplet/an"] = L.Eltwise(n[anchor], n[negative], operation=P.Eltwise.SUM, coeff=[1, -1])
        n["triplet/ap_dist"] = L.Reduction(n["triplet/ap"], operation=P.Reduction.SUMSQ, axis=1)
        n["triplet/an_dist"] = L.Reduction(n["triplet/an"], operation=P.Reduction.SUMSQ, axis=1)
        n["triplet/gap"] = L.Eltwise(n["triplet/ap_dist"], n["triplet/an_dist"], operation=P.Eltwise.SUM,
                                     coeff=[1, -1])
        n["triplet/hinge"] = L.Power(n["triplet/gap"], shift=margin)
        n["triplet/hinge_relu"] = L.ReLU(n["triplet/hinge"], in_place=True)
        n.loss = L.Reduction(n["triplet/hinge"], operation=P.Reduction.MEAN, axis=0, coeff=0.5, loss_weight=1)

    return snippet({anchor: (2, 8, 1, 1), positive: (2, 8, 1, 1), negative: (2, 8, 1, 1)}, build)


def feature_targets(train_npy: str, test_npy: str | None, label: str = "label",
                    top: str = "features") -> list[caffe_pb2.LayerParameter]:
    """FeatureLayer lookups of teacher descriptors (row = label), TRAIN and TEST twins."""
    if test_npy is None:
        return [python_layer(top, "FeatureLayer", [label], [top], {"features": train_npy})]
    return [
        python_layer(f"{top}_train", "FeatureLayer", [label], [top], {"features": train_npy}, phase=caffe_pb2.TRAIN),
        python_layer(f"{top}_test", "FeatureLayer", [label], [top], {"features": test_npy}, phase=caffe_pb2.TEST),
    ]


# --------------------------------------------------------------------------------------------
# Head branches used by the reduce nets and the cached-feature nets
# --------------------------------------------------------------------------------------------


def reduce_parallel_branch(dim: int = 512, channels: int = 2048, trainable: bool = True):
    """``pooled_rois_512/pca`` on the shifted regional features -> ``rmac_512/normalized``."""
    specs = [dict(s) for s in PCA_TRAIN] if trainable else [FROZEN, FROZEN]

    def build(n: NetSpec) -> None:
        n["pooled_rois_512/pca"] = L.InnerProduct(
            n["pooled_rois/centered"], num_output=dim, param=specs,
            weight_filler={"type": "xavier"}, bias_filler={"type": "constant", "value": 0})
        n["pooled_rois_512/pca/reshaped"] = L.Reshape(n["pooled_rois_512/pca"],
                                                      reshape_param={"shape": {"dim": [0, 0, 1, 1]}})
        n["pooled_rois_512/pca/normalized"] = netgen.normalize_layer(n["pooled_rois_512/pca/reshaped"])
        n["rmac_512"] = L.Python(n["pooled_rois_512/pca/normalized"], n["rois"], python_param={
            "module": PYTHON_MODULE, "layer": "AggregateLayer", "param_str": "{}"})
        n["rmac_512/normalized"] = netgen.normalize_layer(n["rmac_512"])

    return snippet({"pooled_rois/centered": (8, channels, 1, 1), "rois": (8, 5)}, build)


def reduce_serial_branch(dim: int = 512, channels: int = 2048, trainable: bool = True):
    """``pooled_rois/shift`` + ``pooled_rois/reduce`` on the final descriptor -> ``pooled_rois/reduce/normalized``."""
    shift = [dict(s) for s in SHIFT_TRAIN] if trainable else [FROZEN, FROZEN]
    pca = [dict(s) for s in PCA_TRAIN] if trainable else [FROZEN, FROZEN]

    def build(n: NetSpec) -> None:
        n["pooled_rois/shift"] = L.Scale(n["rmac/normalized"], param=shift, scale_param={
            "bias_term": True, "filler": {"type": "constant", "value": 1},
            "bias_filler": {"type": "constant", "value": 0}})
        n["pooled_rois/reduce"] = L.InnerProduct(
            n["pooled_rois/shift"], num_output=dim, param=pca,
            weight_filler={"type": "xavier"}, bias_filler={"type": "constant", "value": 0})
        n["pooled_rois/reduce/reshaped"] = L.Reshape(n["pooled_rois/reduce"],
                                                     reshape_param={"shape": {"dim": [0, 0, 1, 1]}})
        n["pooled_rois/reduce/normalized"] = netgen.normalize_layer(n["pooled_rois/reduce/reshaped"])

    return snippet({"rmac/normalized": (1, channels, 1, 1)}, build)


def head_specs(shift_mult: float = 2.0, pca_mult: float = 1.0) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    """(shift, pca) param specs: shift trains its bias only (``shift_mult``); PCA W at ``pca_mult``, b at 2x."""
    shift = ({"lr_mult": 0, "decay_mult": 0}, {"lr_mult": shift_mult, "decay_mult": 0})
    pca = ({"lr_mult": pca_mult, "decay_mult": 1}, {"lr_mult": 2 * pca_mult, "decay_mult": 0})
    return shift, pca


def head_from_regions(n: NetSpec, regions: str, rois: str, channels: int, pca_dim: int,
                      pca_name: str = "pooled_rois/pca", shift_mult: float = 2.0, pca_mult: float = 1.0) -> None:
    """The R-MAC head after ROI pooling + L2 (same layer names as the deploy head, so weights transfer)."""
    shift, pca = head_specs(shift_mult, pca_mult)
    netgen.rmac_head_from_regions(n, regions, channels, pca_dim, pca_name=pca_name, rois=rois,
                                  centered_param=shift, pca_param=pca)
