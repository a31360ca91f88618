"""Offline PCA / PCA-whitening for R-MAC heads, written into caffemodels, and the offline fusion experiments.

  deep-retrieval pca learn --proto P --weights W --images DIR [--layer pooled_rois/normalized]
                                       [--dim 512] [--no-whiten] [--standardize] --out pca.npz
  deep-retrieval pca learn --vectors X.npy --dim 256 --out pca.npz
  deep-retrieval pca write --proto P --weights W --pca pca.npz --out-weights V [--out-proto Q]
                                       [--shift-layer pooled_rois/centered] [--proj-layer pooled_rois/pca]
  deep-retrieval pca truncate --proto P --weights W --dim 512 --out-proto Q --out-weights V
  deep-retrieval pca experiments --proto P --weights W --dataset OXFORD_DIR
                                       --layers res4b22,res3b3 [--S 512] [--L 2] [--pca-dim 0]

The head computes ``y = W (s * x + b) + c`` per region (Scale ``shift_layer`` then InnerProduct
``proj_layer``); a learned PCA (mean m, optional per-dimension std s, components U, variances v) is written
as s = 1/std (or 1), b = -m/std (or -m), W = U (rows divided by sqrt(v) when whitening), c = 0, so the net
reproduces ``(x - m) / std @ W.T``. Regional features of any blob are pooled in numpy with the Fast-RCNN
ROIPooling rounding (blobs that already are regional, like ``pooled_rois/normalized``, are used as they
are). ``experiments`` prints the mAP of every configuration on a dataset in Oxford layout
(``jpg/`` + ``lab/``; queries are database images, no query crop): the net's descriptor, raw R-MAC per
layer, their concatenation (plain and dimension-weighted, applied to queries and database alike),
descriptor + raw layers, per-layer standardised PCA-whitening, and descriptor + PCA layers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from myPython.retrieval.whitening import PCA, head_blobs, learn_pca, pca_rmac, raw_rmac  # noqa: F401
from myPython.rmac.functional import l2_normalize, roi_max_pool
from myPython.rmac.preparation import MODEL_MEAN_BGR

os.environ.setdefault("GLOG_minloglevel", "2")

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


# --------------------------------------------------------------------------------------------
# PCA
# --------------------------------------------------------------------------------------------


def write_pca(proto: str | os.PathLike[str], weights: str | os.PathLike[str], pca: PCA,
              out_weights: str | os.PathLike[str], shift_layer: str = "pooled_rois/centered",
              proj_layer: str = "pooled_rois/pca", out_proto: str | os.PathLike[str] | None = None) -> Path:
    """Model surgery: the PCA into the Scale (shift) and InnerProduct (projection) layers of a caffemodel.

    When the InnerProduct has another number of outputs than the PCA, ``out_proto`` (a copy of ``proto``
    with ``num_output`` changed) is written and used. Returns the prototxt matching ``out_weights``.
    """
    from myPython.nets.runtime import read_net_param, save_net
    from myPython.nets.surgery import caffemodel_params, copy_params, load_net, write_proto

    net_param = read_net_param(proto)
    layers = {layer.name: layer for layer in net_param.layer}
    for name, kind in ((shift_layer, "Scale"), (proj_layer, "InnerProduct")):
        if name not in layers or layers[name].type != kind:
            raise ValueError(f"write_pca: {proto} has no {kind} layer {name}")
    target = Path(proto)
    if layers[proj_layer].inner_product_param.num_output != pca.dim:
        if out_proto is None:
            raise ValueError(f"write_pca: {proj_layer} has {layers[proj_layer].inner_product_param.num_output} "
                             f"outputs, the PCA {pca.dim}; give --out-proto for a resized net")
        layers[proj_layer].inner_product_param.num_output = pca.dim
        target = write_proto(net_param, out_proto, f"# {proj_layer} resized to {pca.dim} by training.offline_pca\n")
    net = load_net(target)
    params = caffemodel_params(weights)
    params.pop(proj_layer, None)
    copy_params(params, net)
    scale, bias, w, b = head_blobs(pca)
    shift = net.params[shift_layer]
    if len(shift) < 2 or shift[0].data.size != scale.size:
        raise ValueError(f"write_pca: {shift_layer} must have a {scale.size}-D scale and a bias")
    shift[0].data[...] = scale.reshape(shift[0].data.shape)
    shift[1].data[...] = bias.reshape(shift[1].data.shape)
    ip = net.params[proj_layer]
    if ip[0].data.shape[1] != w.shape[1]:
        raise ValueError(f"write_pca: {proj_layer} takes {ip[0].data.shape[1]}-D input, the PCA is {w.shape[1]}-D")
    ip[0].data[...] = w
    if len(ip) > 1:
        ip[1].data[...] = b
    save_net(net, out_weights)
    return target


# --------------------------------------------------------------------------------------------
# Regional features of any layer
# --------------------------------------------------------------------------------------------


def extract(net, images: Sequence[str | os.PathLike[str]], layers: Sequence[str], S: int = 512, L: int = 2,
            mean: Sequence[float] = MODEL_MEAN_BGR,
            output: str | None = "rmac/normalized") -> tuple[np.ndarray | None, dict[str, list[np.ndarray]]]:
    """Per image: the net's descriptor (``output``) and L2-normalised regional features of ``layers``.

    Feature-map blobs (C x h x w) are max-pooled over the rigid grid with spatial scale 1/stride; regional
    blobs (one row per region) are taken as they are. Returns (N x D descriptors or None, {layer: [R_i x C]}).
    """
    from myPython.common.images import load_image
    from myPython.nets.runtime import forward_regions
    from myPython.retrieval.extractor import prepare_input

    for name in list(layers) + ([output] if output else []):
        if name not in net.blobs:
            raise ValueError(f"offline_pca: the net has no blob {name!r}")
    master, regional = [], {name: [] for name in layers}
    for path in images:
        data = prepare_input(load_image(path), S, mean)
        w = data.shape[2]
        rois = forward_regions(net, data, L)
        if output:
            master.append(net.blobs[output].data.reshape(-1).copy())
        for name in layers:
            blob = net.blobs[name].data
            if blob.shape[0] == len(rois) and (blob.ndim == 2 or blob.shape[2:] == (1, 1)):
                feats = blob.reshape(len(rois), -1).copy()
            else:
                stride = 2 ** round(np.log2(w / blob.shape[3]))
                feats = roi_max_pool(blob[0], rois[:, 1:], 1.0 / stride)
            regional[name].append(l2_normalize(feats.astype(np.float64)).astype(np.float32))
    return (np.stack(master) if output else None), regional


# --------------------------------------------------------------------------------------------
# Offline experiments
# --------------------------------------------------------------------------------------------


def experiment_descriptors(master: np.ndarray | None, regional: Mapping[str, list[np.ndarray]],
                           pca_dim: int = 0, standardize: bool = True) -> dict[str, np.ndarray]:
    """Descriptors of every offline configuration (name -> N x D, rows unit length)."""
    out: dict[str, np.ndarray] = {}
    if master is not None:
        out["master"] = l2_normalize(master)
    raw = {name: raw_rmac(regs) for name, regs in regional.items()}
    for name, x in raw.items():
        out[f"raw:{name}"] = x
    if len(raw) > 1:
        out["raw-concat"] = l2_normalize(np.concatenate(list(raw.values()), axis=1))
        out["raw-concat-dimw"] = l2_normalize(np.concatenate([x * x.shape[1] for x in raw.values()], axis=1))
    if master is not None and raw:
        parts = [out["master"] * master.shape[1]] + [x * x.shape[1] for x in raw.values()]
        out["master+raw"] = l2_normalize(np.concatenate(parts, axis=1))
    pcas = {}
    for name, regs in regional.items():
        stacked = np.concatenate(regs)
        pca = learn_pca(stacked, pca_dim or min(stacked.shape[1], len(stacked) - 1), whiten=True,
                        standardize=standardize)
        pcas[name] = pca_rmac(regs, pca)
        out[f"pca:{name}"] = pcas[name]
    if master is not None and pcas:
        parts = [x * x.shape[1] for x in pcas.values()] + [out["master"] * master.shape[1]]
        out["pca-concat+master"] = l2_normalize(np.concatenate(parts, axis=1))
    return out


def run_experiments(proto: str | os.PathLike[str], weights: str | os.PathLike[str],
                    dataset: str | os.PathLike[str], layers: Sequence[str], S: int = 512, L: int = 2,
                    mean: Sequence[float] | None = None, output: str = "rmac/normalized", pca_dim: int = 0,
                    gpu: int | None = None, standardize: bool = True, verbose: bool = True) -> dict[str, float]:
    """mAP (0..1) of every configuration on an Oxford-layout dataset; prints a table when ``verbose``."""
    from evaluation.ap import average_precision
    from evaluation.datasets import load_oxford_paris
    from myPython.nets.runtime import set_device
    from myPython.nets.surgery import load_net
    from myPython.retrieval.models import load_model

    ds = load_oxford_paris(dataset)
    queries = ds.query_indices()
    set_device(gpu)
    spec = load_model(proto, weights)
    net = load_net(proto, weights)
    master, regional = extract(net, ds.image_paths, layers, S, L, mean or spec.mean_bgr, output)
    results = {}
    for name, desc in experiment_descriptors(master, regional, pca_dim, standardize).items():
        sim = desc[queries] @ desc.T
        results[name] = float(np.nanmean(average_precision(sim, ds.positive_mask(), ds.junk_mask())))
        if verbose:
            print(f"{name:<40s} {desc.shape[1]:>6d}  mAP {100 * results[name]:6.2f}", flush=True)
    return results
