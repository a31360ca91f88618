"""Training-net recipes built from the blocks of `netgen_train`: towers and the 3-resolution teacher (model
surgery), the distillation student, lifted-structure, reduction, triplet and head-only nets, and solvers."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from typing import Any

os.environ.setdefault("GLOG_minloglevel", "2")

from caffe import layers as L  # noqa: E402
from caffe import params as P  # noqa: E402
from caffe.net_spec import NetSpec  # noqa: E402
from caffe.proto import caffe_pb2  # noqa: E402

from myPython.nets import netgen  # noqa: E402
from myPython.nets.netgen_train import (  # noqa: E402
    PYTHON_MODULE,
    TEACHER_PREFIXES,
    TEACHER_SIZES,
    TRIPLET_PREFIXES,
    add_layers,
    batches_of,
    euclidean_loss,
    feature_targets,
    grid_layer,
    head_from_regions,
    head_specs,
    lifted_loss,
    pair_loss,
    pin_batch,
    python_layer,
    reduce_parallel_branch,
    reduce_serial_branch,
    set_params,
    snippet,
    strip_learning,
    training_net,
    triplet_loss,
    twin_data_layers,
    without_inputs,
)
from myPython.rmac.preparation import MODEL_MEAN_BGR  # noqa: E402

# --------------------------------------------------------------------------------------------
# Towers (model surgery)
# --------------------------------------------------------------------------------------------


def tower_layers(
    layers: Sequence[caffe_pb2.LayerParameter],
    prefix: str,
    shared_blobs: Sequence[str] = (),
    trainable: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> list[caffe_pb2.LayerParameter]:
    """Copies of ``layers`` with names and blobs prefixed (except ``shared_blobs``) and params shared by name."""
    trainable = trainable or {}
    shared = set(shared_blobs)
    out = []
    for layer in layers:
        new = copy.deepcopy(layer)
        new.name = prefix + layer.name
        del new.bottom[:]
        del new.top[:]
        new.bottom.extend(b if b in shared else prefix + b for b in layer.bottom)
        new.top.extend(t if t in shared else prefix + t for t in layer.top)
        set_params(new, trainable.get(layer.name), share_name=layer.name)
        out.append(new)
    return out


def make_teacher(
    deploy: caffe_pb2.NetParameter,
    sizes: Sequence[tuple[int, int]] = TEACHER_SIZES,
    mean: Sequence[float] = MODEL_MEAN_BGR,
    prefixes: Sequence[str] = TEACHER_PREFIXES,
    input_hw: tuple[int, int] = (384, 512),
    output: str = "rmac/normalized",
    levels: int = 2,
) -> caffe_pb2.NetParameter:
    """3-resolution teacher from a deploy net: input ``data`` = raw BGR 0-255 (no mean).

    Per tower ``p``: ResizeLayer to its size with the mean -> ``p data`` -> RigidGridLayer ``p rois`` ->
    the deploy layers prefixed (params shared by name across towers, frozen); the towers' ``output``
    blobs are summed (``rmac/eltwise``) and L2-normalised (``rmac/eltwise/normalized``).
    """
    if len(sizes) != len(prefixes):
        raise ValueError("netgen_train: one prefix per teacher size")
    net = caffe_pb2.NetParameter(name=(deploy.name or "net") + "-teacher")
    data = net.layer.add(name="data", type="Input")
    data.top.append("data")
    data.input_param.shape.add().dim.extend([1, 3, int(input_hw[0]), int(input_hw[1])])
    body = without_inputs(deploy)
    for prefix, (h, w) in zip(prefixes, sizes):
        net.layer.add().CopyFrom(python_layer(f"{prefix}data", "ResizeLayer", ["data"], [f"{prefix}data"],
                                              {"h": int(h), "w": int(w), "mean": [float(m) for m in mean]}))
        net.layer.add().CopyFrom(grid_layer(f"{prefix}data", f"{prefix}rois", levels))
        add_layers(net, tower_layers(body, prefix))

    def build(n: NetSpec) -> None:
        n["rmac/eltwise"] = L.Eltwise(*[n[p + output] for p in prefixes], operation=P.Eltwise.SUM)
        n["rmac/eltwise/normalized"] = netgen.normalize_layer(n["rmac/eltwise"])

    return add_layers(net, snippet({p + output: (1, 8, 1, 1) for p in prefixes}, build))


# --------------------------------------------------------------------------------------------
# The training nets
# --------------------------------------------------------------------------------------------


def head_trainable(pca_name: str = "pooled_rois/pca", shift_mult: float = 2.0,
                   pca_mult: float = 1.0) -> dict[str, tuple[dict[str, float], ...]]:
    shift, pca = head_specs(shift_mult, pca_mult)
    return {"pooled_rois/centered": shift, pca_name: pca}


def student_net(deploy: caffe_pb2.NetParameter, train: Mapping[str, Any], test: Mapping[str, Any] | None,
                features: str, test_features: str | None, pca_name: str = "pooled_rois/pca",
                data_module: str = PYTHON_MODULE, name: str = "student", shift_mult: float = 2.0,
                pca_mult: float = 1.0) -> caffe_pb2.NetParameter:
    """Distillation student: image list (label = teacher row) -> frozen trunk -> trainable head ->
    EuclideanLoss(FeatureLayer targets, rmac/normalized)."""
    data = twin_data_layers("ImageListDataLayer", ["data", "label"], train, test, data_module)
    net = training_net(deploy, data, head_trainable(pca_name, shift_mult, pca_mult), name)
    add_layers(net, feature_targets(features, test_features))
    return pin_batch(add_layers(net, euclidean_loss()), *batches_of(train, test))


def lifted_net(deploy: caffe_pb2.NetParameter, train: Mapping[str, Any], test: Mapping[str, Any] | None,
               pca_name: str = "pooled_rois/pca", python: bool = False, margin: float = 1.0,
               data_module: str = PYTHON_MODULE, name: str = "lifted", shift_mult: float = 2.0,
               pca_mult: float = 1.0) -> caffe_pb2.NetParameter:
    """Metric learning: BinDataLayer -> frozen trunk -> trainable head -> lifted structure loss."""
    data = twin_data_layers("BinDataLayer", ["data", "label"], train, test, data_module)
    net = training_net(deploy, data, head_trainable(pca_name, shift_mult, pca_mult), name)
    return pin_batch(add_layers(net, lifted_loss(margin=margin, python=python)), *batches_of(train, test))


def reduce_net(deploy: caffe_pb2.NetParameter, train: Mapping[str, Any], test: Mapping[str, Any] | None,
               mode: str = "parallel", loss: str = "l2", dim: int = 512, channels: int = 2048,
               data_module: str = PYTHON_MODULE, name: str = "reduce") -> caffe_pb2.NetParameter:
    """Pair-loss reduction: a trainable ``dim`` head learns the pair distances of the frozen full head.

    ``parallel``: ``pooled_rois_512/pca`` on the shifted regions -> ``rmac_512/normalized``;
    ``serial``: ``pooled_rois/shift`` + ``pooled_rois/reduce`` on ``rmac/normalized``.
    """
    data = twin_data_layers("BinDataWithoutLabelLayer", ["data"], train, test, data_module)
    net = training_net(deploy, data, {}, name)
    if mode == "parallel":
        add_layers(net, reduce_parallel_branch(dim, channels))
        add_layers(net, pair_loss("rmac_512/normalized", "rmac/normalized", loss))
        return pin_batch(net, *batches_of(train, test))
    if mode == "serial":
        add_layers(net, reduce_serial_branch(dim, channels))
        add_layers(net, pair_loss("pooled_rois/reduce/normalized", "rmac/normalized", loss))
        return pin_batch(net, *batches_of(train, test))
    raise ValueError(f"netgen_train: reduce mode must be parallel or serial, got {mode!r}")


def reduce_deploy(deploy: caffe_pb2.NetParameter, mode: str, dim: int = 512, channels: int = 2048):
    """Deploy net of a reduce model: the full head plus the ``dim`` branch (output named in the docstring)."""
    net = copy.deepcopy(deploy)
    branch = reduce_parallel_branch(dim, channels, False) if mode == "parallel" else \
        reduce_serial_branch(dim, channels, False)
    return strip_learning(add_layers(net, branch))


def triplet_net(deploy: caffe_pb2.NetParameter, train: Mapping[str, Any], test: Mapping[str, Any] | None,
                pca_name: str = "pooled_rois/pca", margin: float = 1.0, data_module: str = PYTHON_MODULE,
                name: str = "triplet", levels: int = 2) -> caffe_pb2.NetParameter:
    """3 towers ('' anchor, p_ positive, n_ negative) sharing every parameter by name; margin loss."""
    tops = [p + "data" for p in TRIPLET_PREFIXES]
    net = caffe_pb2.NetParameter(name=name)
    add_layers(net, twin_data_layers("TripletDataLayer", tops, train, test, data_module))
    net.layer.add().CopyFrom(grid_layer("data", "rois", levels))
    body = without_inputs(deploy)
    for prefix in TRIPLET_PREFIXES:
        add_layers(net, tower_layers(body, prefix, shared_blobs=("rois",), trainable=head_trainable(pca_name)))
    out = "rmac/normalized"
    add_layers(net, triplet_loss(*[p + out for p in TRIPLET_PREFIXES], margin=margin))
    return pin_batch(net, *batches_of(train, test))


def head_net(features: str, batch_size: int, channels: int, pca_dim: int, loss: str = "lifted",
             sampler: str = "bin", test_features: str | None = None, targets: str | None = None,
             test_targets: str | None = None, margin: float = 1.0, seed: int = 0,
             data_module: str = PYTHON_MODULE, name: str = "head", shift_mult: float = 2.0,
             pca_mult: float = 1.0) -> caffe_pb2.NetParameter:
    """Head-only training net on cached regional features (`RegionFeatureDataLayer`), for fast runs.

    ``loss``: ``lifted`` (C++), ``lifted_python``, ``euclidean`` (needs ``targets`` = teacher .npy).
    The trainable layers carry the deploy names (``pooled_rois/centered``, ``pooled_rois/pca``).
    """
    train = {"features": features, "batch_size": batch_size, "sampler": sampler, "seed": seed}
    test = dict(train, features=test_features, seed=seed + 1) if test_features else None
    net = caffe_pb2.NetParameter(name=name)
    tops = ["pooled_rois/normalized", "rois", "label"]
    add_layers(net, twin_data_layers("RegionFeatureDataLayer", tops, train, test, data_module))

    def build(n: NetSpec) -> None:
        head_from_regions(n, "pooled_rois/normalized", "rois", channels, pca_dim, shift_mult=shift_mult,
                          pca_mult=pca_mult)

    add_layers(net, snippet({"pooled_rois/normalized": (8, channels, 1, 1), "rois": (8, 5)}, build))
    if loss in ("lifted", "lifted_python"):
        add_layers(net, lifted_loss(margin=margin, python=loss == "lifted_python"))
    elif loss == "euclidean":
        if targets is None:
            raise ValueError("netgen_train: the euclidean head net needs teacher targets")
        add_layers(net, feature_targets(targets, test_targets if test_features else None))
        add_layers(net, euclidean_loss())
    else:
        raise ValueError(f"netgen_train: unknown loss {loss!r}")
    return pin_batch(net, batch_size)


# --------------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------------


def solver(net: str, snapshot_prefix: str, base_lr: float, max_iter: int, lr_policy: str = "fixed",
           gamma: float | None = None, stepvalue: Sequence[int] = (), weight_decay: float = 1e-4,
           snapshot: int = 0, test_iter: int = 0, test_interval: int = 0, display: int = 100,
           momentum: float = 0.9, gpu: bool = True, random_seed: int | None = None) -> caffe_pb2.SolverParameter:
    """SGD solver (momentum 0.9) with relative ``net`` and ``snapshot_prefix``."""
    s = caffe_pb2.SolverParameter()
    s.net = net
    if test_iter and test_interval:
        s.test_iter.append(test_iter)
        s.test_interval = test_interval
        s.test_initialization = False
    s.base_lr = base_lr
    s.lr_policy = lr_policy
    if gamma is not None:
        s.gamma = gamma
    s.stepvalue.extend(stepvalue)
    s.momentum = momentum
    s.weight_decay = weight_decay
    s.max_iter = max_iter
    s.display = display
    if snapshot:
        s.snapshot = snapshot
    s.snapshot_prefix = snapshot_prefix
    s.solver_mode = caffe_pb2.SolverParameter.GPU if gpu else caffe_pb2.SolverParameter.CPU
    s.type = "SGD"
    if random_seed is not None:
        s.random_seed = random_seed
    return s
